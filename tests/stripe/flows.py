"""What a member and Stripe do in the card-dues tests, shared by their modules.
Checkout is a Stripe-hosted page, so what the member does there is done here with
the Stripe API against localstripe, as Stripe itself would."""

from __future__ import annotations

import time

import sqlalchemy as sa

from tests.stripe.conftest import event, signed
from union.db import db
from union.models import CheckoutAttempt


def count(model, *conditions):
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(model).where(*conditions)
    )


def start_subscription(client, member):
    """The member presses "Pay by card every month" and is sent to Checkout."""
    client.sign_in(member.user.email)
    response = client.submit("/dues/card/subscribe", page="/dues")
    assert response.status_code == 303, response.get_data(as_text=True)
    db.session.expire_all()
    attempt = db.session.scalar(
        sa.select(CheckoutAttempt).where(CheckoutAttempt.member_id == member.id)
    )
    return response.headers["Location"], attempt


def complete_checkout(stripe_client, member, price_id, initiation_cents):
    """What Stripe Checkout does when the member pays: card saved, the one-time
    initiation line added to the first invoice, subscription created and paid."""
    customer = member.stripe_customer_id
    card = stripe_client.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": customer}
    )
    stripe_client.v1.customers.update(
        customer, params={"invoice_settings": {"default_payment_method": card.id}}
    )
    if initiation_cents:
        stripe_client.v1.invoice_items.create(
            params={"customer": customer, "amount": initiation_cents, "currency": "cad"}
        )
    return stripe_client.v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [{"price": price_id}],
            "metadata": {"member": member.public_id},
        }
    )


def one_off_intent(stripe_client, member, attempt, amount):
    """What Checkout's payment mode does: a confirmed PaymentIntent with our metadata."""
    card = stripe_client.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": member.stripe_customer_id}
    )
    return stripe_client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "cad",
            "customer": member.stripe_customer_id,
            "payment_method": card.id,
            "confirm": True,
            "metadata": {"member": member.public_id, "attempt": attempt.public_id},
        }
    )


def pay_one_off(client, stripe_client, member, webhook_inbox, months):
    """A one-off card payment made in localstripe; returns its intent and the
    `payment_intent.succeeded` delivery, not yet handed to the app."""
    client.sign_in(member.user.email)
    response = client.submit("/dues/card/pay", {"months": str(months)}, page="/dues")
    assert response.status_code == 303, response.get_data(as_text=True)
    db.session.expire_all()
    attempt = db.session.scalar(
        sa.select(CheckoutAttempt).order_by(CheckoutAttempt.id.desc()).limit(1)
    )
    intent = one_off_intent(stripe_client, member, attempt, attempt.amount_cents)
    return intent, webhook_inbox.wait_for("payment_intent.succeeded", id=intent.id)


def charge_of(stripe_client, intent_id):
    charge = stripe_client.v1.payment_intents.retrieve(intent_id).to_dict()[
        "latest_charge"
    ]
    if isinstance(charge, dict):
        return charge
    return stripe_client.v1.charges.retrieve(charge).to_dict()


def refund(stripe_client, intent_id, amount=None, *, created=None):
    """Refunds in localstripe, then the `charge.refunded` event Stripe sends: the
    charge, with the running total of its refunds."""
    params = {"payment_intent": intent_id}
    if amount is not None:
        params["amount"] = amount
    stripe_client.v1.refunds.create(params=params)
    charge = charge_of(stripe_client, intent_id)
    total = sum(
        r.amount
        for r in stripe_client.v1.refunds.list(
            params={"payment_intent": intent_id}
        ).data
    )
    refunded = {
        **charge,
        "amount_refunded": total,
        "refunded": total >= charge["amount"],
    }
    return signed(event("charge.refunded", refunded, created=created))


def dispute(
    stripe_client,
    intent_id,
    event_type="charge.dispute.created",
    *,
    status="needs_response",
    amount=None,
    created=None,
):
    """The dispute Stripe opens when the cardholder's bank contests the charge."""
    charge = charge_of(stripe_client, intent_id)
    disputed = {
        "id": f"dp_{charge['id'][3:]}",
        "object": "dispute",
        "amount": charge["amount"] if amount is None else amount,
        "currency": charge["currency"],
        "charge": charge["id"],
        "payment_intent": intent_id,
        "reason": "general",
        "status": status,
        "created": int(time.time()),
    }
    return signed(event(event_type, disputed, created=created))
