"""Events delivered at the same moment, on a real database with real commits
(PostgreSQL when TEST_DATABASE_URL is set): two copies of one event make one
ledger row; a refund and its payment end refunded whichever commits first."""

from __future__ import annotations

import threading
import time

import flask_migrate
import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import config_for_tests
from tests.stripe.conftest import WEBHOOK_SECRET, event, signed
from union import create_app
from union.clock import utcnow
from union.db import db
from union.generate import demo
from union.models import DuesPayment, Member, StripeAdjustment, StripeEvent
from union.services import card_dues


def test_the_same_event_twice_at_once_leaves_one_ledger_row(fresh_database_url):
    app = create_app(
        config_for_tests(
            SQLALCHEMY_DATABASE_URI=fresh_database_url,
            STRIPE_SECRET_KEY="sk_test_concurrency",
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
    )
    try:
        with app.app_context():
            flask_migrate.upgrade()
            demo.load_demo(password="not used here", now=utcnow())
            member = db.session.scalar(
                sa.select(Member).where(Member.user_id.is_not(None)).limit(1)
            )
            member.stripe_customer_id = "cus_test_race"
            db.session.commit()
            before = db.session.scalar(
                sa.select(sa.func.count()).select_from(DuesPayment)
            )
        invoice = {
            "id": "in_test_race",
            "object": "invoice",
            "status": "paid",
            "amount_paid": 1100,
            "customer": "cus_test_race",
            "created": int(time.time()),
            "lines": {"data": [{"type": "subscription", "amount": 1100}]},
        }
        delivery = signed(event("invoice.paid", invoice, event_id="evt_test_race"))
        barrier = threading.Barrier(2)
        answers: list[tuple[int, str]] = []

        def deliver() -> None:
            client = app.test_client()
            barrier.wait()
            response = client.post(
                "/stripe/webhook",
                data=delivery.body,
                headers={
                    "Stripe-Signature": delivery.signature,
                    "Content-Type": "application/json",
                },
            )
            answers.append(
                (response.status_code, (response.json or {}).get("outcome", ""))
            )

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(answers) == [(200, "duplicate"), (200, "processed")]
        with app.app_context():
            assert (
                db.session.scalar(sa.select(sa.func.count()).select_from(DuesPayment))
                == before + 1
            )
            assert (
                db.session.scalar(sa.select(sa.func.count()).select_from(StripeEvent))
                == 1
            )
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("first", ["charge.refunded", "invoice.paid"])
def test_a_refund_and_its_payment_at_the_same_moment_end_refunded(
    fresh_database_url, monkeypatch, first
):
    """Whichever commits first, the other sees it: the first holds its transaction
    open until the second has started, which without a lock would let the second
    miss the first's row and leave the payment covering months Stripe refunded."""
    app = create_app(
        config_for_tests(
            SQLALCHEMY_DATABASE_URI=fresh_database_url,
            STRIPE_SECRET_KEY="sk_test_concurrency",
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
    )
    try:
        with app.app_context():
            flask_migrate.upgrade()
            member = factories.Factories(utcnow()).member()
            member.stripe_customer_id = "cus_test_refund_race"
            db.session.commit()
        invoice = {
            "id": "in_test_refund_race",
            "object": "invoice",
            "status": "paid",
            "amount_paid": 1100,
            "customer": "cus_test_refund_race",
            "payment_intent": "pi_test_refund_race",
            "created": int(time.time()),
            "lines": {"data": [{"type": "subscription", "amount": 1100}]},
        }
        charge = {
            "id": "ch_test_refund_race",
            "object": "charge",
            "amount": 1100,
            "amount_refunded": 1100,
            "refunded": True,
            "customer": "cus_test_refund_race",
            "payment_intent": "pi_test_refund_race",
        }
        deliveries = {
            "invoice.paid": signed(event("invoice.paid", invoice)),
            "charge.refunded": signed(event("charge.refunded", charge)),
        }
        second = next(kind for kind in deliveries if kind != first)
        handled = threading.Event()
        handler = card_dues.HANDLERS[first]

        def then_linger(*args):
            result = handler(*args)
            handled.set()
            # Long enough for the second delivery to run to its end, if it can.
            time.sleep(1.0)
            return result

        monkeypatch.setitem(card_dues.HANDLERS, first, then_linger)
        answers: dict[str, int] = {}

        def deliver(kind: str) -> None:
            delivery = deliveries[kind]
            response = app.test_client().post(
                "/stripe/webhook",
                data=delivery.body,
                headers={
                    "Stripe-Signature": delivery.signature,
                    "Content-Type": "application/json",
                },
            )
            answers[kind] = response.status_code

        threads = [threading.Thread(target=deliver, args=(first,))]
        threads[0].start()
        assert handled.wait(timeout=30)
        threads.append(threading.Thread(target=deliver, args=(second,)))
        threads[1].start()
        for thread in threads:
            thread.join(timeout=30)
        assert answers == {"invoice.paid": 200, "charge.refunded": 200}
        with app.app_context():
            payment = db.session.scalar(
                sa.select(DuesPayment).where(
                    DuesPayment.stripe_invoice_id == "in_test_refund_race"
                )
            )
            assert payment.refunded_cents == 1100
            assert payment.coverage == []
            assert (
                db.session.scalar(
                    sa.select(StripeAdjustment.payment_id).where(
                        StripeAdjustment.stripe_id == "ch_test_refund_race"
                    )
                )
                == payment.id
            )
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()
