"""Dues ledger: months covered, payments, waivers, card subscriptions, remittances.

Also records every existing member's level as chosen from the month they joined.

Revision ID: bf585d7ef947
Revises: ce62bdbfc03c
Create Date: 2026-11-22 02:33:11.292834

"""
from alembic import op
import sqlalchemy as sa


revision = 'bf585d7ef947'
down_revision = 'ce62bdbfc03c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stripe_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_events'))
    )
    op.create_table('remittances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delegate_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('parent_cents', sa.Integer(), nullable=False),
    sa.Column('branch_cents', sa.Integer(), nullable=False),
    sa.Column('receipts', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('total_cents >= 0', name=op.f('ck_remittances_total_nonnegative')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_remittances_confirmed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['delegate_id'], ['users.id'], name=op.f('fk_remittances_delegate_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remittances')),
    sa.UniqueConstraint('delegate_id', 'month', name=op.f('uq_remittances_delegate_id_month'))
    )
    op.create_table('checkout_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('level_id', sa.Integer(), nullable=True),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('initiation_cents', sa.Integer(), nullable=False),
    sa.Column('stripe_session_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['level_id'], ['dues_levels.id'], name=op.f('fk_checkout_attempts_level_id_dues_levels')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_checkout_attempts_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkout_attempts')),
    sa.UniqueConstraint('public_id', name=op.f('uq_checkout_attempts_public_id')),
    sa.UniqueConstraint('stripe_session_id', name=op.f('uq_checkout_attempts_stripe_session_id'))
    )
    with op.batch_alter_table('checkout_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkout_attempts_member_id'), ['member_id'], unique=False)

    op.create_table('dues_level_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('level_id', sa.Integer(), nullable=False),
    sa.Column('effective_month', sa.Date(), nullable=False),
    sa.Column('chosen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('chosen_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['chosen_by_id'], ['users.id'], name=op.f('fk_dues_level_choices_chosen_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['level_id'], ['dues_levels.id'], name=op.f('fk_dues_level_choices_level_id_dues_levels')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_dues_level_choices_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dues_level_choices')),
    sa.UniqueConstraint('member_id', 'effective_month', name=op.f('uq_dues_level_choices_member_id_effective_month'))
    )
    with op.batch_alter_table('dues_level_choices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dues_level_choices_member_id'), ['member_id'], unique=False)

    op.create_table('dues_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('dues_reminder', 'payment_failed', name='noticekind', native_enum=False, length=32), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_dues_notices_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dues_notices')),
    sa.UniqueConstraint('member_id', 'kind', 'key', name=op.f('uq_dues_notices_member_id_kind_key'))
    )
    op.create_table('dues_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.Enum('card_subscription', 'card_one_off', 'cash', 'etransfer', 'opening_balance', name='paymentmethod', native_enum=False, length=32), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('initiation_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('receipt_number', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=40), nullable=True),
    sa.Column('stripe_invoice_id', sa.String(length=64), nullable=True),
    sa.Column('stripe_payment_intent_id', sa.String(length=64), nullable=True),
    sa.Column('refunded_cents', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_dues_payments_amount_nonnegative')),
    sa.CheckConstraint('initiation_cents >= 0', name=op.f('ck_dues_payments_initiation_nonnegative')),
    sa.CheckConstraint('months >= 0', name=op.f('ck_dues_payments_months_nonnegative')),
    sa.CheckConstraint('refunded_cents >= 0', name=op.f('ck_dues_payments_refunded_nonnegative')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_dues_payments_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_dues_payments_recorded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dues_payments')),
    sa.UniqueConstraint('receipt_number', name=op.f('uq_dues_payments_receipt_number')),
    sa.UniqueConstraint('stripe_invoice_id', name=op.f('uq_dues_payments_stripe_invoice_id')),
    sa.UniqueConstraint('stripe_payment_intent_id', name=op.f('uq_dues_payments_stripe_payment_intent_id'))
    )
    with op.batch_alter_table('dues_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dues_payments_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_dues_payments_paid_on', ['paid_on'], unique=False)
        batch_op.create_index('ix_dues_payments_recorder_paid_on', ['recorded_by_id', 'paid_on'], unique=False)

    op.create_table('dues_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('stripe_subscription_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('cancel_at_period_end', sa.Boolean(), nullable=False),
    sa.Column('current_period_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_event_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_dues_subscriptions_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dues_subscriptions')),
    sa.UniqueConstraint('stripe_subscription_id', name=op.f('uq_dues_subscriptions_stripe_subscription_id'))
    )
    with op.batch_alter_table('dues_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dues_subscriptions_member_id'), ['member_id'], unique=False)

    op.create_table('dues_waivers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_number', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('unemployment', 'reduced_hours', 'illness_or_injury', 'family_or_care', 'housing_crisis', 'other', name='waiverreason', native_enum=False, length=32), nullable=False),
    sa.Column('first_month', sa.Date(), nullable=False),
    sa.Column('last_month', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'granted', 'declined', name='waiverstatus', native_enum=False, length=32), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('last_month >= first_month', name=op.f('ck_dues_waivers_months_in_order')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_dues_waivers_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_dues_waivers_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dues_waivers')),
    sa.UniqueConstraint('case_number', name=op.f('uq_dues_waivers_case_number'))
    )
    with op.batch_alter_table('dues_waivers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dues_waivers_member_id'), ['member_id'], unique=False)

    op.create_table('dues_coverage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('waiver_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(payment_id IS NULL) <> (waiver_id IS NULL)', name=op.f('ck_dues_coverage_one_source')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_dues_coverage_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['payment_id'], ['dues_payments.id'], name=op.f('fk_dues_coverage_payment_id_dues_payments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['waiver_id'], ['dues_waivers.id'], name=op.f('fk_dues_coverage_waiver_id_dues_waivers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dues_coverage')),
    sa.UniqueConstraint('member_id', 'month', name=op.f('uq_dues_coverage_member_id_month'))
    )
    with op.batch_alter_table('dues_coverage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dues_coverage_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dues_coverage_waiver_id'), ['waiver_id'], unique=False)

    with op.batch_alter_table('dues_rates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_price_id', sa.String(length=64), nullable=True))

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_customer_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_members_stripe_customer_id'), ['stripe_customer_id'])

    if op.get_bind().dialect.name == "postgresql":
        first_of_month = "date_trunc('month', joined_on)::date"
    else:
        first_of_month = "date(joined_on, 'start of month')"
    op.execute(
        "INSERT INTO dues_level_choices (member_id, level_id, effective_month, chosen_at) "
        f"SELECT id, dues_level_id, {first_of_month}, created_at FROM members"
    )


def downgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_members_stripe_customer_id'), type_='unique')
        batch_op.drop_column('stripe_customer_id')

    with op.batch_alter_table('dues_rates', schema=None) as batch_op:
        batch_op.drop_column('stripe_price_id')

    with op.batch_alter_table('dues_coverage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dues_coverage_waiver_id'))
        batch_op.drop_index(batch_op.f('ix_dues_coverage_payment_id'))

    op.drop_table('dues_coverage')
    with op.batch_alter_table('dues_waivers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dues_waivers_member_id'))

    op.drop_table('dues_waivers')
    with op.batch_alter_table('dues_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dues_subscriptions_member_id'))

    op.drop_table('dues_subscriptions')
    with op.batch_alter_table('dues_payments', schema=None) as batch_op:
        batch_op.drop_index('ix_dues_payments_recorder_paid_on')
        batch_op.drop_index('ix_dues_payments_paid_on')
        batch_op.drop_index(batch_op.f('ix_dues_payments_member_id'))

    op.drop_table('dues_payments')
    op.drop_table('dues_notices')
    with op.batch_alter_table('dues_level_choices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dues_level_choices_member_id'))

    op.drop_table('dues_level_choices')
    with op.batch_alter_table('checkout_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkout_attempts_member_id'))

    op.drop_table('checkout_attempts')
    op.drop_table('remittances')
    op.drop_table('stripe_events')
