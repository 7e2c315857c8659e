"""Dues amounts remember when setting up their Stripe price failed because Stripe
could not be reached, so the treasurer's levels page can say so and try again.

Revision ID: 0d0d00cbf4f4
Revises: cdf5e994bcef
Create Date: 2026-12-09 09:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0d0d00cbf4f4'
down_revision = 'cdf5e994bcef'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dues_rates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_setup_failed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('dues_rates', schema=None) as batch_op:
        batch_op.drop_column('stripe_setup_failed_at')
