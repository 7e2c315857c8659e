"""A real Stripe peer for the card-dues tests: localstripe on 127.0.0.1.

localstripe signs its webhooks exactly as Stripe does. They are collected by a small
HTTP inbox here and handed to the app through the test client, so a test decides
when each delivery arrives, can deliver one twice, or out of order, all inside the
usual rolled-back transaction.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import stripe

from union.payments import StripeGateway

LAUNCHER = Path(__file__).resolve().parent.parent / "localstripe_server.py"
SECRET_KEY = "sk_test_localstripe"
WEBHOOK_SECRET = "whsec_test_union"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http(method: str, url: str, body: dict[str, Any] | None = None) -> int:
    request = urllib.request.Request(  # noqa: S310 -- loopback only
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={
            "Authorization": f"Bearer {SECRET_KEY}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 -- loopback only
        return int(response.status)


@dataclass(frozen=True)
class Delivery:
    body: bytes
    signature: str

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


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
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """localstripe (pinned) in its own process on a free loopback port."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("localstripe") / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 -- our own launcher, fixed arguments
            [
                sys.executable,
                str(LAUNCHER),
                "--port",
                str(port),
                "--webhook-delay",
                "0.05",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"localstripe exited; see {log_path}")
                try:
                    http("GET", f"{base}/v1/customers?limit=1")
                    break
                except (urllib.error.URLError, OSError):
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"localstripe did not start; see {log_path}"
                        ) from None
                    time.sleep(0.05)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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
def stripe_client(localstripe: str) -> Iterator[stripe.StripeClient]:
    """A direct client to localstripe, for doing what Checkout would do."""
    connection = stripe.RequestsClient()
    yield stripe.StripeClient(
        SECRET_KEY,
        http_client=connection,
        base_addresses={"api": localstripe},
        max_network_retries=0,
    )
    connection.close()


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


def signed(
    event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> Delivery:
    """An event signed with the stripe library's own helper, as Stripe would send it."""
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(
        body, secret, timestamp=timestamp
    )
    return Delivery(body.encode(), header)


def event(
    event_type: str,
    obj: dict[str, Any],
    *,
    created: int | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": event_id
        or f"evt_test_{event_type.replace('.', '_')}_{time.monotonic_ns()}",
        "object": "event",
        "type": event_type,
        "created": created or int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


def deliver(client: Any, delivery: Delivery) -> Any:
    return client.post(
        "/stripe/webhook",
        data=delivery.body,
        headers={
            "Stripe-Signature": delivery.signature,
            "Content-Type": "application/json",
        },
    )
