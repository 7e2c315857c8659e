"""Each member's latest covered month, so that the arrears of members with months
covered across a gap are read from their summary instead of counted month by month.

Revision ID: 5e2c8a7b4d19
Revises: b8583cde8cba
Create Date: 2026-12-04 20:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5e2c8a7b4d19'
down_revision = 'b8583cde8cba'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_covered_month', sa.Date(), nullable=True))
    op.execute(
        "UPDATE members SET last_covered_month = "
        "(SELECT max(c.month) FROM dues_coverage c WHERE c.member_id = members.id)"
    )


def downgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('last_covered_month')
