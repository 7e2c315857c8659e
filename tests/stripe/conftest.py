"""A real Stripe peer for the card-dues tests: localstripe on 127.0.0.1.

localstripe signs its webhooks exactly as Stripe does. They are collected by a small
HTTP inbox here and handed to the app through the test client, so a test decides
when each delivery arrives, can deliver one twice, or out of order, all inside the
usual rolled-back transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.stripe_peer import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    Delivery,
    event,
    http,
    signed,
)
from union.adapters.payments import StripeGateway
from union.db import db
from union.services import card_dues, dues

__all__ = ["WEBHOOK_SECRET", "deliver", "event", "signed"]


class Inbox:
    """Webhook deliveries as localstripe sent them, signature and raw body kept."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.lock = threading.Lock()

    def add(self, delivery: Delivery) -> None:
        with self.lock:
            self.deliveries.append(delivery)

    def clear(self) -> None:
        with self.lock:
            self.deliveries.clear()

    def wait_for(
        self, event_type: str, timeout: float = 10.0, **match: Any
    ) -> Delivery:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for delivery in self.deliveries:
                    event = delivery.event
                    found = event["data"]["object"]
                    if event["type"] == event_type and all(
                        found.get(k) == v for k, v in match.items()
                    ):
                        return delivery
            time.sleep(0.05)
        seen = [d.event["type"] for d in self.deliveries]
        raise AssertionError(f"no {event_type} {match} arrived; got {seen}")


@pytest.fixture(scope="session")
def webhook_inbox(localstripe: str) -> Iterator[Inbox]:
    inbox = Inbox()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            inbox.add(Delivery(body, self.headers.get("Stripe-Signature", "")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    http(
        "POST",
        f"{localstripe}/_config/webhooks/tests",
        {"url": url, "secret": WEBHOOK_SECRET},
    )
    yield inbox
    http(
        "POST",
        f"{localstripe}/_config/webhooks/tests",
        {"url": url, "secret": WEBHOOK_SECRET, "events": []},
    )
    server.shutdown()
    server.server_close()


@pytest.fixture
def gateway(
    app: Any, localstripe: str, webhook_inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StripeGateway]:
    """The app's Stripe gateway pointed at an empty localstripe."""
    http("DELETE", f"{localstripe}/_config/data")
    webhook_inbox.clear()
    gateway = StripeGateway(
        SECRET_KEY, webhook_secret=WEBHOOK_SECRET, api_base=localstripe
    )
    monkeypatch.setitem(app.extensions, "union_payments", gateway)
    yield gateway
    gateway.close()


@pytest.fixture
def catalog(gateway: StripeGateway, make: Any) -> dict[str, str | None]:
    """The dues product and prices in localstripe, by level code."""
    card_dues.setup_catalog(gateway, now=make.now)
    db.session.flush()
    return {
        level.code: rate.stripe_price_id
        for level in dues.all_levels()
        if (rate := level.rate_on(make.now.date())) is not None
    }


@pytest.fixture
def member(make: Any) -> Any:
    workplace = make.workplace()
    user = make.user("robin@example.org", name=None)
    return make.member(
        workplace, user=user, name="Robin", level="minimum", joined_on=make.now.date()
    )


def deliver(client: Any, delivery: Delivery) -> Any:
    return client.post(
        "/stripe/webhook",
        data=delivery.body,
        headers={
            "Stripe-Signature": delivery.signature,
            "Content-Type": "application/json",
        },
    )
