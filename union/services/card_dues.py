"""Card dues through Stripe: setup, Checkout, the Portal, level changes, webhooks and
reconciliation.

Only webhooks change money state. The success page after Checkout only watches for
the payment the webhook records; it never marks anything paid itself.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from union import clock
from union.adapters.payments import CheckoutLink, GatewayError, StripeGateway
from union.clock import first_of_month
from union.db import db
from union.errors import DomainError, ValidationFailed
from union.i18n import _
from union.models import (
    CARD_METHODS,
    CheckoutAttempt,
    DuesLevel,
    DuesLevelChoice,
    DuesNotice,
    DuesPayment,
    DuesRate,
    DuesSubscription,
    Member,
    NoticeKind,
    PaymentMethod,
    StripeEvent,
    User,
)
from union.services import audit, dues, ledger


class CardPaymentsUnavailable(DomainError):
    """No Stripe key is configured, or Stripe cannot be reached right now."""


def _gateway(gateway: StripeGateway | None) -> StripeGateway:
    if gateway is None:
        raise CardPaymentsUnavailable(
            _("Card payment is not available. Pay a delegate in cash instead.")
        )
    return gateway


def _calling_stripe(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except GatewayError as error:
        raise CardPaymentsUnavailable(
            _(
                "Card payment is not working right now. Try again later, or pay a delegate."
            )
        ) from error


# Setup --------------------------------------------------------------------------------


def _ensure_price(stripe: StripeGateway, key: str, cents: int) -> str:
    price_id: str = _calling_stripe(
        lambda: stripe.ensure_price(lookup_key=key, monthly_cents=cents)
    )
    return price_id


def lookup_key(level: DuesLevel, rate: DuesRate, *, current: bool) -> str:
    """`dues_<code>` always names the price in force; later amounts get a dated key."""
    if current:
        return f"dues_{level.code}"
    return f"dues_{level.code}_{rate.effective_on:%Y_%m}"


def setup_catalog(gateway: StripeGateway | None, *, now: datetime) -> list[str]:
    """Creates or updates the dues product and a monthly price for every level's
    current and scheduled amounts, and remembers each price. Safe to run any number
    of times: it changes nothing when everything is in place."""
    stripe = _gateway(gateway)
    today = clock.today(now)
    lines = [f"product {_calling_stripe(stripe.ensure_product)}"]
    for level in dues.all_levels():
        current = level.rate_on(today)
        for rate in level.rates:
            if current is not None and rate.effective_on < current.effective_on:
                continue
            key = lookup_key(level, rate, current=rate is current)
            price_id = _ensure_price(stripe, key, rate.monthly_cents)
            rate.stripe_price_id = price_id
            lines.append(
                f"{key}: {rate.monthly_cents} cents from {rate.effective_on} -> {price_id}"
            )
    db.session.flush()
    return lines


# Checkout and the Portal ---------------------------------------------------------------


def _price_id(level_id: int, month: date) -> str:
    level = next(level for level in dues.all_levels() if level.id == level_id)
    rate = level.rate_on(month) or level.rates[0]
    if rate.stripe_price_id is None:
        raise CardPaymentsUnavailable(
            _(
                "Card payment is not set up yet. The treasurer needs to finish setting it up."
            )
        )
    return rate.stripe_price_id


def live_subscription(member_id: int) -> DuesSubscription | None:
    return db.session.scalar(
        sa.select(DuesSubscription)
        .where(
            DuesSubscription.member_id == member_id,
            DuesSubscription.status.in_(
                ("active", "trialing", "past_due", "incomplete")
            ),
        )
        .order_by(DuesSubscription.last_event_created.desc())
        .limit(1)
    )


def _customer_id(member: Member, stripe: StripeGateway) -> str:
    if member.stripe_customer_id is None:
        member.stripe_customer_id = _calling_stripe(
            lambda: stripe.create_customer(
                member_ref=member.public_id, email=member.email
            )
        )
        db.session.flush()
    return member.stripe_customer_id


def _attempt(
    member: Member,
    *,
    kind: str,
    level_id: int | None,
    months: int,
    quote: dues.Quote,
    now: datetime,
) -> CheckoutAttempt:
    attempt = CheckoutAttempt(
        public_id=secrets.token_hex(12),
        member_id=member.id,
        kind=kind,
        level_id=level_id,
        months=months,
        amount_cents=quote.total_cents,
        initiation_cents=quote.initiation_cents,
        created_at=now,
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def start_card_subscription(
    member: Member,
    *,
    gateway: StripeGateway | None,
    now: datetime,
    success_url: str,
    cancel_url: str,
) -> CheckoutLink:
    """Opens Checkout for monthly card dues at the member's level, with the
    initiation fee on the first invoice if it is still owed."""
    stripe = _gateway(gateway)
    if member.email is None:
        raise ValidationFailed({"": _("Add an email to your account to pay by card.")})
    if live_subscription(member.id) is not None:
        raise ValidationFailed({"": _("You already pay by card every month.")})
    this_month = first_of_month(clock.today(now))
    price_id = _price_id(member.dues_level_id, this_month)
    quote = dues.quote(member, 1)
    attempt = _attempt(
        member,
        kind="subscription",
        level_id=member.dues_level_id,
        months=1,
        quote=quote,
        now=now,
    )
    customer_id = _customer_id(member, stripe)
    link: CheckoutLink = _calling_stripe(
        lambda: stripe.subscription_checkout(
            customer_id=customer_id,
            member_ref=member.public_id,
            price_id=price_id,
            initiation_cents=quote.initiation_cents,
            success_url=success_url,
            cancel_url=cancel_url,
            idempotency_key=f"checkout-{attempt.public_id}",
        )
    )
    attempt.stripe_session_id = link.session_id
    audit.record(
        "dues.card_checkout_started", actor=member.user, now=now, subject=member
    )
    db.session.flush()
    return link


def start_card_payment(
    member: Member,
    *,
    months: int,
    gateway: StripeGateway | None,
    now: datetime,
    success_url: str,
    cancel_url: str,
) -> CheckoutLink:
    """Opens Checkout for one card payment covering `months` months (arrears first,
    then in advance). The amount is worked out here, never taken from the browser."""
    stripe = _gateway(gateway)
    if not 1 <= months <= ledger.MAX_MONTHS_PER_PAYMENT:
        raise ValidationFailed(
            {
                "months": _(
                    "Choose from 1 to %(most)d months.",
                    most=ledger.MAX_MONTHS_PER_PAYMENT,
                )
            }
        )
    if member.email is None:
        raise ValidationFailed({"": _("Add an email to your account to pay by card.")})
    quote = dues.quote(member, months)
    attempt = _attempt(
        member, kind="one_off", level_id=None, months=months, quote=quote, now=now
    )
    customer_id = _customer_id(member, stripe)
    link: CheckoutLink = _calling_stripe(
        lambda: stripe.one_off_checkout(
            customer_id=customer_id,
            member_ref=member.public_id,
            attempt_ref=attempt.public_id,
            amount_cents=quote.total_cents,
            success_url=success_url,
            cancel_url=cancel_url,
            idempotency_key=f"checkout-{attempt.public_id}",
        )
    )
    attempt.stripe_session_id = link.session_id
    audit.record(
        "dues.card_checkout_started", actor=member.user, now=now, subject=member
    )
    db.session.flush()
    return link


def portal_url(
    member: Member, *, gateway: StripeGateway | None, return_url: str
) -> str:
    """A short-lived link to Stripe's page for updating the card or cancelling."""
    stripe = _gateway(gateway)
    if member.stripe_customer_id is None:
        raise ValidationFailed({"": _("You have not paid by card yet.")})
    customer_id = member.stripe_customer_id
    url: str = _calling_stripe(
        lambda: stripe.portal_url(customer_id=customer_id, return_url=return_url)
    )
    return url


def change_level(
    member: Member,
    level_id: int,
    *,
    gateway: StripeGateway | None,
    actor: User,
    now: datetime,
) -> DuesLevelChoice:
    """Changes the member's level from next month, moving a card subscription to the
    new level's price at the same time (no proration: next invoice, new amount)."""
    choice = dues.change_level(member, level_id, actor=actor, now=now)
    subscription = live_subscription(member.id)
    if subscription is not None:
        stripe = _gateway(gateway)
        price_id = _price_id(level_id, choice.effective_month)
        _calling_stripe(
            lambda: stripe.change_subscription_price(
                subscription_id=subscription.stripe_subscription_id,
                price_id=price_id,
                idempotency_key=f"level-{choice.id}-{level_id}-{choice.chosen_at:%Y%m%d%H%M%S}",
            )
        )
    return choice


def attempt_paid(member: Member, session_id: str) -> bool | None:
    """Whether the webhook has recorded the payment for a Checkout session: None
    when the session is not this member's."""
    attempt = db.session.scalar(
        sa.select(CheckoutAttempt).where(
            CheckoutAttempt.stripe_session_id == session_id,
            CheckoutAttempt.member_id == member.id,
        )
    )
    if attempt is None:
        return None
    return bool(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(DuesPayment)
            .where(
                DuesPayment.member_id == member.id,
                DuesPayment.method.in_(CARD_METHODS),
                DuesPayment.recorded_at >= attempt.created_at,
            )
        )
    )


# Webhooks -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentFailed:
    """A failed card payment the member must be told about (once per invoice)."""

    member_id: int
    invoice_id: str


@dataclass
class WebhookOutcome:
    #: processed, ignored (a type the app does not act on), unmatched (no member of
    #: ours), or duplicate (this event id was handled before).
    outcome: str
    notices: list[PaymentFailed] = field(default_factory=list)


Handler = Callable[[dict[str, Any], datetime, datetime], WebhookOutcome]


def handle_event(event: dict[str, Any], *, now: datetime) -> WebhookOutcome:
    """Applies one verified Stripe event, all of it in the caller's transaction.

    The event id is claimed first with INSERT ... ON CONFLICT DO NOTHING: a second
    delivery, even one arriving at the same moment on PostgreSQL, finds it taken and
    changes nothing. An exception leaves the claim uncommitted, so Stripe's retry is
    processed afresh.
    """
    event_type = str(event.get("type", ""))
    created = datetime.fromtimestamp(int(event.get("created") or 0), UTC)
    if not _claim(event["id"], event_type, created, now):
        return WebhookOutcome("duplicate")
    handler = HANDLERS.get(event_type)
    data = event.get("data") or {}
    if handler is None:
        result = WebhookOutcome("ignored")
    else:
        result = handler(data.get("object") or {}, created, now)
    db.session.execute(
        sa.update(StripeEvent)
        .where(StripeEvent.id == event["id"])
        .values(outcome=result.outcome)
    )
    return result


def _claim(event_id: str, event_type: str, created: datetime, now: datetime) -> bool:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(StripeEvent)
        .values(
            id=event_id,
            type=event_type[:100],
            created=created,
            received_at=now,
            outcome="processing",
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(StripeEvent.id)
    )
    return db.session.execute(statement).scalar_one_or_none() is not None


def _member(customer_id: str | None, member_ref: str | None) -> Member | None:
    """Our member for a Stripe customer, linking the customer when found by the
    opaque reference alone (an event that overtook our own records)."""
    if customer_id:
        member = db.session.scalar(
            sa.select(Member).where(Member.stripe_customer_id == customer_id)
        )
        if member is not None:
            return member
    if member_ref:
        member = db.session.scalar(
            sa.select(Member).where(Member.public_id == member_ref)
        )
        if member is not None and customer_id and member.stripe_customer_id is None:
            member.stripe_customer_id = customer_id
        return member
    return None


def _id(value: Any) -> str | None:
    """Stripe sends either an id or the expanded object."""
    if isinstance(value, dict):
        return str(value.get("id")) if value.get("id") else None
    return str(value) if value else None


def _invoice_subscription(invoice: dict[str, Any]) -> tuple[str | None, str | None]:
    """(subscription id, member reference) of an invoice, in old and new API shapes."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    legacy = invoice.get("subscription_details") or {}
    subscription = _id(details.get("subscription")) or _id(invoice.get("subscription"))
    reference = (details.get("metadata") or {}).get("member") or (
        legacy.get("metadata") or {}
    ).get("member")
    return subscription, reference


def _invoice_intent(invoice: dict[str, Any]) -> str | None:
    """The PaymentIntent that paid an invoice (refunds name it, not the invoice)."""
    legacy = _id(invoice.get("payment_intent"))
    if legacy:
        return legacy
    for entry in (invoice.get("payments") or {}).get("data") or []:
        intent = _id((entry.get("payment") or {}).get("payment_intent"))
        if intent:
            return intent
    return None


def _is_recurring(line: dict[str, Any]) -> bool:
    if line.get("type") == "subscription":
        return True
    if (line.get("parent") or {}).get("type") == "subscription_item_details":
        return True
    return bool((line.get("price") or {}).get("recurring"))


def _subscription_row(
    subscription_id: str, member: Member, created: datetime
) -> DuesSubscription:
    row = db.session.scalar(
        sa.select(DuesSubscription).where(
            DuesSubscription.stripe_subscription_id == subscription_id
        )
    )
    if row is None:
        row = DuesSubscription(
            member_id=member.id,
            stripe_subscription_id=subscription_id,
            status="incomplete",
            last_event_created=datetime.fromtimestamp(0, UTC),
        )
        db.session.add(row)
    return row


def _set_status(row: DuesSubscription, status: str, created: datetime) -> None:
    """Applies a status only from an event at least as new as the last one applied:
    Stripe does not promise to deliver events in order."""
    if created >= row.last_event_created:
        row.status = status
        row.last_event_created = created


def on_invoice_paid(
    invoice: dict[str, Any], created: datetime, now: datetime
) -> WebhookOutcome:
    """A subscription invoice was paid: one month covered (plus the initiation fee on
    the first invoice). `invoice.paid` and `invoice.payment_succeeded` both land here;
    whichever comes second finds the invoice already in the ledger."""
    if invoice.get("status") != "paid" or not invoice.get("amount_paid"):
        return WebhookOutcome("ignored")
    invoice_id = str(invoice["id"])
    subscription_id, reference = _invoice_subscription(invoice)
    member = _member(_id(invoice.get("customer")), reference)
    if member is None:
        return WebhookOutcome("unmatched")
    exists = db.session.scalar(
        sa.select(DuesPayment.id).where(DuesPayment.stripe_invoice_id == invoice_id)
    )
    if exists is None:
        lines = (invoice.get("lines") or {}).get("data") or []
        one_time = sum(
            int(line.get("amount") or 0) for line in lines if not _is_recurring(line)
        )
        paid_at = (invoice.get("status_transitions") or {}).get(
            "paid_at"
        ) or invoice.get("created")
        paid_on = (
            clock.today(datetime.fromtimestamp(int(paid_at or 0), UTC))
            if paid_at
            else clock.today(now)
        )
        ledger.record_payment(
            member,
            method=PaymentMethod.CARD_SUBSCRIPTION,
            amount_cents=int(invoice["amount_paid"]),
            initiation_cents=min(one_time, int(invoice["amount_paid"])),
            months=1,
            paid_on=paid_on,
            now=now,
            stripe_invoice_id=invoice_id,
            stripe_payment_intent_id=_invoice_intent(invoice),
        )
    if subscription_id:
        _set_status(
            _subscription_row(subscription_id, member, created), "active", created
        )
    return WebhookOutcome("processed")


def on_invoice_payment_failed(
    invoice: dict[str, Any], created: datetime, now: datetime
) -> WebhookOutcome:
    """A card payment failed. While Stripe retries, the month is not held against
    the member; they are told once, kindly, how to update their card."""
    subscription_id, reference = _invoice_subscription(invoice)
    member = _member(_id(invoice.get("customer")), reference)
    if member is None:
        return WebhookOutcome("unmatched")
    if subscription_id and invoice.get("next_payment_attempt"):
        _set_status(
            _subscription_row(subscription_id, member, created), "past_due", created
        )
    notices = []
    if _first_notice(member.id, NoticeKind.PAYMENT_FAILED, str(invoice["id"]), now):
        notices.append(PaymentFailed(member.id, str(invoice["id"])))
    return WebhookOutcome("processed", notices)


def _first_notice(member_id: int, kind: NoticeKind, key: str, now: datetime) -> bool:
    """Records that a notice is due; False when it was recorded before."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(DuesNotice)
        .values(member_id=member_id, kind=kind, key=key, sent_at=now)
        .on_conflict_do_nothing(index_elements=["member_id", "kind", "key"])
        .returning(DuesNotice.id)
    )
    return db.session.execute(statement).scalar_one_or_none() is not None


def on_subscription_changed(
    subscription: dict[str, Any], created: datetime, now: datetime
) -> WebhookOutcome:
    """`customer.subscription.updated` and `.deleted`: the newest event wins."""
    metadata = subscription.get("metadata") or {}
    member = _member(_id(subscription.get("customer")), metadata.get("member"))
    if member is None:
        return WebhookOutcome("unmatched")
    row = _subscription_row(str(subscription["id"]), member, created)
    if created < row.last_event_created:
        return WebhookOutcome("processed")
    _set_status(row, str(subscription.get("status") or "canceled"), created)
    row.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    items = (subscription.get("items") or {}).get("data") or [{}]
    period_end = subscription.get("current_period_end") or items[0].get(
        "current_period_end"
    )
    row.current_period_end = (
        datetime.fromtimestamp(int(period_end), UTC) if period_end else None
    )
    return WebhookOutcome("processed")


def on_checkout_completed(
    session: dict[str, Any], created: datetime, now: datetime
) -> WebhookOutcome:
    member = _member(_id(session.get("customer")), session.get("client_reference_id"))
    if member is None:
        return WebhookOutcome("unmatched")
    if session.get("mode") == "subscription" and session.get("subscription"):
        row = _subscription_row(str(_id(session["subscription"])), member, created)
        if row.status == "incomplete":
            _set_status(row, "active", created)
    if session.get("mode") == "payment" and session.get("payment_status") == "paid":
        return _one_off_paid(
            member,
            intent_id=_id(session.get("payment_intent")),
            amount_cents=int(session.get("amount_total") or 0),
            attempt_ref=(session.get("metadata") or {}).get("attempt"),
            now=now,
        )
    return WebhookOutcome("processed")


def on_payment_intent_succeeded(
    intent: dict[str, Any], created: datetime, now: datetime
) -> WebhookOutcome:
    """One-off card payments; subscription invoices are handled by their invoice."""
    metadata = intent.get("metadata") or {}
    if not metadata.get("attempt"):
        return WebhookOutcome("ignored")
    member = _member(_id(intent.get("customer")), metadata.get("member"))
    if member is None:
        return WebhookOutcome("unmatched")
    return _one_off_paid(
        member,
        intent_id=str(intent["id"]),
        amount_cents=int(intent.get("amount_received") or intent.get("amount") or 0),
        attempt_ref=metadata.get("attempt"),
        now=now,
    )


def _one_off_paid(
    member: Member,
    *,
    intent_id: str | None,
    amount_cents: int,
    attempt_ref: str | None,
    now: datetime,
) -> WebhookOutcome:
    """Records a one-off card payment once, whichever of its events comes first."""
    if not intent_id or not attempt_ref:
        return WebhookOutcome("unmatched")
    if db.session.scalar(
        sa.select(DuesPayment.id).where(
            DuesPayment.stripe_payment_intent_id == intent_id
        )
    ):
        return WebhookOutcome("processed")
    attempt = db.session.scalar(
        sa.select(CheckoutAttempt).where(
            CheckoutAttempt.public_id == attempt_ref,
            CheckoutAttempt.member_id == member.id,
        )
    )
    if attempt is None:
        return WebhookOutcome("unmatched")
    ledger.record_payment(
        member,
        method=PaymentMethod.CARD_ONE_OFF,
        amount_cents=amount_cents,
        initiation_cents=min(attempt.initiation_cents, amount_cents),
        months=attempt.months,
        paid_on=clock.today(now),
        now=now,
        stripe_payment_intent_id=intent_id,
    )
    return WebhookOutcome("processed")


def on_charge_refunded(
    charge: dict[str, Any], created: datetime, now: datetime
) -> WebhookOutcome:
    """A refund made in Stripe: a full refund uncovers the payment's months."""
    intent_id, invoice_id = (
        _id(charge.get("payment_intent")),
        _id(charge.get("invoice")),
    )
    conditions = []
    if intent_id:
        conditions.append(DuesPayment.stripe_payment_intent_id == intent_id)
    if invoice_id:
        conditions.append(DuesPayment.stripe_invoice_id == invoice_id)
    payment = (
        db.session.scalar(sa.select(DuesPayment).where(sa.or_(*conditions)))
        if conditions
        else None
    )
    if payment is None:
        return WebhookOutcome("unmatched")
    ledger.record_refund(
        payment, refunded_cents=int(charge.get("amount_refunded") or 0), now=now
    )
    return WebhookOutcome("processed")


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": on_checkout_completed,
    "invoice.paid": on_invoice_paid,
    "invoice.payment_succeeded": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
    "customer.subscription.updated": on_subscription_changed,
    "customer.subscription.deleted": on_subscription_changed,
    "payment_intent.succeeded": on_payment_intent_succeeded,
    "charge.refunded": on_charge_refunded,
}


# Reconciliation -----------------------------------------------------------------------


def _subscriptions_of(stripe: StripeGateway, member: Member) -> list[dict[str, Any]]:
    customer_id = member.stripe_customer_id or ""
    found: list[dict[str, Any]] = _calling_stripe(
        lambda: stripe.subscriptions(customer_id)
    )
    return found


@dataclass(frozen=True, slots=True)
class Drift:
    """One difference between the ledger and Stripe, described by ids only."""

    kind: str
    detail: str
    repaired: bool


def reconcile(
    gateway: StripeGateway | None, *, now: datetime, repair: bool, days: int = 90
) -> list[Drift]:
    """Compares the last `days` days of paid invoices and every subscription with
    the ledger. With `repair`, missing payments are recorded (exactly as their
    webhook would have) and subscription states corrected."""
    stripe = _gateway(gateway)
    since = int((now - timedelta(days=days)).timestamp())
    drifts: list[Drift] = []
    known = set(
        db.session.scalars(
            sa.select(DuesPayment.stripe_invoice_id).where(
                DuesPayment.stripe_invoice_id.is_not(None)
            )
        )
    )
    for invoice in _calling_stripe(
        lambda: list(stripe.paid_invoices(created_since=since))
    ):
        if invoice["id"] in known or not invoice.get("amount_paid"):
            continue
        member = _member(
            _id(invoice.get("customer")), _invoice_subscription(invoice)[1]
        )
        if member is None:
            continue
        if repair:
            on_invoice_paid(invoice, now, now)
        drifts.append(
            Drift(
                "missing_payment",
                f"invoice {invoice['id']} member {member.public_id}",
                repair,
            )
        )
    customers = db.session.scalars(
        sa.select(Member).where(Member.stripe_customer_id.is_not(None))
    ).all()
    rows = {
        row.stripe_subscription_id: row
        for row in db.session.scalars(sa.select(DuesSubscription))
    }
    for member in customers:
        for subscription in _subscriptions_of(stripe, member):
            row = rows.get(subscription["id"])
            if row is not None and row.status == subscription.get("status"):
                continue
            was = row.status if row is not None else "missing"
            if repair:
                on_subscription_changed(subscription, now, now)
            drifts.append(
                Drift(
                    "subscription_status",
                    f"{subscription['id']} member {member.public_id}: "
                    f"ours {was}, Stripe {subscription.get('status')}",
                    repair,
                )
            )
    if repair and drifts:
        audit.record(
            "dues.reconciled", actor=None, now=now, detail=f"repaired={len(drifts)}"
        )
    db.session.flush()
    return drifts
