"""Card subscriptions remember the price they were last moved to, so that moving
a level's subscriptions to its new amount, in batches and run again after a
failure, skips those already moved and the levels page can count them.

Revision ID: 6e187ea37993
Revises: 97721f97b4b9
Create Date: 2026-12-09 12:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '6e187ea37993'
down_revision = '97721f97b4b9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dues_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_price_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('dues_subscriptions', schema=None) as batch_op:
        batch_op.drop_column('stripe_price_id')
