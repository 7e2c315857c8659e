"""A signed webhook with a malformed field is answered 400, recorded as refused and
changes nothing; never 500, which Stripe would retry for days.

For each event type the app handles, a valid event is made from real localstripe
objects. The fields its handler reads are found by handling it once with every
read watched; then each of those fields in turn is given values of the wrong type
(and removed), and every variant is signed and delivered on its own.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
import sqlalchemy as sa

from tests.stripe.conftest import deliver, event, signed
from tests.stripe.flows import (
    charge_of,
    complete_checkout,
    dispute,
    pay_one_off,
    refund,
)
from union.db import Base, db
from union.models import StripeEvent
from union.services import card_dues

Path = tuple[str | int, ...]


class Watched(dict[str, Any]):
    """A JSON object that notes the path of every key read from it."""

    def __init__(self, data: dict[str, Any], path: Path, reads: list[Path]) -> None:
        super().__init__(
            (key, watched(value, (*path, key), reads)) for key, value in data.items()
        )
        self._path, self._reads = path, reads

    def _note(self, key: Any) -> None:
        found = (*self._path, key)
        if found not in self._reads:
            self._reads.append(found)

    def get(self, key: Any, default: Any = None) -> Any:
        self._note(key)
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key: Any) -> bool:
        self._note(key)
        return super().__contains__(key)


def watched(value: Any, path: Path, reads: list[Path]) -> Any:
    if isinstance(value, dict):
        return Watched(value, path, reads)
    if isinstance(value, list):
        return [watched(item, (*path, i), reads) for i, item in enumerate(value)]
    return value


def fields_read(valid: dict[str, Any], now) -> list[Path]:
    """Every path the app reads while handling the valid event (rolled back)."""
    reads: list[Path] = []
    savepoint = db.session.begin_nested()
    try:
        outcome = card_dues.handle_event(watched(valid, (), reads), now=now)
    finally:
        savepoint.rollback()
    assert outcome.outcome == "processed", outcome
    return reads


MISSING = object()


def value_at(data: Any, path: Path) -> Any:
    for key in path:
        if isinstance(data, dict):
            if key not in data:
                return MISSING
            data = dict.__getitem__(data, key)
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return MISSING
    return data


def with_value(valid: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """A copy of the event with the field at `path` set (or removed: MISSING), under
    a fresh event id so that it is not taken for a redelivery."""
    broken = copy.deepcopy(valid)
    if path != ("id",):
        broken["id"] = f"evt_test_broken_{time.monotonic_ns()}"
    parent: Any = broken
    for key in path[:-1]:
        parent = parent[key]
    if value is MISSING:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value
    return broken


def wrong_values(value: Any) -> list[Any]:
    """Values of another type than the field's own."""
    if value is MISSING or value is None:
        # The type the field should have is not known from here; a list is wrong
        # for every field the handlers read that is not absent in a valid event.
        return [["x"]]
    if isinstance(value, bool):
        return ["true", 1]
    if isinstance(value, int):
        return [str(value), value + 0.5, True, 10**20]
    if isinstance(value, str):
        return [7, True, ["x"]]
    if isinstance(value, dict):
        return [["x"], 5, True]
    if isinstance(value, list):
        return [{"x": 1}, "x", 5]
    return [["x"]]


def connection() -> sa.Connection:
    bind = db.session.get_bind()
    assert isinstance(bind, sa.Connection)
    return bind


def state() -> dict[str, list[tuple[str, ...]]]:
    """Every table but the event ids, which a refused event adds to on purpose."""
    return {
        table.name: sorted(
            tuple(map(repr, row)) for row in connection().execute(sa.select(table))
        )
        for table in Base.metadata.sorted_tables
        if table.name != StripeEvent.__tablename__
    }


def attempt_delivery(client, broken: dict[str, Any], expect_refused: bool):
    """Delivers one variant in a savepoint rolled back afterwards, so each starts
    from the same ledger. Returns what went wrong, or None."""
    savepoint = connection().begin_nested()
    try:
        before = state()
        response = deliver(client, signed(broken))
        db.session.expire_all()
        if response.status_code == 500:
            return "answered 500"
        if expect_refused and response.status_code != 400:
            return f"answered {response.status_code} {response.get_json()}"
        if response.status_code != 400:
            return None
        if state() != before:
            return "refused, yet changed the ledger"
        if isinstance(broken.get("id"), str):
            recorded = db.session.scalar(
                sa.select(StripeEvent.outcome).where(StripeEvent.id == broken["id"])
            )
            if recorded != "refused":
                return f"recorded as {recorded}"
        return None
    finally:
        savepoint.rollback()
        db.session.expire_all()


# The valid events, one per handled type, each with the ledger as it stands when
# the event would change it.


def invoice_paid(client, stripe_client, catalog, member, inbox, event_type):
    client.sign_in(member.user.email)
    client.submit("/dues/card/subscribe", page="/dues")
    db.session.expire_all()
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    paid = inbox.wait_for("invoice.payment_succeeded", subscription=subscription.id)
    return {**paid.event, "type": event_type, "id": f"evt_test_{event_type}"}


def invoice_failed(client, stripe_client, catalog, member, inbox, event_type):
    client.sign_in(member.user.email)
    client.submit("/dues/card/subscribe", page="/dues")
    db.session.expire_all()
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    deliver(
        client,
        inbox.wait_for("invoice.payment_succeeded", subscription=subscription.id),
    )
    bad_card = stripe_client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": member.stripe_customer_id}
    )
    stripe_client.v1.customers.update(
        member.stripe_customer_id,
        params={"invoice_settings": {"default_payment_method": bad_card.id}},
    )
    renewal = stripe_client.v1.invoices.create(
        params={"customer": member.stripe_customer_id, "subscription": subscription.id}
    )
    with pytest.raises(Exception, match=r"declined"):
        stripe_client.v1.invoices.pay(renewal.id)
    failed = inbox.wait_for("invoice.payment_failed", id=renewal.id).event
    # Stripe says when it will retry; localstripe does not retry.
    failed["data"]["object"]["next_payment_attempt"] = int(time.time()) + 86400
    return failed


def subscription_changed(client, stripe_client, catalog, member, inbox, event_type):
    client.sign_in(member.user.email)
    client.submit("/dues/card/subscribe", page="/dues")
    db.session.expire_all()
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    if event_type == "customer.subscription.deleted":
        stripe_client.v1.subscriptions.cancel(subscription.id)
        return inbox.wait_for(event_type, id=subscription.id).event
    current = stripe_client.v1.subscriptions.retrieve(subscription.id).to_dict()
    return event(event_type, {**current, "cancel_at_period_end": True})


def checkout_completed(client, stripe_client, catalog, member, inbox, event_type):
    intent, _paid = pay_one_off(client, stripe_client, member, inbox, 2)
    attempt_ref = intent.metadata["attempt"]
    session_id = db.session.scalar(
        sa.text("SELECT stripe_session_id FROM checkout_attempts WHERE public_id = :a"),
        {"a": attempt_ref},
    )
    session = stripe_client.v1.checkout.sessions.retrieve(session_id).to_dict()
    completed = {
        **session,
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": intent.id,
        "amount_total": intent.amount,
    }
    return event(event_type, completed)


def intent_succeeded(client, stripe_client, catalog, member, inbox, event_type):
    _intent, paid = pay_one_off(client, stripe_client, member, inbox, 2)
    return paid.event


def charge_refunded(client, stripe_client, catalog, member, inbox, event_type):
    intent, paid = pay_one_off(client, stripe_client, member, inbox, 2)
    deliver(client, paid)
    return refund(stripe_client, intent.id, 1000).event


def dispute_event(client, stripe_client, catalog, member, inbox, event_type):
    intent, paid = pay_one_off(client, stripe_client, member, inbox, 2)
    deliver(client, paid)
    assert charge_of(stripe_client, intent.id)["payment_intent"] == intent.id
    status = "won" if event_type == "charge.dispute.closed" else "needs_response"
    if event_type != "charge.dispute.created":
        deliver(client, dispute(stripe_client, intent.id))
    return dispute(stripe_client, intent.id, event_type, status=status).event


VALID = {
    "invoice.paid": invoice_paid,
    "invoice.payment_succeeded": invoice_paid,
    "invoice.payment_failed": invoice_failed,
    "customer.subscription.updated": subscription_changed,
    "customer.subscription.deleted": subscription_changed,
    "checkout.session.completed": checkout_completed,
    "payment_intent.succeeded": intent_succeeded,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": dispute_event,
    "charge.dispute.funds_withdrawn": dispute_event,
    "charge.dispute.funds_reinstated": dispute_event,
    "charge.dispute.closed": dispute_event,
}

#: Fields without which an event cannot be acted on: removing one is refused too.
REQUIRED: dict[str, list[Path]] = {
    "invoice.paid": [("data", "object", "id")],
    "invoice.payment_succeeded": [("data", "object", "id")],
    "invoice.payment_failed": [("data", "object", "id")],
    "customer.subscription.updated": [("data", "object", "id")],
    "customer.subscription.deleted": [("data", "object", "id")],
    "payment_intent.succeeded": [("data", "object", "id")],
    "charge.refunded": [
        ("data", "object", "id"),
        ("data", "object", "amount_refunded"),
    ],
    **{
        event_type: [("data", "object", "id"), ("data", "object", "amount")]
        for event_type in VALID
        if event_type.startswith("charge.dispute.")
    },
}


def test_every_handled_type_has_a_valid_event_here():
    assert set(VALID) == set(card_dues.HANDLERS)


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_each_field_a_handler_reads_is_refused_with_400_when_malformed(
    client, gateway, stripe_client, catalog, member, webhook_inbox, now, event_type
):
    valid = VALID[event_type](
        client, stripe_client, catalog, member, webhook_inbox, event_type
    )
    assert valid["type"] == event_type
    reads = fields_read(valid, now)
    assert {("id",), ("type",), ("created",), ("data",), ("data", "object")} <= set(
        reads
    )
    required = {("type",), ("created",), ("data",), ("data", "object")} | set(
        REQUIRED.get(event_type, [])
    )
    failures = []
    tried = 0
    for path in reads:
        value = value_at(valid, path)
        if value is MISSING and value_at(valid, path[:-1]) is MISSING:
            continue
        for wrong in wrong_values(value):
            tried += 1
            problem = attempt_delivery(client, with_value(valid, path, wrong), True)
            if problem:
                failures.append(f"{'.'.join(map(str, path))} = {wrong!r}: {problem}")
        if value is not MISSING and value is not None and path != ("id",):
            tried += 1
            problem = attempt_delivery(
                client, with_value(valid, path, MISSING), path in required
            )
            if problem:
                failures.append(f"{'.'.join(map(str, path))} removed: {problem}")
    assert not failures, "\n".join(failures)
    assert tried > len(reads)
    # The untouched event is accepted, so the refusals above were about the fields.
    again = {**valid, "id": f"evt_test_valid_{time.monotonic_ns()}"}
    response = deliver(client, signed(again))
    assert (response.status_code, response.json["outcome"]) == (200, "processed")


def test_a_signed_event_whose_created_is_not_a_number_is_refused_and_recorded(
    client, gateway
):
    bad = event("customer.subscription.deleted", {"id": "sub_x", "customer": "cus_x"})
    bad["created"] = "yesterday"
    response = deliver(client, signed(bad))
    assert (response.status_code, response.json["outcome"]) == (400, "refused")
    db.session.expire_all()
    row = db.session.get(StripeEvent, bad["id"])
    assert (row.type, row.outcome) == ("customer.subscription.deleted", "refused")
    # Stripe retries what it was not answered 2xx: the same bytes, the same answer.
    assert deliver(client, signed(bad)).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StripeEvent)) == 1
