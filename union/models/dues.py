"""Dues: the sliding scale, the ledger of months covered, waivers, card subscriptions.

The ledger counts months, not money owed: every payment (card, cash, e-transfer) and
every granted waiver covers whole months, one `DuesCoverage` row per member and
month. The unique key on those rows is what makes "nothing counted twice" hold
whatever order payments arrive in.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from union.clock import utcnow
from union.db import Model
from union.models.types import enum_type

if TYPE_CHECKING:
    from union.models.members import Member
    from union.models.users import User


def in_language(language: str, english: str, french: str | None) -> str:
    """Words the treasurer wrote, in the reader's language when there is a version."""
    return french if language == "fr" and french else english


class DuesLevel(Model):
    """One step of the sliding scale. The member's income is never stored; only the
    level they pick, whose bracket is described in plain words."""

    __tablename__ = "dues_levels"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    #: Who this level is for, in plain words ("Under $2,000 a month").
    bracket: Mapped[str] = mapped_column(sa.String(200))
    #: The same in French; English is shown where these are empty.
    name_fr: Mapped[str | None] = mapped_column(sa.String(80))
    bracket_fr: Mapped[str | None] = mapped_column(sa.String(200))
    position: Mapped[int] = mapped_column(default=0)
    #: No longer offered to new choices from this day; members on it keep it.
    retired_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    rates: Mapped[list[DuesRate]] = relationship(
        back_populates="level",
        cascade="all, delete-orphan",
        order_by="DuesRate.effective_on",
    )

    def name_for(self, language: str) -> str:
        return in_language(language, self.name, self.name_fr)

    def bracket_for(self, language: str) -> str:
        return in_language(language, self.bracket, self.bracket_fr)

    def monthly_cents_on(self, day: date) -> int | None:
        """The monthly amount in force on `day` (rates must be loaded)."""
        rate = self.rate_on(day)
        return rate.monthly_cents if rate else None

    def rate_on(self, day: date) -> DuesRate | None:
        current = None
        for rate in self.rates:
            if rate.effective_on <= day:
                current = rate
        return current

    def __repr__(self) -> str:
        return f"<DuesLevel {self.code}>"


class DuesRate(Model):
    """A level's monthly amount from the first day of a month on."""

    __tablename__ = "dues_rates"
    __table_args__ = (
        sa.UniqueConstraint("level_id", "effective_on"),
        sa.CheckConstraint("monthly_cents > 0", name="monthly_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    level_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dues_levels.id", ondelete="CASCADE")
    )
    monthly_cents: Mapped[int]
    effective_on: Mapped[date]
    #: The Stripe recurring price for this amount, set up by a job recorded when
    #: the treasurer saves it (or by `union stripe-setup`).
    stripe_price_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: When setting up that price last failed because Stripe could not be reached;
    #: None once it is set up. The job that sets it up tries again by itself.
    stripe_setup_failed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    level: Mapped[DuesLevel] = relationship(back_populates="rates")


class DuesLevelChoice(Model):
    """The level a member pays at from a given month on (joining, or a change that
    takes effect the next month)."""

    __tablename__ = "dues_level_choices"
    __table_args__ = (sa.UniqueConstraint("member_id", "effective_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    level_id: Mapped[int] = mapped_column(sa.ForeignKey("dues_levels.id"))
    #: The first day of the first month paid at this level.
    effective_month: Mapped[date]
    chosen_at: Mapped[datetime] = mapped_column(default=utcnow)
    chosen_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    level: Mapped[DuesLevel] = relationship()


class PaymentMethod(enum.StrEnum):
    #: A monthly Stripe subscription invoice.
    CARD_SUBSCRIPTION = "card_subscription"
    #: A one-off Stripe payment for months in arrears or in advance.
    CARD_ONE_OFF = "card_one_off"
    #: Cash handed to a delegate, with a numbered receipt.
    CASH = "cash"
    #: An e-transfer received by a delegate, with a numbered receipt.
    ETRANSFER = "etransfer"
    #: Months already paid before the union moved to this system (roster import).
    OPENING_BALANCE = "opening_balance"


#: Methods a delegate records by hand and remits to the treasurer.
HAND_METHODS = (PaymentMethod.CASH, PaymentMethod.ETRANSFER)
CARD_METHODS = (PaymentMethod.CARD_SUBSCRIPTION, PaymentMethod.CARD_ONE_OFF)


class DuesPayment(Model):
    """One payment in the ledger. Card payments are keyed by Stripe's ids, so a
    retried, replayed or reordered webhook can only ever add the row once."""

    __tablename__ = "dues_payments"
    __table_args__ = (
        sa.CheckConstraint("amount_cents >= 0", name="amount_nonnegative"),
        sa.CheckConstraint("initiation_cents >= 0", name="initiation_nonnegative"),
        sa.CheckConstraint("refunded_cents >= 0", name="refunded_nonnegative"),
        sa.CheckConstraint("disputed_cents >= 0", name="disputed_nonnegative"),
        sa.CheckConstraint("months >= 0", name="months_nonnegative"),
        # The ledger by date, and its totals read from the index alone on
        # PostgreSQL (which holds the summed columns beside each entry).
        sa.Index(
            "ix_dues_payments_paid_on",
            "paid_on",
            "id",
            postgresql_include=[
                "amount_cents",
                "refunded_cents",
                "disputed_cents",
                "method",
            ],
        ),
        # The ledger by amount.
        sa.Index("ix_dues_payments_amount", "amount_cents", "id"),
        sa.Index("ix_dues_payments_recorder_paid_on", "recorded_by_id", "paid_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[PaymentMethod] = mapped_column(enum_type(PaymentMethod))
    #: Everything paid, the initiation fee included.
    amount_cents: Mapped[int]
    #: The part of amount_cents that was the one-time initiation fee.
    initiation_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CAD")
    #: How many months this payment covers.
    months: Mapped[int]
    paid_on: Mapped[date]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The delegate or treasurer who took the money by hand; None for card payments.
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    receipt_number: Mapped[int | None] = mapped_column(unique=True)
    #: An e-transfer's reference number, as the bank shows it.
    reference: Mapped[str | None] = mapped_column(sa.String(40))
    stripe_invoice_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(
        sa.String(64), unique=True
    )
    #: The treasurer's confirmation that took this payment's money in; None while
    #: a cash or e-transfer payment is still with its delegate (and for cards).
    remittance_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("remittances.id", ondelete="SET NULL"), index=True
    )
    refunded_cents: Mapped[int] = mapped_column(default=0)
    #: Taken back by the cardholder's bank in a dispute, while the union has not
    #: won it (0 again once Stripe reinstates the funds).
    disputed_cents: Mapped[int] = mapped_column(default=0, server_default="0")

    member: Mapped[Member] = relationship()
    recorded_by: Mapped[User | None] = relationship()
    coverage: Mapped[list[DuesCoverage]] = relationship(
        back_populates="payment", order_by="DuesCoverage.month"
    )

    @property
    def is_card(self) -> bool:
        """Paid by card through Stripe: its receipt is found by the payment, as
        only payments taken by hand are given a receipt number."""
        return self.method in CARD_METHODS

    @property
    def is_refunded(self) -> bool:
        return self.refunded_cents > 0 and self.refunded_cents >= self.amount_cents

    @property
    def returned_cents(self) -> int:
        """What went back to the cardholder, refunded or disputed."""
        return self.refunded_cents + self.disputed_cents

    @property
    def is_returned_in_full(self) -> bool:
        """Nothing of the payment stays with the union, so it covers no month."""
        return self.returned_cents > 0 and self.returned_cents >= self.amount_cents


class DuesMonthTotal(Model):
    """What the ledger's payments add up to, by month paid and method: kept by the
    database itself (triggers on dues_payments, migration e4a2a6fabc39), so the
    ledger's totals and the treasurer's months read a few rows whatever the years
    of payments behind them. Never written by the app."""

    __tablename__ = "dues_month_totals"

    #: The first day of the month the payments were made in.
    month: Mapped[date] = mapped_column(primary_key=True)
    method: Mapped[PaymentMethod] = mapped_column(
        enum_type(PaymentMethod), primary_key=True
    )
    payments: Mapped[int] = mapped_column(sa.BigInteger)
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger)
    refunded_cents: Mapped[int] = mapped_column(sa.BigInteger)
    disputed_cents: Mapped[int] = mapped_column(sa.BigInteger)


class DuesCoverage(Model):
    """One month of one member, covered by exactly one payment or waiver."""

    __tablename__ = "dues_coverage"
    __table_args__ = (
        sa.UniqueConstraint("member_id", "month"),
        sa.CheckConstraint(
            "(payment_id IS NULL) <> (waiver_id IS NULL)", name="one_source"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("members.id", ondelete="CASCADE")
    )
    #: The first day of the month covered.
    month: Mapped[date]
    payment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("dues_payments.id", ondelete="CASCADE"), index=True
    )
    waiver_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("dues_waivers.id", ondelete="CASCADE"), index=True
    )

    payment: Mapped[DuesPayment | None] = relationship(back_populates="coverage")


class WaiverReason(enum.StrEnum):
    UNEMPLOYMENT = "unemployment"
    REDUCED_HOURS = "reduced_hours"
    ILLNESS_OR_INJURY = "illness_or_injury"
    FAMILY_OR_CARE = "family_or_care"
    HOUSING_CRISIS = "housing_crisis"
    OTHER = "other"


class WaiverStatus(enum.StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    DECLINED = "declined"


class DuesWaiver(Model):
    """A hardship waiver: months the member owes nothing for. The treasurer reviews
    it by case number; the list they decide from never shows the name."""

    __tablename__ = "dues_waivers"
    __table_args__ = (
        sa.CheckConstraint("last_month >= first_month", name="months_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[int] = mapped_column(unique=True)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[WaiverReason] = mapped_column(enum_type(WaiverReason))
    first_month: Mapped[date]
    last_month: Mapped[date]
    status: Mapped[WaiverStatus] = mapped_column(enum_type(WaiverStatus))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    member: Mapped[Member] = relationship()


class DuesSubscription(Model):
    """A member's Stripe card subscription, as the newest webhook described it."""

    __tablename__ = "dues_subscriptions"
    __table_args__ = (
        # "Is Stripe retrying this member's card?", asked for every arrears line.
        sa.Index(
            "ix_dues_subscriptions_retrying",
            "member_id",
            postgresql_where=sa.text("status = 'past_due'"),
            sqlite_where=sa.text("status = 'past_due'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    stripe_subscription_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: Stripe's status: active, past_due (Stripe is retrying), canceled, ...
    status: Mapped[str] = mapped_column(sa.String(32))
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    current_period_end: Mapped[datetime | None]
    #: The price we last moved it to (a level change, or a new amount for its
    #: level); None for one that has kept the price Checkout began it on. A move
    #: run again skips the subscriptions already on its price.
    stripe_price_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: `created` of the event that last changed this row; older events are ignored.
    last_event_created: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def is_live(self) -> bool:
        return self.status in ("active", "trialing", "past_due", "incomplete")

    @property
    def is_retrying(self) -> bool:
        """Stripe is still retrying a failed payment (see union.services.dues)."""
        return self.status == "past_due"


class AdjustmentKind(enum.StrEnum):
    #: `charge.refunded`: the charge's refunds so far, as one running total.
    REFUND = "refund"
    #: `charge.dispute.*`: the cardholder's bank took the money back.
    DISPUTE = "dispute"


class StripeAdjustment(Model):
    """A refund or dispute Stripe told us about, and the payment it takes money
    back from. Stripe does not deliver events in order, so one that names a payment
    not in the ledger yet waits here (payment_id empty) and is applied in the same
    transaction that records the payment. Stripe ids and amounts only: nothing
    personal."""

    __tablename__ = "stripe_adjustments"
    __table_args__ = (
        sa.UniqueConstraint("kind", "stripe_id"),
        sa.CheckConstraint("amount_cents >= 0", name="amount_nonnegative"),
        # "Which refunds and disputes are still waiting for their payment?"
        sa.Index(
            "ix_stripe_adjustments_waiting",
            "received_at",
            postgresql_where=sa.text("payment_id IS NULL"),
            sqlite_where=sa.text("payment_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AdjustmentKind] = mapped_column(enum_type(AdjustmentKind, 16))
    #: The charge for a refund (Stripe reports a charge's refunds as one running
    #: total), the dispute for a dispute.
    stripe_id: Mapped[str] = mapped_column(sa.String(64))
    #: The payment it belongs to, as Stripe names it; matched against the ledger's
    #: stripe_payment_intent_id and stripe_invoice_id.
    payment_intent_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    invoice_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    #: Refunds: the largest running total seen. Disputes: the amount disputed, which
    #: counts against the payment until the funds are reinstated.
    amount_cents: Mapped[int]
    #: Disputes: the union won and Stripe returned the funds. Final: a withdrawal
    #: delivered after it changes nothing.
    reinstated: Mapped[bool] = mapped_column(default=False)
    #: The event that last changed this row.
    event_id: Mapped[str] = mapped_column(sa.String(255))
    received_at: Mapped[datetime]
    payment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("dues_payments.id", ondelete="CASCADE"), index=True
    )


class StripeEvent(Model):
    """Every webhook event id, stored once: a redelivery finds its row and stops."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    created: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: processed; ignored (a type the app does not act on); pending (a refund or
    #: dispute kept until its payment arrives); unmatched; refused (a field of the
    #: wrong type or missing: answered 400 and nothing applied).
    outcome: Mapped[str] = mapped_column(sa.String(32))


class CheckoutAttempt(Model):
    """A member starting a card payment. Its id makes the Stripe idempotency key, and
    the success page watches it until the webhook has recorded the payment."""

    __tablename__ = "checkout_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    #: "subscription" or "one_off".
    kind: Mapped[str] = mapped_column(sa.String(16))
    level_id: Mapped[int | None] = mapped_column(sa.ForeignKey("dues_levels.id"))
    months: Mapped[int] = mapped_column(default=1)
    amount_cents: Mapped[int]
    #: The part of amount_cents that is the initiation fee.
    initiation_cents: Mapped[int] = mapped_column(default=0)
    stripe_session_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NoticeKind(enum.StrEnum):
    DUES_REMINDER = "dues_reminder"
    PAYMENT_FAILED = "payment_failed"


class DuesNotice(Model):
    """An email sent about dues; its unique key keeps each one to a single sending."""

    __tablename__ = "dues_notices"
    __table_args__ = (sa.UniqueConstraint("member_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("members.id", ondelete="CASCADE")
    )
    kind: Mapped[NoticeKind] = mapped_column(enum_type(NoticeKind))
    #: The month (YYYY-MM) for reminders, the Stripe invoice id for failures.
    key: Mapped[str] = mapped_column(sa.String(64))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class Remittance(Model):
    """The treasurer confirming a delegate handed over the money of some of a
    month's receipts (those whose payments point here), with the split between
    the branch and the parent union as it stood then. Receipts written after a
    confirmation make a new part of the month, confirmed on its own."""

    __tablename__ = "remittances"
    __table_args__ = (
        sa.Index("ix_remittances_delegate_month", "delegate_id", "month"),
        sa.CheckConstraint("total_cents >= 0", name="total_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delegate_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    month: Mapped[date]
    total_cents: Mapped[int]
    parent_cents: Mapped[int]
    branch_cents: Mapped[int]
    receipts: Mapped[int]
    confirmed_at: Mapped[datetime]
    confirmed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    delegate: Mapped[User] = relationship(foreign_keys=[delegate_id])
