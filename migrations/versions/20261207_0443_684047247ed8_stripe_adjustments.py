"""Refunds and disputes kept apart from the ledger, so that one Stripe delivers
before its payment is applied when the payment arrives; and the money a dispute
took back, on each payment.

Revision ID: 684047247ed8
Revises: d5e8f3b0a724
Create Date: 2026-12-07 04:43:00

"""
from alembic import op
import sqlalchemy as sa


revision = '684047247ed8'
down_revision = 'd5e8f3b0a724'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stripe_adjustments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('refund', 'dispute', name='adjustmentkind', native_enum=False, length=16), nullable=False),
    sa.Column('stripe_id', sa.String(length=64), nullable=False),
    sa.Column('payment_intent_id', sa.String(length=64), nullable=True),
    sa.Column('invoice_id', sa.String(length=64), nullable=True),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('reinstated', sa.Boolean(), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_stripe_adjustments_amount_nonnegative')),
    sa.ForeignKeyConstraint(['payment_id'], ['dues_payments.id'], name=op.f('fk_stripe_adjustments_payment_id_dues_payments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_adjustments')),
    sa.UniqueConstraint('kind', 'stripe_id', name=op.f('uq_stripe_adjustments_kind_stripe_id'))
    )
    with op.batch_alter_table('stripe_adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stripe_adjustments_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stripe_adjustments_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stripe_adjustments_payment_intent_id'), ['payment_intent_id'], unique=False)
        batch_op.create_index('ix_stripe_adjustments_waiting', ['received_at'], unique=False, postgresql_where=sa.text('payment_id IS NULL'), sqlite_where=sa.text('payment_id IS NULL'))

    with op.batch_alter_table('dues_payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disputed_cents', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint('disputed_nonnegative', 'disputed_cents >= 0')


def downgrade():
    with op.batch_alter_table('dues_payments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_dues_payments_disputed_nonnegative'), type_='check')
        batch_op.drop_column('disputed_cents')

    with op.batch_alter_table('stripe_adjustments', schema=None) as batch_op:
        batch_op.drop_index('ix_stripe_adjustments_waiting', postgresql_where=sa.text('payment_id IS NULL'), sqlite_where=sa.text('payment_id IS NULL'))
        batch_op.drop_index(batch_op.f('ix_stripe_adjustments_payment_intent_id'))
        batch_op.drop_index(batch_op.f('ix_stripe_adjustments_payment_id'))
        batch_op.drop_index(batch_op.f('ix_stripe_adjustments_invoice_id'))

    op.drop_table('stripe_adjustments')
