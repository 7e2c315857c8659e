"""Card dues against localstripe: setup, Checkout, webhooks, failures, refunds,
reconciliation. Checkout and the Portal are Stripe-hosted pages, so what the
member does there is done here with the Stripe API, as Stripe itself would."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from tests.stripe.conftest import WEBHOOK_SECRET, deliver, event, signed
from tests.stripe.flows import (
    complete_checkout,
    count,
    one_off_intent,
    start_subscription,
)
from union.db import db
from union.models import (
    CheckoutAttempt,
    DuesPayment,
    DuesRate,
    DuesSubscription,
    PaymentMethod,
    Role,
    StripeEvent,
)
from union.services import card_dues, dues, ledger, settings


def test_setup_creates_the_product_and_a_price_per_level_and_is_safe_to_repeat(
    gateway, stripe_client, make
):
    first = card_dues.setup_catalog(gateway, now=make.now)
    prices = {
        level.code: level.rate_on(make.now.date()).stripe_price_id
        for level in dues.all_levels()
    }
    assert set(prices) == {"sub_minimum", "minimum", "regular", "high"}
    assert all(prices.values())
    found = stripe_client.v1.prices.list(params={"lookup_keys": ["dues_regular"]})
    assert [(p.id, p.unit_amount, p.currency) for p in found.data] == [
        (prices["regular"], 2200, "cad")
    ]
    again = card_dues.setup_catalog(gateway, now=make.now)
    assert again == first
    assert len(stripe_client.v1.prices.list(params={"limit": 100}).data) == 4


def test_a_new_amount_gets_its_own_price_and_takes_the_lookup_key_when_it_starts(
    gateway, stripe_client, make
):
    card_dues.setup_catalog(gateway, now=make.now)
    minimum = dues.level_by_code("minimum")
    dues.schedule_rate(
        minimum,
        monthly_cents=1200,
        effective_on=date(2026, 12, 1),
        actor=make.user(),
        now=make.now,
    )
    card_dues.setup_catalog(gateway, now=make.now)
    dated = stripe_client.v1.prices.list(
        params={"lookup_keys": ["dues_minimum_2026_12"]}
    ).data
    assert [p.unit_amount for p in dated] == [1200]
    december = datetime(2026, 12, 2, 12, tzinfo=UTC)
    card_dues.setup_catalog(gateway, now=december)
    current = stripe_client.v1.prices.list(
        params={"lookup_keys": ["dues_minimum"]}
    ).data
    assert [p.unit_amount for p in current] == [1200]


def test_checkout_asks_for_the_level_price_and_the_initiation_fee_and_shares_no_personal_data(
    client, gateway, stripe_client, catalog, member
):
    url, attempt = start_subscription(client, member)
    assert url.startswith("https://checkout.localstripe.test/")
    session = stripe_client.v1.checkout.sessions.retrieve(
        attempt.stripe_session_id
    ).to_dict()
    assert session["mode"] == "subscription"
    # Form-encoded parameters come back from the peer as strings.
    assert session["line_items"][0] == {"price": catalog["minimum"], "quantity": "1"}
    assert session["line_items"][1]["price_data"]["unit_amount"] == "1100"
    assert session["subscription_data"] == {"metadata": {"member": member.public_id}}
    customer = stripe_client.v1.customers.retrieve(member.stripe_customer_id).to_dict()
    assert customer["metadata"] == {"member": member.public_id}
    for text in (str(session), str(customer["metadata"])):
        assert "Robin" not in text and "minimum" not in text.lower().replace(
            catalog["minimum"].lower(), ""
        )


def test_a_paid_first_invoice_covers_a_month_and_the_initiation_once_only(
    client, gateway, stripe_client, catalog, member, webhook_inbox, make
):
    start_subscription(client, member)
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    paid = webhook_inbox.wait_for(
        "invoice.payment_succeeded", subscription=subscription.id
    )
    response = deliver(client, paid)
    assert (response.status_code, response.json["outcome"]) == (200, "processed")
    db.session.expire_all()
    [payment] = db.session.scalars(sa.select(DuesPayment)).all()
    assert (
        payment.method,
        payment.amount_cents,
        payment.initiation_cents,
        payment.months,
    ) == (
        PaymentMethod.CARD_SUBSCRIPTION,
        2200,
        1100,
        1,
    )
    standing = dues.member_standing(member, now=make.now)
    assert standing.in_good_standing and standing.arrears == 0
    again = deliver(client, paid)
    assert (again.status_code, again.json["outcome"]) == (200, "duplicate")
    assert count(DuesPayment) == 1
    page = client.get("/dues").get_data(as_text=True)
    assert "You are in good standing." in page


def test_invoice_paid_and_payment_succeeded_for_one_invoice_count_once(
    client, gateway, stripe_client, catalog, member, webhook_inbox
):
    start_subscription(client, member)
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    succeeded = webhook_inbox.wait_for(
        "invoice.payment_succeeded", subscription=subscription.id
    )
    as_paid = signed(event("invoice.paid", succeeded.event["data"]["object"]))
    assert deliver(client, as_paid).json["outcome"] == "processed"
    assert deliver(client, succeeded).json["outcome"] == "processed"
    assert count(DuesPayment) == 1


def test_the_success_page_says_processing_until_the_webhook_arrives(
    client, gateway, stripe_client, catalog, member, webhook_inbox
):
    _url, attempt = start_subscription(client, member)
    done_url = f"/dues/card/done?session_id={attempt.stripe_session_id}"
    waiting = client.get(done_url).get_data(as_text=True)
    assert "Processing your payment" in waiting and 'http-equiv="refresh"' in waiting
    assert count(DuesPayment) == 0
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    deliver(
        client,
        webhook_inbox.wait_for(
            "invoice.payment_succeeded", subscription=subscription.id
        ),
    )
    assert "your payment is in" in client.get(done_url).get_data(as_text=True)
    assert client.get("/dues/card/done?session_id=cs_not_mine").status_code == 302


def test_checkout_completed_arriving_after_the_invoice_converges(
    client, gateway, stripe_client, catalog, member, webhook_inbox
):
    start_subscription(client, member)
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    deliver(
        client,
        webhook_inbox.wait_for(
            "invoice.payment_succeeded", subscription=subscription.id
        ),
    )
    completed = event(
        "checkout.session.completed",
        {
            "id": "cs_test_done",
            "object": "checkout.session",
            "mode": "subscription",
            "customer": member.stripe_customer_id,
            "subscription": subscription.id,
            "client_reference_id": member.public_id,
            "payment_status": "paid",
        },
        created=int(time.time()) - 60,
    )
    assert deliver(client, signed(completed)).json["outcome"] == "processed"
    db.session.expire_all()
    row = db.session.scalar(sa.select(DuesSubscription))
    assert (row.stripe_subscription_id, row.status) == (subscription.id, "active")
    assert count(DuesPayment) == 1


def test_a_failed_renewal_keeps_good_standing_while_stripe_retries_and_tells_the_member_once(
    client, gateway, stripe_client, catalog, member, webhook_inbox, outbox, make
):
    settings.update_settings(
        {"good_standing_max_arrears": 0},
        actor=make.user(roles=(Role.ADMIN,)),
        now=make.now,
    )
    start_subscription(client, member)
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    deliver(
        client,
        webhook_inbox.wait_for(
            "invoice.payment_succeeded", subscription=subscription.id
        ),
    )
    # Next month's renewal, with a card that is now declined.
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
    assert stripe_client.v1.subscriptions.retrieve(subscription.id).status == "past_due"
    failed = webhook_inbox.wait_for("invoice.payment_failed", id=renewal.id)
    outbox.clear()
    assert deliver(client, failed).json["outcome"] == "processed"
    db.session.expire_all()
    assert db.session.scalar(sa.select(DuesSubscription.status)) == "past_due"
    next_month = (
        datetime(2026, 12, 10, tzinfo=UTC)
        if make.now < datetime(2026, 12, 1, tzinfo=UTC)
        else make.now
    )
    standing = dues.member_standing(member, now=next_month)
    assert (standing.arrears, standing.card_retrying, standing.in_good_standing) == (
        1,
        True,
        True,
    )
    assert [m.subject for m in outbox] == ["Your card payment didn't go through"]
    assert "stay in good standing" in outbox[0].body
    again = signed(event("invoice.payment_failed", failed.event["data"]["object"]))
    deliver(client, again)
    assert len(outbox) == 1


def test_a_one_off_payment_covers_the_months_asked_for_and_a_refund_uncovers_them(
    client, gateway, stripe_client, catalog, member, webhook_inbox, make
):
    member.joined_on = date(2026, 9, 1)
    make.payment(member, 1, initiation_cents=1100, amount_cents=2200)
    client.sign_in(member.user.email)
    response = client.submit(
        "/dues/card/pay", {"months": "3", "amount": "1"}, page="/dues"
    )
    assert response.status_code == 303
    db.session.expire_all()
    attempt = db.session.scalar(sa.select(CheckoutAttempt))
    assert (attempt.months, attempt.amount_cents, attempt.initiation_cents) == (
        3,
        3300,
        0,
    )
    session = stripe_client.v1.checkout.sessions.retrieve(
        attempt.stripe_session_id
    ).to_dict()
    assert session["line_items"][0]["price_data"]["unit_amount"] == "3300"
    assert session["metadata"] == {
        "member": member.public_id,
        "attempt": attempt.public_id,
    }
    intent = one_off_intent(stripe_client, member, attempt, 3300)
    deliver(client, webhook_inbox.wait_for("payment_intent.succeeded", id=intent.id))
    db.session.expire_all()
    payment = db.session.scalar(
        sa.select(DuesPayment).where(DuesPayment.method == PaymentMethod.CARD_ONE_OFF)
    )
    assert [c.month for c in payment.coverage] == [
        date(2026, 10, 1),
        date(2026, 11, 1),
        date(2026, 12, 1),
    ]
    stripe_client.v1.refunds.create(params={"payment_intent": intent.id})
    charge = stripe_client.v1.payment_intents.retrieve(intent.id).to_dict()[
        "latest_charge"
    ]
    charge = (
        charge
        if isinstance(charge, dict)
        else stripe_client.v1.charges.retrieve(charge).to_dict()
    )
    refunded = signed(
        event("charge.refunded", {**charge, "amount_refunded": 3300, "refunded": True})
    )
    assert deliver(client, refunded).json["outcome"] == "processed"
    db.session.expire_all()
    assert payment.is_refunded and payment.coverage == []
    assert dues.member_standing(member, now=make.now).arrears == 2


def test_a_tampered_months_count_is_refused_before_stripe_is_called(
    client, gateway, stripe_client, catalog, member
):
    client.sign_in(member.user.email)
    response = client.submit("/dues/card/pay", {"months": "99"}, page="/dues")
    assert response.status_code == 400
    assert count(CheckoutAttempt) == 0
    assert member.stripe_customer_id is None


def test_the_idempotency_keys_come_from_our_own_records(
    client, gateway, catalog, member, monkeypatch
):
    keys = []
    real_call = gateway._call

    def spy(method, *args, idempotency_key=None):
        keys.append(idempotency_key)
        return real_call(method, *args, idempotency_key=idempotency_key)

    monkeypatch.setattr(gateway, "_call", spy)
    _url, attempt = start_subscription(client, member)
    assert f"customer-{member.public_id}" in keys
    assert f"checkout-{attempt.public_id}" in keys


def test_changing_level_moves_the_card_subscription_to_the_new_price(
    client, gateway, stripe_client, catalog, member, webhook_inbox
):
    start_subscription(client, member)
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    deliver(
        client,
        webhook_inbox.wait_for(
            "invoice.payment_succeeded", subscription=subscription.id
        ),
    )
    regular = dues.level_by_code("regular")
    response = client.submit(
        "/dues/level", {"dues_level": str(regular.id)}, page="/dues"
    )
    assert response.status_code == 302
    items = stripe_client.v1.subscriptions.retrieve(subscription.id).to_dict()["items"][
        "data"
    ]
    assert items[0]["plan"]["id"] == catalog["regular"]


def test_the_portal_link_goes_to_stripe(client, gateway, catalog, member):
    start_subscription(client, member)
    response = client.submit("/dues/card/manage", page="/dues")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://billing.localstripe.test/")


def test_subscription_events_apply_newest_first_whatever_order_they_arrive_in(
    client, gateway, member, make
):
    member.stripe_customer_id = "cus_test_order"
    db.session.flush()
    now = int(time.time())
    base = {
        "id": "sub_test_order",
        "object": "subscription",
        "customer": "cus_test_order",
        "items": {"data": []},
    }
    deleted = event(
        "customer.subscription.deleted", {**base, "status": "canceled"}, created=now
    )
    updated = event(
        "customer.subscription.updated",
        {**base, "status": "active", "cancel_at_period_end": True},
        created=now - 30,
    )
    assert deliver(client, signed(deleted)).status_code == 200
    assert deliver(client, signed(updated)).status_code == 200
    db.session.expire_all()
    assert db.session.scalar(sa.select(DuesSubscription.status)) == "canceled"


@pytest.mark.parametrize(
    "tamper",
    [
        "missing header",
        "wrong secret",
        "tampered body",
        "stale timestamp",
        "wrong scheme",
        "not json",
    ],
)
def test_a_bad_signature_answers_400_and_changes_nothing(
    client, gateway, member, tamper
):
    good = event(
        "customer.subscription.deleted",
        {"id": "sub_x", "customer": "cus_x", "status": "canceled"},
    )
    delivery = signed(good)
    body, header = delivery.body, delivery.signature
    if tamper == "missing header":
        header = ""
    elif tamper == "wrong secret":
        header = signed(good, secret="whsec_someone_else").signature
    elif tamper == "tampered body":
        body = body.replace(b"canceled", b"active__")
    elif tamper == "stale timestamp":
        header = signed(good, timestamp=int(time.time()) - 301).signature
    elif tamper == "wrong scheme":
        header = header.replace("v1=", "v0=")
    elif tamper == "not json":
        delivery = signed(good)
        body = b"not json at all"
        import stripe

        header = stripe.WebhookSignature.generate_signature_header(
            body.decode(), WEBHOOK_SECRET
        )
    response = client.post(
        "/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert count(StripeEvent) == 0


def test_a_rotated_secret_still_verifies_with_one_good_signature(client, gateway):
    delivery = signed(event("customer.created", {"id": "cus_r"}))
    old = signed(
        event("customer.created", {"id": "cus_r"}), secret="whsec_old"
    ).signature.split(",")[1]
    response = client.post(
        "/stripe/webhook",
        data=delivery.body,
        headers={
            "Stripe-Signature": f"{delivery.signature},{old}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200


def test_unknown_event_types_are_stored_and_ignored(client, gateway):
    response = deliver(client, signed(event("product.updated", {"id": "prod_x"})))
    assert (response.status_code, response.json["outcome"]) == (200, "ignored")
    assert db.session.scalar(sa.select(StripeEvent.outcome)) == "ignored"


def test_an_internal_error_answers_500_keeps_nothing_and_the_retry_succeeds(
    client, gateway, stripe_client, catalog, member, webhook_inbox, monkeypatch
):
    start_subscription(client, member)
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    paid = webhook_inbox.wait_for(
        "invoice.payment_succeeded", subscription=subscription.id
    )

    def broken(*args, **kwargs):
        raise RuntimeError("database fell over")

    with monkeypatch.context() as patched:
        patched.setattr(ledger, "record_payment", broken)
        assert deliver(client, paid).status_code == 500
    assert (count(StripeEvent), count(DuesPayment)) == (0, 0)
    assert deliver(client, paid).json["outcome"] == "processed"
    assert count(DuesPayment) == 1


def test_the_success_redirect_alone_never_marks_anything_paid(
    client, gateway, catalog, member, make
):
    _url, attempt = start_subscription(client, member)
    for _ in range(3):
        client.get(f"/dues/card/done?session_id={attempt.stripe_session_id}")
    assert count(DuesPayment) == 0
    assert dues.member_standing(member, now=make.now).arrears == 1


def test_reconciliation_finds_and_repairs_a_missed_payment_and_a_stale_subscription(
    client, gateway, stripe_client, catalog, member, webhook_inbox, make
):
    start_subscription(client, member)
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    webhook_inbox.wait_for("invoice.payment_succeeded", subscription=subscription.id)
    db.session.add(
        DuesSubscription(
            member_id=member.id,
            stripe_subscription_id=subscription.id,
            status="past_due",
            last_event_created=datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    db.session.flush()
    now = make.now
    found = card_dues.reconcile(gateway, now=now, repair=False)
    assert sorted(d.kind for d in found) == ["missing_payment", "subscription_status"]
    assert count(DuesPayment) == 0
    repaired = card_dues.reconcile(gateway, now=now, repair=True)
    assert all(d.repaired for d in repaired)
    assert count(DuesPayment, DuesPayment.stripe_invoice_id.is_not(None)) == 1
    assert db.session.scalar(sa.select(DuesSubscription.status)) == "active"
    assert card_dues.reconcile(gateway, now=now, repair=False) == []


def test_reconcile_command_reports_drift_and_exits_non_zero(
    app, gateway, stripe_client, catalog, member, webhook_inbox, client
):
    start_subscription(client, member)
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    webhook_inbox.wait_for("invoice.payment_succeeded", subscription=subscription.id)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["union", "reconcile-stripe"])
    assert result.exit_code == 2
    assert "missing_payment" in result.output
    assert "Robin" not in result.output
    repaired = runner.invoke(args=["union", "reconcile-stripe", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert "repaired: missing_payment" in repaired.output
    assert "1 differences repaired." in repaired.output
    clean = runner.invoke(args=["union", "reconcile-stripe"])
    assert (clean.exit_code, clean.output.strip()) == (0, "0 differences found.")


def test_stripe_setup_command(app, gateway, database):
    result = app.test_cli_runner().invoke(args=["union", "stripe-setup"])
    assert result.exit_code == 0, result.output
    assert "dues_minimum: 1100 cents" in result.output
    prices = db.session.scalars(sa.select(DuesRate.stripe_price_id)).all()
    assert len(prices) == 4 and all(prices)


def test_stripe_setup_without_a_key_says_so(app, database, monkeypatch):
    monkeypatch.setitem(app.extensions, "union_payments", None)
    result = app.test_cli_runner().invoke(args=["union", "stripe-setup"])
    assert result.exit_code == 1
    assert "STRIPE_SECRET_KEY" in result.output
