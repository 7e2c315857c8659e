"""Emailed links that confirm a new address carry that address, encrypted.

Revision ID: 4f1d2a7c9e10
Revises: b6c8cd46cbff
Create Date: 2026-12-01 21:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '4f1d2a7c9e10'
down_revision = 'b6c8cd46cbff'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("account_tokens") as batch_op:
        batch_op.add_column(sa.Column("new_email", sa.Text(), nullable=True))


def downgrade():
    op.execute("DELETE FROM account_tokens WHERE purpose = 'change_email'")
    with op.batch_alter_table("account_tokens") as batch_op:
        batch_op.drop_column("new_email")
