"""The ledger: where money is written, with the months it covers.

Every payment taken (card, cash, e-transfer) goes through `record_payment`, which
takes the member's row lock, picks the oldest uncovered months and writes one
coverage row per month. The unique (member, month) key then makes double counting
impossible, whatever order payments arrive in. Anything else that changes a
member's covered months (a refund or dispute here, a granted waiver) takes the same
lock and calls `note_coverage` in the same transaction.

Opening balances are the one exception: a roster import writes them in bulk for
the members it has just added (union.services.roster), each covering every month
from joining to the month given.

Refunds and disputes made in Stripe are kept as `StripeAdjustment` rows first
(union.services.card_dues). One whose payment is not in the ledger yet is applied
by `record_payment` when the payment arrives, so a payment Stripe has already
refunded never covers its months, whatever order the events come in.

Prices and what a member owes are read in union.services.dues; the treasurer's
reports in union.services.treasury.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from union import clock
from union.db import db
from union.errors import NotFound, ValidationFailed
from union.i18n import _, format_money
from union.models import (
    HAND_METHODS,
    AdjustmentKind,
    DuesCoverage,
    DuesPayment,
    Member,
    NotificationKind,
    PaymentMethod,
    StripeAdjustment,
    User,
)
from union.rules.standing import arrears_summary, months_to_cover
from union.services import audit, notifications_feed, numbers
from union.services.dues import covered_months, quote, start_month

#: How many months one payment may cover, and how far back a hand payment may be dated.
MAX_MONTHS_PER_PAYMENT = 24
MAX_DAYS_BACKDATED = 366


def lock_member(member_id: int) -> Member:
    """Takes the member's row lock, so two payments for one member never pick the
    same months at once (PostgreSQL; SQLite allows only one writer anyway)."""
    member = db.session.scalar(
        sa.select(Member).where(Member.id == member_id).with_for_update()
    )
    if member is None:
        raise NotFound
    return member


def lock_stripe_objects(*stripe_ids: str | None) -> None:
    """Takes a lock per Stripe object (payment intent, invoice, charge, dispute)
    until the transaction ends, so recording a payment and matching a refund or
    dispute to it never run side by side: each would miss the other's uncommitted
    row, and the refund would wait for ever while the payment covered its months.
    Taken in one order and before the member's row lock, so that two holders never
    wait on each other (PostgreSQL; SQLite allows only one writer anyway)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for stripe_id in sorted({stripe_id for stripe_id in stripe_ids if stripe_id}):
        db.session.execute(
            sa.select(sa.func.pg_advisory_xact_lock(_lock_key(stripe_id)))
        )


def _lock_key(stripe_id: str) -> int:
    digest = hashlib.blake2b(f"union:stripe:{stripe_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def note_coverage(member: Member, covered: set[date]) -> None:
    """Keeps the member's arrears summary (first_uncovered_month,
    months_covered_later, last_covered_month) in step with their coverage rows.
    Every change to a member's covered months calls this in the same transaction."""
    summary = arrears_summary(start_month(member), covered)
    member.first_uncovered_month = summary.first_uncovered_month
    member.months_covered_later = summary.months_covered_later
    member.last_covered_month = summary.last_covered_month


def record_payment(
    member: Member,
    *,
    method: PaymentMethod,
    amount_cents: int,
    months: int,
    paid_on: date,
    now: datetime,
    initiation_cents: int = 0,
    recorded_by: User | None = None,
    receipt_number: int | None = None,
    reference: str | None = None,
    stripe_invoice_id: str | None = None,
    stripe_payment_intent_id: str | None = None,
    send_receipt: bool = True,
) -> DuesPayment:
    """Adds a payment and covers the member's `months` oldest uncovered months,
    unless refunds or disputes that Stripe delivered before it took all of it back.
    The member is sent a receipt (in the app, and by email as they choose) unless
    `send_receipt` is off, as for demo data written in the past."""
    lock_stripe_objects(stripe_invoice_id, stripe_payment_intent_id)
    lock_member(member.id)
    covered = covered_months(member.id)
    payment = DuesPayment(
        member_id=member.id,
        method=method,
        amount_cents=amount_cents,
        initiation_cents=initiation_cents,
        months=months,
        paid_on=paid_on,
        recorded_at=now,
        recorded_by_id=recorded_by.id if recorded_by else None,
        receipt_number=receipt_number,
        reference=reference,
        stripe_invoice_id=stripe_invoice_id,
        stripe_payment_intent_id=stripe_payment_intent_id,
    )
    db.session.add(payment)
    db.session.flush()
    audit.record(
        "dues.payment_recorded",
        actor=recorded_by,
        now=now,
        subject=payment,
        detail=f"method={method},months={months}",
    )
    if _link_waiting_adjustments(payment):
        refunded, disputed = _adjusted_amounts(payment)
        _set_returned(payment, refunded=refunded, disputed=disputed, now=now)
    paid_for: list[date] = []
    if not payment.is_returned_in_full:
        for month in months_to_cover(start_month(member), covered, months):
            db.session.add(
                DuesCoverage(member_id=member.id, month=month, payment_id=payment.id)
            )
            covered.add(month)
            paid_for.append(month)
    note_coverage(member, covered)
    db.session.flush()
    if send_receipt and member.user is not None:
        _send_receipt(member.user, payment, paid_for, now=now)
    return payment


def _send_receipt(
    user: User, payment: DuesPayment, paid_for: list[date], *, now: datetime
) -> None:
    """Amount, months, method and day: never who took the money, and nothing else
    that someone reading over the member's shoulder should learn."""
    params: dict[str, object] = {
        "amount_cents": payment.amount_cents,
        "months": payment.months,
        "method": str(payment.method),
        "paid_on": payment.paid_on.isoformat(),
    }
    if paid_for:
        params["first_month"] = min(paid_for).isoformat()
        params["last_month"] = max(paid_for).isoformat()
    if payment.receipt_number is not None:
        params["receipt"] = payment.receipt_number
    notifications_feed.notify(
        [user],
        NotificationKind.PAYMENT_RECEIVED,
        params,
        about=f"payment-{payment.id}",
        now=now,
    )


def _link_waiting_adjustments(payment: DuesPayment) -> bool:
    """Links to the payment the refunds and disputes that named it before it was
    recorded. Only rows linked to no payment are taken, under the locks of
    `record_payment`, so a row is applied to one payment, once."""
    names = []
    if payment.stripe_payment_intent_id:
        names.append(
            StripeAdjustment.payment_intent_id == payment.stripe_payment_intent_id
        )
    if payment.stripe_invoice_id:
        names.append(StripeAdjustment.invoice_id == payment.stripe_invoice_id)
    if not names:
        return False
    linked = db.session.execute(
        sa.update(StripeAdjustment)
        .where(StripeAdjustment.payment_id.is_(None), sa.or_(*names))
        .values(payment_id=payment.id)
    )
    return bool(linked.rowcount)  # type: ignore[attr-defined]


def _adjusted_amounts(payment: DuesPayment) -> tuple[int, int]:
    """(refunded, disputed) as the refunds and disputes linked to the payment say.
    Totals are taken, never added to, so applying the same rows again is a no-op;
    a refund noted before these rows existed is never lowered."""
    refunded = disputed = 0
    for row in db.session.scalars(
        sa.select(StripeAdjustment).where(StripeAdjustment.payment_id == payment.id)
    ):
        if row.kind is AdjustmentKind.REFUND:
            refunded += row.amount_cents
        elif not row.reinstated:
            disputed += row.amount_cents
    return max(refunded, payment.refunded_cents), disputed


def apply_adjustments(payment: DuesPayment, *, now: datetime) -> None:
    """Brings a recorded payment in line with the refunds and disputes linked to
    it: a payment whose money all went back covers no month; one whose disputed
    money came back covers its months again."""
    refunded, disputed = _adjusted_amounts(payment)
    _set_returned(payment, refunded=refunded, disputed=disputed, now=now)


def record_hand_payment(
    member: Member,
    *,
    method: PaymentMethod,
    months: int,
    amount_cents: int | None,
    paid_on: date | None,
    reference: str | None,
    actor: User,
    now: datetime,
) -> DuesPayment:
    """Cash or an e-transfer taken by a delegate, with the next receipt number. The
    amount must match the member's level for those months (and the initiation fee
    while it is unpaid), so receipts and remittances always add up."""
    today = clock.today(now)
    errors: dict[str, str] = {}
    if method not in HAND_METHODS:
        errors["method"] = _("Choose cash or e-transfer.")
    if not 1 <= months <= MAX_MONTHS_PER_PAYMENT:
        errors["months"] = _(
            "Choose from 1 to %(most)d months.", most=MAX_MONTHS_PER_PAYMENT
        )
    if paid_on is None:
        raise ValidationFailed({"paid_on": _("Enter the day the money was received.")})
    if paid_on > today:
        errors["paid_on"] = _("That day is in the future.")
    elif paid_on < today - timedelta(days=MAX_DAYS_BACKDATED):
        errors["paid_on"] = _(
            "That is more than a year ago; ask the treasurer to record it."
        )
    if errors:
        raise ValidationFailed(errors)
    expected = quote(member, months)
    if amount_cents != expected.total_cents:
        message = _(
            "For %(months)d months the amount is %(total)s.",
            months=months,
            total=format_money(expected.total_cents),
        )
        if expected.initiation_cents:
            message = _(
                "For %(months)d months plus the initiation fee of %(fee)s, the amount "
                "is %(total)s.",
                months=months,
                fee=format_money(expected.initiation_cents),
                total=format_money(expected.total_cents),
            )
        raise ValidationFailed({"amount": message})
    return record_payment(
        member,
        method=method,
        amount_cents=expected.total_cents,
        initiation_cents=expected.initiation_cents,
        months=months,
        paid_on=paid_on,
        now=now,
        recorded_by=actor,
        receipt_number=numbers.next_number("receipt"),
        reference=(reference or "").strip() or None,
    )


def record_refund(payment: DuesPayment, *, refunded_cents: int, now: datetime) -> None:
    """Notes a refund: `refunded_cents` is everything refunded so far. A full refund
    uncovers the months the payment covered, so the member owes them again."""
    refunded = max(refunded_cents, payment.refunded_cents)
    _set_returned(payment, refunded=refunded, disputed=payment.disputed_cents, now=now)


def _set_returned(
    payment: DuesPayment, *, refunded: int, disputed: int, now: datetime
) -> None:
    """Sets what went back to the cardholder, and uncovers or covers again the
    payment's months when that crosses the whole amount."""
    was_returned = payment.is_returned_in_full
    refunded = min(refunded, payment.amount_cents)
    disputed = min(disputed, payment.amount_cents - refunded)
    if refunded != payment.refunded_cents:
        audit.record("dues.payment_refunded", actor=None, now=now, subject=payment)
    if disputed != payment.disputed_cents:
        audit.record(
            "dues.payment_disputed",
            actor=None,
            now=now,
            subject=payment,
            detail="withdrawn" if disputed > payment.disputed_cents else "reinstated",
        )
    payment.refunded_cents, payment.disputed_cents = refunded, disputed
    if payment.is_returned_in_full != was_returned:
        member = lock_member(payment.member_id)
        if payment.is_returned_in_full:
            db.session.execute(
                sa.delete(DuesCoverage).where(DuesCoverage.payment_id == payment.id)
            )
        else:
            covered = covered_months(member.id)
            for month in months_to_cover(start_month(member), covered, payment.months):
                db.session.add(
                    DuesCoverage(
                        member_id=member.id, month=month, payment_id=payment.id
                    )
                )
        db.session.flush()
        db.session.expire(payment, ["coverage"])
        note_coverage(member, covered_months(member.id))
    db.session.flush()
