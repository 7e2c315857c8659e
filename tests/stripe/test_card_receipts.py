"""A card payment that reaches the ledger through Stripe's webhook sends the member
one receipt, however many of its events arrive."""

from __future__ import annotations

from tests.stripe.conftest import deliver, event, signed
from tests.stripe.flows import complete_checkout, start_subscription


def test_a_paid_invoice_sends_one_receipt_whichever_events_arrive(
    client, gateway, stripe_client, catalog, member, webhook_inbox, outbox
):
    start_subscription(client, member)
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    succeeded = webhook_inbox.wait_for(
        "invoice.payment_succeeded", subscription=subscription.id
    )
    outbox.clear()
    as_paid = signed(event("invoice.paid", succeeded.event["data"]["object"]))

    assert deliver(client, as_paid).json["outcome"] == "processed"
    assert deliver(client, succeeded).json["outcome"] == "processed"
    assert deliver(client, succeeded).json["outcome"] == "duplicate"

    [receipt] = outbox
    assert receipt.to == member.user.email
    assert receipt.subject == "Receipt for your union dues"
    assert "Your dues payment of $22.00 (Card, monthly," in receipt.body
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count("Your dues payment of $22.00") == 1
