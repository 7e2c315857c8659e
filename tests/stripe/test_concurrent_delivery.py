"""Two copies of one event delivered at the same moment, on a real database with
real commits (PostgreSQL when TEST_DATABASE_URL is set): one ledger row."""

from __future__ import annotations

import threading
import time

import flask_migrate
import sqlalchemy as sa

from tests.conftest import config_for_tests
from tests.stripe.conftest import WEBHOOK_SECRET, event, signed
from union import create_app
from union.clock import utcnow
from union.db import db
from union.generate import demo
from union.models import DuesPayment, Member, StripeEvent


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
