"""A member can raise a problem at work online: the case it opens is marked as
raised by them, with how they would like to be reached about it.

Revision ID: 5b9af361e17f
Revises: b4c2e8f1a9d3
Create Date: 2026-12-08 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5b9af361e17f'
down_revision = 'b4c2e8f1a9d3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_raised_online', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('contact_preference', sa.Enum('email', 'text', 'phone', 'in_person', name='contactpreference', native_enum=False, create_constraint=False, length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.drop_column('contact_preference')
        batch_op.drop_column('is_raised_online')
