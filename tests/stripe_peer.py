"""localstripe, a real and stateful Stripe peer, on 127.0.0.1 for the tests that need
one (tests/stripe and tests/browser), and Stripe events signed the way Stripe signs
them. Registered as a plugin in tests/conftest.py; localstripe starts only when a
test asks for it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import stripe

LAUNCHER = Path(__file__).resolve().parent / "localstripe_server.py"
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


@contextlib.contextmanager
def serving(
    command: list[str],
    log_path: Path,
    *,
    name: str,
    ready: Callable[[], object],
    within: float,
    pause: float,
) -> Iterator[None]:
    """A server of the tests' own in its own process, its output in `log_path`:
    started, waited for until `ready()` stops raising a connection error (at most
    `within` seconds), and stopped when the block ends."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 -- the tests' own servers, fixed arguments
            command, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + within
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited; see {log_path}")
                try:
                    ready()
                    break
                except (urllib.error.URLError, OSError):
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"{name} did not start; see {log_path}"
                        ) from None
                    time.sleep(pause)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def running_localstripe(folder: Path, *options: str) -> Iterator[str]:
    """localstripe (pinned) in its own process on a free loopback port, until the
    block ends; its log goes to a file in `folder`."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, str(LAUNCHER), "--port", str(port)]
    command += ["--webhook-delay", "0.05", *options]
    with serving(
        command,
        folder / "server.log",
        name="localstripe",
        ready=lambda: http("GET", f"{base}/v1/customers?limit=1"),
        within=20,
        pause=0.05,
    ):
        yield base


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """localstripe whose Checkout and Portal URLs lead nowhere (tests catch them)."""
    with running_localstripe(tmp_path_factory.mktemp("localstripe")) as base:
        yield base


@pytest.fixture(scope="session")
def localstripe_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """localstripe serving its Checkout and Portal pages, as in development."""
    folder = tmp_path_factory.mktemp("localstripe-pages")
    with running_localstripe(folder, "--browser") as base:
        yield base


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
