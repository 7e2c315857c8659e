"""Each hand payment names the treasurer's confirmation that took its money in, so
receipts written after a month was confirmed make a new, unconfirmed part of it
instead of raising a confirmed total whose shares stay as they were.

Existing confirmations take the month's payments recorded up to the moment they
were confirmed; later ones are left unconfirmed, as they really are.

Revision ID: b4c2e8f1a9d3
Revises: f3b6a2c8d9e1
Create Date: 2026-12-07 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b4c2e8f1a9d3'
down_revision = 'f3b6a2c8d9e1'
branch_labels = None
depends_on = None

HAND_METHODS = "('cash', 'etransfer')"


def _first_of_month(column):
    if op.get_bind().dialect.name == "postgresql":
        return f"date_trunc('month', {column})::date"
    return f"date({column}, 'start of month')"


def upgrade():
    with op.batch_alter_table('dues_payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remittance_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_dues_payments_remittance_id'), ['remittance_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_dues_payments_remittance_id_remittances'), 'remittances', ['remittance_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('remittances', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_remittances_delegate_id_month'), type_='unique')
        batch_op.create_index('ix_remittances_delegate_month', ['delegate_id', 'month'], unique=False)
    op.execute(
        f"""
        UPDATE dues_payments SET remittance_id = (
            SELECT r.id FROM remittances r
            WHERE r.delegate_id = dues_payments.recorded_by_id
              AND r.month = {_first_of_month('dues_payments.paid_on')}
              AND dues_payments.recorded_at <= r.confirmed_at
        )
        WHERE method IN {HAND_METHODS} AND recorded_by_id IS NOT NULL
        """
    )


def downgrade():
    # One confirmation a month again: later parts are added into the first.
    op.execute(
        """
        UPDATE remittances SET
            total_cents = (SELECT sum(o.total_cents) FROM remittances o
                           WHERE o.delegate_id = remittances.delegate_id AND o.month = remittances.month),
            parent_cents = (SELECT sum(o.parent_cents) FROM remittances o
                            WHERE o.delegate_id = remittances.delegate_id AND o.month = remittances.month),
            branch_cents = (SELECT sum(o.branch_cents) FROM remittances o
                            WHERE o.delegate_id = remittances.delegate_id AND o.month = remittances.month),
            receipts = (SELECT sum(o.receipts) FROM remittances o
                        WHERE o.delegate_id = remittances.delegate_id AND o.month = remittances.month)
        WHERE id = (SELECT min(o.id) FROM remittances o
                    WHERE o.delegate_id = remittances.delegate_id AND o.month = remittances.month)
        """
    )
    with op.batch_alter_table('dues_payments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dues_payments_remittance_id_remittances'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_dues_payments_remittance_id'))
        batch_op.drop_column('remittance_id')
    op.execute(
        """
        DELETE FROM remittances WHERE id > (
            SELECT min(o.id) FROM remittances o
            WHERE o.delegate_id = remittances.delegate_id AND o.month = remittances.month
        )
        """
    )
    with op.batch_alter_table('remittances', schema=None) as batch_op:
        batch_op.drop_index('ix_remittances_delegate_month')
        batch_op.create_unique_constraint(batch_op.f('uq_remittances_delegate_id_month'), ['delegate_id', 'month'])
