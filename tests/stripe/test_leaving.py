"""A member who pays by card leaves: Stripe stops charging and forgets them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import stripe

from tests.factories import PASSWORD
from tests.stripe.conftest import deliver
from tests.stripe.flows import complete_checkout, start_subscription
from union.adapters.payments import GatewayError
from union.db import db
from union.models import DuesPayment, DuesSubscription, Member
from union.services import card_dues, dues, privacy


@pytest.fixture
def catalog(gateway, make):
    card_dues.setup_catalog(gateway, now=make.now)
    db.session.flush()
    return {
        level.code: level.rate_on(make.now.date()).stripe_price_id
        for level in dues.all_levels()
    }


@pytest.fixture
def member(make):
    user = make.user("robin@example.org", name=None)
    return make.member(make.workplace(), user=user, name="Robin")


def test_leaving_cancels_the_subscription_and_deletes_the_stripe_customer(
    client,
    gateway,
    stripe_client,
    catalog,
    member,
    webhook_inbox,
    outbox,
):
    start_subscription(client, member)
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    deliver(
        client,
        webhook_inbox.wait_for(
            "invoice.payment_succeeded", subscription=subscription.id
        ),
    )
    customer_id = member.stripe_customer_id
    db.session.expire_all()
    assert db.session.scalar(sa.select(DuesSubscription.status)) == "active"
    outbox.clear()

    response = client.submit(
        "/profile/leave", {"password": PASSWORD, "understood": "y"}
    )

    assert response.status_code == 302
    assert stripe_client.v1.subscriptions.retrieve(subscription.id).status == "canceled"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.customers.retrieve(customer_id)
    db.session.expire_all()
    left = db.session.get(Member, member.id)
    assert left.stripe_customer_id is None and left.chosen_name == privacy.ERASED_NAME
    assert db.session.scalar(sa.select(DuesSubscription.status)) == "canceled"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DuesPayment)) == 1
    assert [m.to for m in outbox] == ["robin@example.org"]
    # Signed out, and signing in again is impossible.
    assert client.get("/profile").status_code == 302
    refused = client.submit(
        "/login", {"email": "robin@example.org", "password": PASSWORD}
    )
    assert "do not match an account" in refused.get_data(as_text=True)
    # Stripe's own later word on the cancelled subscription changes nothing.
    late = webhook_inbox.wait_for("customer.subscription.deleted", id=subscription.id)
    assert deliver(client, late).status_code == 200


def test_erasing_twice_at_stripe_is_harmless(gateway, stripe_client, member):
    customer = gateway.create_customer(member_ref="ref", email=None)
    gateway.delete_customer(customer)
    gateway.delete_customer(customer)
    gateway.cancel_subscription("sub_that_never_was")


def test_when_stripe_cannot_be_reached_nothing_is_erased(
    client,
    gateway,
    member,
    monkeypatch,
):
    member.stripe_customer_id = "cus_somewhere"
    db.session.flush()

    def unreachable(customer_id):
        raise GatewayError("APIConnectionError")

    monkeypatch.setattr(gateway, "delete_customer", unreachable)
    client.sign_in(member.user.email)
    response = client.submit(
        "/profile/leave", {"password": PASSWORD, "understood": "y"}
    )
    assert response.status_code == 200
    assert "nothing was erased" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Member, member.id).chosen_name == "Robin"
    assert client.get("/profile").status_code == 200
