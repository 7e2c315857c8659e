"""Refunds, disputes and payments matched whatever order Stripe delivers them in.

Stripe does not promise order: a refund or a dispute may arrive before the payment
it takes money back from. It is kept, and applied when that payment is recorded.
The payments, charges and refunds are real objects in localstripe; localstripe
sends no `charge.*` events, so those are built from its objects and signed with the
stripe library, as Stripe would send them.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import sqlalchemy as sa

from tests.stripe.conftest import deliver, event, signed
from tests.stripe.flows import (
    complete_checkout,
    count,
    dispute,
    pay_one_off,
    refund,
)
from union import clock
from union.db import db
from union.models import DuesCoverage, DuesPayment, Member
from union.services import card_dues, dues


def subscribe(client, stripe_client, catalog, member, webhook_inbox):
    """A card subscription whose first invoice is paid in localstripe; returns the
    invoice's payment intent id and its `invoice.payment_succeeded` delivery."""
    client.sign_in(member.user.email)
    assert client.submit("/dues/card/subscribe", page="/dues").status_code == 303
    db.session.expire_all()
    subscription = complete_checkout(stripe_client, member, catalog["minimum"], 1100)
    paid = webhook_inbox.wait_for(
        "invoice.payment_succeeded", subscription=subscription.id
    )
    invoice = stripe_client.v1.invoices.retrieve(paid.event["data"]["object"]["id"])
    intent = invoice.to_dict()["payment_intent"]
    return (intent["id"] if isinstance(intent, dict) else intent), paid


def the_payment(intent_id):
    db.session.expire_all()
    return db.session.scalar(
        sa.select(DuesPayment).where(DuesPayment.stripe_payment_intent_id == intent_id)
    )


def months_of(payment):
    return [row.month for row in payment.coverage]


def ledger_state():
    db.session.expire_all()
    payments = db.session.execute(
        sa.select(
            DuesPayment.id,
            DuesPayment.amount_cents,
            DuesPayment.refunded_cents,
            DuesPayment.disputed_cents,
        ).order_by(DuesPayment.id)
    ).all()
    coverage = db.session.execute(
        sa.select(DuesCoverage.month, DuesCoverage.payment_id).order_by(
            DuesCoverage.month
        )
    ).all()
    members = db.session.execute(
        sa.select(
            Member.id, Member.first_uncovered_month, Member.last_covered_month
        ).order_by(Member.id)
    ).all()
    return payments, coverage, members


def test_a_refund_before_its_one_off_payment_is_kept_and_the_payment_covers_nothing(
    client, gateway, stripe_client, catalog, member, webhook_inbox, make
):
    intent, paid = pay_one_off(client, stripe_client, member, webhook_inbox, 3)
    refunded = refund(stripe_client, intent.id)
    first = deliver(client, refunded)
    assert (first.status_code, first.json["outcome"]) == (200, "pending")
    assert count(DuesPayment) == 0
    assert deliver(client, paid).json["outcome"] == "processed"
    payment = the_payment(intent.id)
    assert payment.refunded_cents == payment.amount_cents == 4400
    assert months_of(payment) == []
    assert dues.member_standing(member, now=make.now).arrears == 1
    assert dues.quote(member, 1).initiation_cents == 1100
    before = ledger_state()
    for again in (refunded, paid):
        assert deliver(client, again).json["outcome"] == "duplicate"
    # Stripe may also send a second event for the same refund.
    resent = signed(event("charge.refunded", refunded.event["data"]["object"]))
    assert deliver(client, resent).json["outcome"] == "processed"
    assert ledger_state() == before


def test_a_partial_refund_before_its_invoice_is_noted_and_the_month_stays_covered(
    client, gateway, stripe_client, catalog, member, webhook_inbox
):
    intent_id, paid = subscribe(client, stripe_client, catalog, member, webhook_inbox)
    assert deliver(client, refund(stripe_client, intent_id, 500)).status_code == 200
    assert deliver(client, paid).json["outcome"] == "processed"
    payment = the_payment(intent_id)
    assert (payment.amount_cents, payment.refunded_cents) == (2200, 500)
    assert len(months_of(payment)) == 1


def test_a_full_refund_before_its_invoice_leaves_the_month_owed(
    client, gateway, stripe_client, catalog, member, webhook_inbox, make
):
    intent_id, paid = subscribe(client, stripe_client, catalog, member, webhook_inbox)
    assert deliver(client, refund(stripe_client, intent_id)).status_code == 200
    deliver(client, paid)
    payment = the_payment(intent_id)
    assert payment.refunded_cents == 2200 and months_of(payment) == []
    assert dues.member_standing(member, now=make.now).arrears == 1


def test_refunds_of_one_charge_arriving_newest_first_leave_the_whole_refund(
    client, gateway, stripe_client, catalog, member, webhook_inbox
):
    intent, paid = pay_one_off(client, stripe_client, member, webhook_inbox, 3)
    deliver(client, paid)
    part = refund(stripe_client, intent.id, 1000)
    rest = refund(stripe_client, intent.id)
    deliver(client, rest)
    deliver(client, part)
    payment = the_payment(intent.id)
    assert payment.refunded_cents == 4400 and months_of(payment) == []


def test_a_dispute_before_its_payment_is_kept_and_the_payment_covers_nothing(
    client, gateway, stripe_client, catalog, member, webhook_inbox, make
):
    intent, paid = pay_one_off(client, stripe_client, member, webhook_inbox, 3)
    opened = dispute(stripe_client, intent.id)
    first = deliver(client, opened)
    assert (first.status_code, first.json["outcome"]) == (200, "pending")
    assert deliver(client, paid).json["outcome"] == "processed"
    payment = the_payment(intent.id)
    assert (payment.refunded_cents, payment.disputed_cents) == (0, 4400)
    assert months_of(payment) == []
    assert dues.member_standing(member, now=make.now).arrears == 1
    assert dues.quote(member, 1).initiation_cents == 1100
    assert "disputed $44.00" in client.get("/dues").get_data(as_text=True)
    before = ledger_state()
    withdrawn = dispute(stripe_client, intent.id, "charge.dispute.funds_withdrawn")
    assert deliver(client, withdrawn).status_code == 200
    assert deliver(client, opened).json["outcome"] == "duplicate"
    assert ledger_state() == before


def test_a_dispute_won_gives_the_months_back_whatever_order_its_events_come_in(
    client, gateway, stripe_client, catalog, member, webhook_inbox, make
):
    intent, paid = pay_one_off(client, stripe_client, member, webhook_inbox, 3)
    now = int(time.time())
    opened = dispute(stripe_client, intent.id, created=now - 60)
    won = dispute(
        stripe_client, intent.id, "charge.dispute.closed", status="won", created=now
    )
    deliver(client, won)
    deliver(client, paid)
    deliver(client, opened)
    payment = the_payment(intent.id)
    assert payment.disputed_cents == 0
    assert months_of(payment) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]
    assert dues.member_standing(member, now=make.now).arrears == 0


def test_a_dispute_after_its_payment_uncovers_the_months_until_the_funds_come_back(
    client, gateway, stripe_client, catalog, member, webhook_inbox, make
):
    intent, paid = pay_one_off(client, stripe_client, member, webhook_inbox, 3)
    deliver(client, paid)
    deliver(client, dispute(stripe_client, intent.id, "charge.dispute.funds_withdrawn"))
    payment = the_payment(intent.id)
    assert payment.disputed_cents == 4400 and months_of(payment) == []
    assert dues.member_standing(member, now=make.now).arrears == 1
    deliver(
        client, dispute(stripe_client, intent.id, "charge.dispute.funds_reinstated")
    )
    payment = the_payment(intent.id)
    assert payment.disputed_cents == 0 and len(months_of(payment)) == 3
    assert dues.member_standing(member, now=make.now).arrears == 0
    assert dues.quote(member, 1).initiation_cents == 0


def test_a_partial_dispute_is_noted_and_an_inquiry_withdraws_nothing(
    client, gateway, stripe_client, catalog, member, webhook_inbox
):
    intent, paid = pay_one_off(client, stripe_client, member, webhook_inbox, 3)
    inquiry = dispute(stripe_client, intent.id, status="warning_needs_response")
    assert deliver(client, inquiry).json["outcome"] == "ignored"
    deliver(client, paid)
    assert the_payment(intent.id).disputed_cents == 0
    deliver(
        client,
        dispute(
            stripe_client, intent.id, "charge.dispute.funds_withdrawn", amount=1100
        ),
    )
    payment = the_payment(intent.id)
    assert payment.disputed_cents == 1100 and len(months_of(payment)) == 3


def test_reconciliation_reports_a_refund_still_unmatched_after_a_day(
    app, client, gateway, stripe_client, catalog, member, webhook_inbox, make
):
    intent, _paid = pay_one_off(client, stripe_client, member, webhook_inbox, 2)
    assert deliver(client, refund(stripe_client, intent.id)).status_code == 200
    assert card_dues.reconcile(gateway, now=make.now, repair=False) == []
    later = make.now + timedelta(days=2)
    [drift] = card_dues.reconcile(gateway, now=later, repair=True)
    assert (drift.kind, drift.repaired) == ("unmatched_refund", False)
    assert intent.id in drift.detail and "Robin" not in drift.detail
    runner = app.test_cli_runner()
    with clock.pinned(later):
        found = runner.invoke(args=["union", "reconcile-stripe", "--repair"])
    assert found.exit_code == 2, found.output
    assert "found: unmatched_refund" in found.output
