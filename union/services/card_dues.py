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
from union.adapters.payments import (
    CheckoutLink,
    EventFields,
    GatewayError,
    MalformedEvent,
    StripeGateway,
)
from union.clock import first_of_month
from union.db import db
from union.errors import DomainError, ValidationFailed
from union.i18n import _
from union.models import (
    CARD_METHODS,
    AdjustmentKind,
    CheckoutAttempt,
    DuesLevelChoice,
    DuesNotice,
    DuesPayment,
    DuesRate,
    DuesSubscription,
    Member,
    NoticeKind,
    PaymentMethod,
    StripeAdjustment,
    StripeEvent,
    User,
)
from union.services import audit, card_prices, dues, ledger


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


def setup_catalog(gateway: StripeGateway | None, *, now: datetime) -> list[str]:
    """Creates or updates the dues product and a monthly price for every level's
    current and scheduled amounts, and remembers each price: `union stripe-setup`,
    for operators. Each amount goes through the same `card_prices.ensure_rate_price`
    as the job a treasurer's change records. Safe to run any number of times: it
    changes nothing when everything is in place."""
    stripe = _gateway(gateway)
    today = clock.today(now)
    lines = [f"product {_calling_stripe(stripe.ensure_product)}"]
    for level in dues.all_levels():
        current = level.rate_on(today)
        for rate in card_prices.rates_to_price(level, today):
            key = card_prices.lookup_key(level, rate, current=rate is current)
            price_id = _price_for(stripe, rate, today)
            lines.append(
                f"{key}: {rate.monthly_cents} cents from {rate.effective_on} -> {price_id}"
            )
    db.session.flush()
    return lines


def _price_for(stripe: StripeGateway, rate: DuesRate, today: date) -> str:
    price_id: str = _calling_stripe(
        lambda: card_prices.ensure_rate_price(stripe, rate, today=today)
    )
    return price_id


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
            DuesSubscription.status.in_(card_prices.LIVE_STATUSES),
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
    return _checkout_started(
        member,
        attempt,
        lambda: stripe.subscription_checkout(
            customer_id=customer_id,
            member_ref=member.public_id,
            price_id=price_id,
            initiation_cents=quote.initiation_cents,
            success_url=success_url,
            cancel_url=cancel_url,
            idempotency_key=f"checkout-{attempt.public_id}",
        ),
        now=now,
    )


def _checkout_started(
    member: Member,
    attempt: CheckoutAttempt,
    open_checkout: Callable[[], CheckoutLink],
    *,
    now: datetime,
) -> CheckoutLink:
    """Opens Checkout for an attempt already recorded, and remembers its session."""
    link: CheckoutLink = _calling_stripe(open_checkout)
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
    return _checkout_started(
        member,
        attempt,
        lambda: stripe.one_off_checkout(
            customer_id=customer_id,
            member_ref=member.public_id,
            attempt_ref=attempt.public_id,
            amount_cents=quote.total_cents,
            success_url=success_url,
            cancel_url=cancel_url,
            idempotency_key=f"checkout-{attempt.public_id}",
        ),
        now=now,
    )


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
        subscription.stripe_price_id = price_id
        db.session.flush()
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

#: Outcomes a webhook can have, as stored on its StripeEvent row.
PROCESSED = "processed"
#: A type the app does not act on, or an event that moves no money (an inquiry).
IGNORED = "ignored"
#: A refund or dispute whose payment is not in the ledger yet: kept, and applied
#: when the payment is recorded.
PENDING = "pending"
#: Nothing of ours: no member, or no payment Stripe names.
UNMATCHED = "unmatched"
#: This event id was handled before.
DUPLICATE = "duplicate"
#: A field the app reads is missing or of the wrong type: answered 400, and nothing
#: of the event applied.
REFUSED = "refused"

#: How long a refund or dispute may wait for its payment before reconciliation
#: reports it: Stripe delivers within minutes, retrying a failed delivery for days.
WAITING_REPORTED_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PaymentFailed:
    """A failed card payment the member must be told about (once per invoice)."""

    member_id: int
    invoice_id: str


@dataclass
class WebhookOutcome:
    #: One of the outcomes above.
    outcome: str
    notices: list[PaymentFailed] = field(default_factory=list)
    #: For a refused event, the path of the field at fault (never its value).
    refused_field: str | None = None


@dataclass(frozen=True, slots=True)
class Received:
    """What a handler knows of the event around its object."""

    event_id: str
    event_type: str
    #: When Stripe created the event; newer events win over older ones.
    created: datetime
    now: datetime


Handler = Callable[[EventFields, Received], WebhookOutcome]


def handle_event(event: dict[str, Any], *, now: datetime) -> WebhookOutcome:
    """Applies one verified Stripe event, all of it in the caller's transaction.

    The event id is claimed first with INSERT ... ON CONFLICT DO NOTHING: a second
    delivery, even one arriving at the same moment on PostgreSQL, finds it taken and
    changes nothing. An exception leaves the claim uncommitted, so Stripe's retry is
    processed afresh. An event with a field of the wrong type is claimed as refused
    and nothing else of it is kept: its handler runs in a savepoint that is rolled
    back, whatever it had done before reaching the bad field.
    """
    event_id = str(event["id"])
    raw_type = event.get("type")
    event_type = raw_type if isinstance(raw_type, str) else ""
    fields = EventFields(event, "event")
    malformed = None
    created = now
    try:
        if not isinstance(raw_type, str):
            raise MalformedEvent("event.type")
        created = fields.required_timestamp("created")
    except MalformedEvent as error:
        malformed = error
    if not _claim(event_id, event_type, created, now):
        return _delivered_again(event_id)
    handler = HANDLERS.get(event_type)
    if malformed is not None:
        result = WebhookOutcome(REFUSED, refused_field=str(malformed))
    elif handler is None:
        result = WebhookOutcome(IGNORED)
    else:
        try:
            obj = fields.child("data", required=True).child("object", required=True)
        except MalformedEvent as error:
            result = WebhookOutcome(REFUSED, refused_field=str(error))
        else:
            result = _run(handler, obj, Received(event_id, event_type, created, now))
    db.session.execute(
        sa.update(StripeEvent)
        .where(StripeEvent.id == event_id)
        .values(outcome=result.outcome)
    )
    return result


def _run(handler: Handler, obj: EventFields, received: Received) -> WebhookOutcome:
    """Runs a handler in a savepoint, so a malformed field found halfway through
    leaves nothing behind."""
    try:
        with db.session.begin_nested():
            return handler(obj, received)
    except MalformedEvent as error:
        return WebhookOutcome(REFUSED, refused_field=str(error))


def _delivered_again(event_id: str) -> WebhookOutcome:
    """A second delivery changes nothing; one of a refused event is refused again,
    as the same bytes are still malformed."""
    earlier = db.session.scalar(
        sa.select(StripeEvent.outcome).where(StripeEvent.id == event_id)
    )
    return WebhookOutcome(REFUSED if earlier == REFUSED else DUPLICATE)


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


def _invoice_subscription(invoice: EventFields) -> tuple[str | None, str | None]:
    """(subscription id, member reference) of an invoice, in old and new API shapes."""
    details = invoice.child("parent").child("subscription_details")
    legacy = invoice.child("subscription_details")
    subscription = details.stripe_id("subscription") or invoice.stripe_id(
        "subscription"
    )
    reference = details.child("metadata").text("member") or legacy.child(
        "metadata"
    ).text("member")
    return subscription, reference


def _invoice_intent(invoice: EventFields) -> str | None:
    """The PaymentIntent that paid an invoice (refunds name it, not the invoice)."""
    legacy = invoice.stripe_id("payment_intent")
    if legacy:
        return legacy
    for entry in invoice.child("payments").items("data"):
        intent = entry.child("payment").stripe_id("payment_intent")
        if intent:
            return intent
    return None


def _is_recurring(line: EventFields) -> bool:
    if line.text("type") == "subscription":
        return True
    if line.child("parent").text("type") == "subscription_item_details":
        return True
    return not line.child("price").child("recurring").empty


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


def on_invoice_paid(invoice: EventFields, received: Received) -> WebhookOutcome:
    """A subscription invoice was paid: one month covered (plus the initiation fee on
    the first invoice). `invoice.paid` and `invoice.payment_succeeded` both land here;
    whichever comes second finds the invoice already in the ledger."""
    amount_paid = invoice.count("amount_paid")
    if invoice.text("status") != "paid" or not amount_paid:
        return WebhookOutcome(IGNORED)
    invoice_id = invoice.required_id("id")
    subscription_id, reference = _invoice_subscription(invoice)
    customer_id = invoice.stripe_id("customer")
    intent_id = _invoice_intent(invoice)
    one_time = sum(
        line.integer("amount") or 0
        for line in invoice.child("lines").items("data")
        if not _is_recurring(line)
    )
    paid_at = invoice.child("status_transitions").timestamp(
        "paid_at"
    ) or invoice.timestamp("created")
    ledger.lock_stripe_objects(invoice_id, intent_id)
    member = _member(customer_id, reference)
    if member is None:
        return WebhookOutcome(UNMATCHED)
    exists = db.session.scalar(
        sa.select(DuesPayment.id).where(DuesPayment.stripe_invoice_id == invoice_id)
    )
    if exists is None:
        ledger.record_payment(
            member,
            method=PaymentMethod.CARD_SUBSCRIPTION,
            amount_cents=amount_paid,
            # A credit line can make the one-time part negative; no fee was paid then.
            initiation_cents=max(0, min(one_time, amount_paid)),
            months=1,
            paid_on=clock.today(paid_at or received.now),
            now=received.now,
            stripe_invoice_id=invoice_id,
            stripe_payment_intent_id=intent_id,
        )
    if subscription_id:
        _set_status(
            _subscription_row(subscription_id, member, received.created),
            "active",
            received.created,
        )
    return WebhookOutcome(PROCESSED)


def on_invoice_payment_failed(
    invoice: EventFields, received: Received
) -> WebhookOutcome:
    """A card payment failed. While Stripe retries, the month is not held against
    the member; they are told once, kindly, how to update their card."""
    invoice_id = invoice.required_id("id")
    subscription_id, reference = _invoice_subscription(invoice)
    retrying = invoice.timestamp("next_payment_attempt") is not None
    member = _member(invoice.stripe_id("customer"), reference)
    if member is None:
        return WebhookOutcome(UNMATCHED)
    if subscription_id and retrying:
        _set_status(
            _subscription_row(subscription_id, member, received.created),
            "past_due",
            received.created,
        )
    notices = []
    if _first_notice(member.id, NoticeKind.PAYMENT_FAILED, invoice_id, received.now):
        notices.append(PaymentFailed(member.id, invoice_id))
    return WebhookOutcome(PROCESSED, notices)


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
    subscription: EventFields, received: Received
) -> WebhookOutcome:
    """`customer.subscription.updated` and `.deleted`: the newest event wins."""
    subscription_id = subscription.required_id("id")
    reference = subscription.child("metadata").text("member")
    customer_id = subscription.stripe_id("customer")
    status = subscription.text("status", max_length=32) or "canceled"
    cancel_at_period_end = subscription.flag("cancel_at_period_end")
    items = subscription.child("items").items("data")
    period_end = subscription.timestamp("current_period_end") or (
        items[0].timestamp("current_period_end") if items else None
    )
    member = _member(customer_id, reference)
    if member is None:
        return WebhookOutcome(UNMATCHED)
    row = _subscription_row(subscription_id, member, received.created)
    if received.created < row.last_event_created:
        return WebhookOutcome(PROCESSED)
    _set_status(row, status, received.created)
    row.cancel_at_period_end = cancel_at_period_end
    row.current_period_end = period_end
    return WebhookOutcome(PROCESSED)


def on_checkout_completed(session: EventFields, received: Received) -> WebhookOutcome:
    customer_id = session.stripe_id("customer")
    reference = session.text("client_reference_id")
    mode = session.text("mode")
    subscription_id = session.stripe_id("subscription")
    paid = session.text("payment_status") == "paid"
    intent_id = session.stripe_id("payment_intent")
    amount_total = session.count("amount_total") or 0
    attempt_ref = session.child("metadata").text("attempt")
    ledger.lock_stripe_objects(intent_id)
    member = _member(customer_id, reference)
    if member is None:
        return WebhookOutcome(UNMATCHED)
    if mode == "subscription" and subscription_id:
        row = _subscription_row(subscription_id, member, received.created)
        if row.status == "incomplete":
            _set_status(row, "active", received.created)
    if mode == "payment" and paid:
        return _one_off_paid(
            member,
            intent_id=intent_id,
            amount_cents=amount_total,
            attempt_ref=attempt_ref,
            now=received.now,
        )
    return WebhookOutcome(PROCESSED)


def on_payment_intent_succeeded(
    intent: EventFields, received: Received
) -> WebhookOutcome:
    """One-off card payments; subscription invoices are handled by their invoice."""
    metadata = intent.child("metadata")
    attempt_ref = metadata.text("attempt")
    if not attempt_ref:
        return WebhookOutcome(IGNORED)
    intent_id = intent.required_id("id")
    reference = metadata.text("member")
    customer_id = intent.stripe_id("customer")
    amount = intent.count("amount_received") or intent.count("amount") or 0
    ledger.lock_stripe_objects(intent_id)
    member = _member(customer_id, reference)
    if member is None:
        return WebhookOutcome(UNMATCHED)
    return _one_off_paid(
        member,
        intent_id=intent_id,
        amount_cents=amount,
        attempt_ref=attempt_ref,
        now=received.now,
    )


def _one_off_paid(
    member: Member,
    *,
    intent_id: str | None,
    amount_cents: int,
    attempt_ref: str | None,
    now: datetime,
) -> WebhookOutcome:
    """Records a one-off card payment once, whichever of its events comes first
    (the caller holds the intent's lock, see `ledger.lock_stripe_objects`)."""
    if not intent_id or not attempt_ref:
        return WebhookOutcome(UNMATCHED)
    if db.session.scalar(
        sa.select(DuesPayment.id).where(
            DuesPayment.stripe_payment_intent_id == intent_id
        )
    ):
        return WebhookOutcome(PROCESSED)
    attempt = db.session.scalar(
        sa.select(CheckoutAttempt).where(
            CheckoutAttempt.public_id == attempt_ref,
            CheckoutAttempt.member_id == member.id,
        )
    )
    if attempt is None:
        return WebhookOutcome(UNMATCHED)
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
    return WebhookOutcome(PROCESSED)


def on_charge_refunded(charge: EventFields, received: Received) -> WebhookOutcome:
    """A refund made in Stripe: a full refund uncovers the payment's months, a
    partial one is noted. `amount_refunded` is the charge's running total, so a
    refund event delivered after a newer one changes nothing."""
    return _adjustment(
        AdjustmentKind.REFUND,
        charge.required_id("id"),
        amount_cents=charge.required_count("amount_refunded"),
        reinstated=False,
        intent_id=charge.stripe_id("payment_intent"),
        invoice_id=charge.stripe_id("invoice"),
        received=received,
    )


def _dispute_funds(event_type: str, status: str) -> str | None:
    """What a dispute event says happened to the money: "withdrawn" (the bank took
    it back), "reinstated" (the union won and Stripe returned it), or None."""
    if event_type == "charge.dispute.funds_withdrawn":
        return "withdrawn"
    if event_type == "charge.dispute.funds_reinstated":
        return "reinstated"
    if event_type == "charge.dispute.created":
        # An inquiry (warning_*) moves no money unless it becomes a dispute, and
        # funds_withdrawn follows then.
        return None if status.startswith("warning_") else "withdrawn"
    # Closed: won, the money came back; lost, it stays with the cardholder.
    return {"won": "reinstated", "lost": "withdrawn"}.get(status)


def on_dispute(dispute: EventFields, received: Received) -> WebhookOutcome:
    """A card dispute: while the bank holds the disputed money, it counts against
    the payment as a refund would (the whole amount disputed: the months are owed
    again); once Stripe reinstates it, the payment covers its months again."""
    dispute_id = dispute.required_id("id")
    amount = dispute.required_count("amount")
    intent_id = dispute.stripe_id("payment_intent")
    funds = _dispute_funds(received.event_type, dispute.text("status") or "")
    if funds is None:
        return WebhookOutcome(IGNORED)
    return _adjustment(
        AdjustmentKind.DISPUTE,
        dispute_id,
        amount_cents=amount,
        reinstated=funds == "reinstated",
        intent_id=intent_id,
        invoice_id=None,
        received=received,
    )


def _adjustment(
    kind: AdjustmentKind,
    stripe_id: str,
    *,
    amount_cents: int,
    reinstated: bool,
    intent_id: str | None,
    invoice_id: str | None,
    received: Received,
) -> WebhookOutcome:
    """Keeps a refund or dispute, and applies it to its payment if that is in the
    ledger; if not, `ledger.record_payment` applies it when the payment arrives."""
    if not intent_id and not invoice_id:
        return WebhookOutcome(UNMATCHED)
    ledger.lock_stripe_objects(stripe_id, intent_id, invoice_id)
    row = db.session.scalar(
        sa.select(StripeAdjustment).where(
            StripeAdjustment.kind == kind, StripeAdjustment.stripe_id == stripe_id
        )
    )
    if row is None:
        row = StripeAdjustment(
            kind=kind,
            stripe_id=stripe_id,
            amount_cents=0,
            reinstated=False,
            received_at=received.now,
        )
        db.session.add(row)
    row.payment_intent_id = row.payment_intent_id or intent_id
    row.invoice_id = row.invoice_id or invoice_id
    row.event_id = received.event_id
    if kind is AdjustmentKind.REFUND:
        row.amount_cents = max(row.amount_cents, amount_cents)
    else:
        row.amount_cents = amount_cents
        # A won dispute is over: a withdrawal delivered after it is an older event.
        row.reinstated = row.reinstated or reinstated
    db.session.flush()
    payment = (
        db.session.get(DuesPayment, row.payment_id)
        if row.payment_id is not None
        else _payment_named(row.payment_intent_id, row.invoice_id)
    )
    if payment is None:
        return WebhookOutcome(PENDING)
    row.payment_id = payment.id
    db.session.flush()
    ledger.apply_adjustments(payment, now=received.now)
    return WebhookOutcome(PROCESSED)


def _payment_named(intent_id: str | None, invoice_id: str | None) -> DuesPayment | None:
    names = []
    if intent_id:
        names.append(DuesPayment.stripe_payment_intent_id == intent_id)
    if invoice_id:
        names.append(DuesPayment.stripe_invoice_id == invoice_id)
    if not names:
        return None
    return db.session.scalar(sa.select(DuesPayment).where(sa.or_(*names)).limit(1))


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": on_checkout_completed,
    "invoice.paid": on_invoice_paid,
    "invoice.payment_succeeded": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
    "customer.subscription.updated": on_subscription_changed,
    "customer.subscription.deleted": on_subscription_changed,
    "payment_intent.succeeded": on_payment_intent_succeeded,
    "charge.refunded": on_charge_refunded,
    "charge.dispute.created": on_dispute,
    "charge.dispute.funds_withdrawn": on_dispute,
    "charge.dispute.funds_reinstated": on_dispute,
    "charge.dispute.closed": on_dispute,
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
    the ledger, and reports refunds and disputes still waiting for their payment
    after a day. With `repair`, missing payments are recorded (exactly as their
    webhook would have, waiting refunds and disputes applied) and subscription
    states corrected; a refund or dispute whose payment Stripe never paid us is
    for a person to look into."""
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
        fields = EventFields(invoice, "invoice")
        try:
            invoice_id = fields.required_id("id")
            amount_paid = fields.count("amount_paid")
            customer_id = fields.stripe_id("customer")
            reference = _invoice_subscription(fields)[1]
        except MalformedEvent as error:
            drifts.append(Drift("unreadable", str(error), False))
            continue
        if invoice_id in known or not amount_paid:
            continue
        member = _member(customer_id, reference)
        if member is None:
            continue
        received = Received("reconcile", "invoice.paid", now, now)
        repaired = (
            repair and _run(on_invoice_paid, fields, received).outcome == PROCESSED
        )
        drifts.append(
            Drift(
                "missing_payment",
                f"invoice {invoice_id} member {member.public_id}",
                repaired,
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
            fields = EventFields(subscription, "subscription")
            try:
                subscription_id = fields.required_id("id")
                status = fields.text("status", max_length=32)
            except MalformedEvent as error:
                drifts.append(Drift("unreadable", str(error), False))
                continue
            row = rows.get(subscription_id)
            if row is not None and row.status == status:
                continue
            was = row.status if row is not None else "missing"
            received = Received("reconcile", "customer.subscription.updated", now, now)
            repaired = (
                repair
                and _run(on_subscription_changed, fields, received).outcome == PROCESSED
            )
            drifts.append(
                Drift(
                    "subscription_status",
                    f"{subscription_id} member {member.public_id}: "
                    f"ours {was}, Stripe {status}",
                    repaired,
                )
            )
    drifts.extend(_still_waiting(now))
    repaired_count = sum(drift.repaired for drift in drifts)
    if repaired_count:
        audit.record(
            "dues.reconciled", actor=None, now=now, detail=f"repaired={repaired_count}"
        )
    db.session.flush()
    return drifts


def _still_waiting(now: datetime) -> list[Drift]:
    """Refunds and disputes whose payment is not in the ledger a day on: Stripe took
    money back from a payment we never recorded, or recorded under other ids."""
    waiting = db.session.scalars(
        sa.select(StripeAdjustment)
        .where(
            StripeAdjustment.payment_id.is_(None),
            StripeAdjustment.received_at < now - WAITING_REPORTED_AFTER,
        )
        .order_by(StripeAdjustment.received_at, StripeAdjustment.id)
    )
    return [
        Drift(
            f"unmatched_{row.kind.value}",
            f"{row.kind.value} {row.stripe_id} for "
            f"{row.payment_intent_id or row.invoice_id}, "
            f"waiting since {row.received_at:%Y-%m-%d}",
            False,
        )
        for row in waiting
    ]
