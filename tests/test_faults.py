"""Database faults: the connection cut in the middle of a webhook and of a form save,
and the database unreachable for a while.

On PostgreSQL (the PostgreSQL pass of .ci/run) the connection is really cut: another
connection calls pg_terminate_backend on the app's backend halfway through the
transaction, and a TCP proxy we control stands between the app and the server to
make it unreachable. SQLite has no server and no connection to cut, so there the
driver's own "disk I/O error" is raised at the same point instead.

In every case: the answer is a 5xx (a friendly 503 page, or a 503 that makes
Stripe retry), nothing of the interrupted transaction is kept, and the same request
afterwards succeeds exactly once, without restarting the app.
"""

from __future__ import annotations

import re
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import (
    TEST_DATABASE_URL,
    UnionClient,
    config_for_tests,
    reset_schema,
)
from tests.stripe.conftest import deliver, event, signed
from union import create_app
from union.db import db
from union.models import AuditEvent, DuesCoverage, DuesPayment, StripeEvent
from union.services import dues

WEBHOOK_SECRET = "whsec_test_faults"
POSTGRESQL = TEST_DATABASE_URL.startswith("postgresql")


def make_app(url: str) -> Any:
    app = create_app(
        config_for_tests(
            SQLALCHEMY_DATABASE_URI=url,
            STRIPE_SECRET_KEY="sk_test_faults",
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            # Never called on these paths; a closed port if it were.
            STRIPE_API_BASE="http://127.0.0.1:9",
        )
    )
    app.test_client_class = UnionClient
    return app


@contextmanager
def cut_connection_at(app: Any, pattern: str) -> Iterator[list[str]]:
    """Cuts the app's database connection just before the first statement matching
    `pattern` runs, inside whatever transaction is open then."""
    cuts: list[str] = []
    with app.app_context():
        engine = db.engine
    admin = (
        sa.create_engine(engine.url, isolation_level="AUTOCOMMIT")
        if POSTGRESQL
        else None
    )

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if cuts or not re.search(pattern, statement):
            return
        cuts.append(statement)
        if admin is not None:
            pid = conn.connection.dbapi_connection.info.backend_pid
            with admin.connect() as other:
                other.execute(
                    sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}
                )
            time.sleep(0.1)
        else:
            raise sqlite3.OperationalError("disk I/O error")

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield cuts
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        if admin is not None:
            admin.dispose()


def count(model: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


@pytest.fixture
def faulty(fresh_database_url: str, now: Any) -> Iterator[Any]:
    """An app on a database of its own (real commits), with a steward, a member
    paying by card and one paying cash."""
    app = make_app(fresh_database_url)
    reset_schema(app)
    with app.app_context():
        make = factories.Factories(now)
        workplace = make.workplace()
        steward = make.steward(workplace, email="steward@example.org")
        card_member = make.member(workplace, name="Card Payer")
        card_member.stripe_customer_id = "cus_faults"
        cash_member = make.member(workplace, name="Cash Payer")
        app.config["FAULT_IDS"] = {
            "steward": steward.email,
            "cash": cash_member.public_id,
            "cash_id": cash_member.id,
        }
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def paid_invoice(now: Any) -> dict[str, Any]:
    return {
        "id": "in_faults_1",
        "object": "invoice",
        "status": "paid",
        "amount_paid": 2200,
        "customer": "cus_faults",
        "subscription": "sub_faults",
        "created": int(now.timestamp()),
        "lines": {
            "data": [
                {"amount": 1100, "type": "subscription"},
                {"amount": 1100, "type": "invoiceitem"},
            ]
        },
    }


def test_a_webhook_cut_halfway_keeps_nothing_and_its_retry_counts_once(faulty, now):
    delivery = signed(event("invoice.paid", paid_invoice(now)), secret=WEBHOOK_SECRET)
    client = faulty.test_client()
    with cut_connection_at(faulty, r"INSERT INTO dues_coverage") as cuts:
        response = deliver(client, delivery)
    assert cuts, "the fault was never injected"
    assert response.status_code == 503
    with faulty.app_context():
        assert (count(StripeEvent), count(DuesPayment), count(DuesCoverage)) == (
            0,
            0,
            0,
        )
    # Stripe delivers the same event again: processed once, on a reconnected pool.
    retried = deliver(client, delivery)
    assert (retried.status_code, retried.json["outcome"]) == (200, "processed")
    again = deliver(client, delivery)
    assert again.json["outcome"] == "duplicate"
    with faulty.app_context():
        assert (count(StripeEvent), count(DuesPayment), count(DuesCoverage)) == (
            1,
            1,
            1,
        )


def test_a_form_save_cut_halfway_keeps_nothing_and_can_be_sent_again(faulty):
    ids = faulty.config["FAULT_IDS"]
    client = faulty.test_client()
    client.sign_in(ids["steward"])
    url = f"/members/{ids['cash']}/payments/new"
    with faulty.app_context():
        from union.models import Member

        member = db.session.get(Member, ids["cash_id"])
        amount = dues.quote(member, 1).total_cents
        audit_before = count(AuditEvent)
    form = {
        "method": "cash",
        "months": "1",
        "amount": f"{amount / 100:.2f}",
        "paid_on": "2026-11-20",
    }
    token = client.csrf_token(url)
    with cut_connection_at(faulty, r"INSERT INTO dues_coverage") as cuts:
        response = client.post(url, data={**form, "csrf_token": token})
    assert cuts, "the fault was never injected"
    assert response.status_code == 503
    assert "The service is down for a moment" in response.get_data(as_text=True)
    assert response.headers["Retry-After"]
    with faulty.app_context():
        assert (count(DuesPayment), count(DuesCoverage)) == (0, 0)
        # Only the page views before the cut are on record, no half-saved payment.
        assert not db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.id > audit_before, AuditEvent.action.like("dues.%"))
        )
    again = client.submit(url, form)
    assert again.status_code == 302 and "/dues/receipts/" in again.headers["Location"]
    with faulty.app_context():
        assert (count(DuesPayment), count(DuesCoverage)) == (1, 1)


class Proxy:
    """A TCP relay to PostgreSQL that can be switched off (every connection through
    it dropped, new ones refused) and on again at the same address."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target, timeout=5)
            with self.lock:
                self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(
                    target=self._pipe, args=(source, sink), daemon=True
                ).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self.listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone does not.
            with suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for end in self.sockets:
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
            self.sockets.clear()


@pytest.mark.skipif(
    not POSTGRESQL,
    reason="SQLite is a file the app opens itself: there is no server to become "
    "unreachable (the cut-connection tests above cover SQLite); runs in the "
    "PostgreSQL pass",
)
def test_while_the_database_is_unreachable_pages_say_503_and_then_recover(faulty, now):
    url = sa.make_url(faulty.config["SQLALCHEMY_DATABASE_URI"])
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    app = make_app(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    try:
        client = app.test_client()
        client.sign_in(faulty.config["FAULT_IDS"]["steward"])
        assert client.get("/account").status_code == 200
        delivery = signed(
            event("invoice.paid", paid_invoice(now)), secret=WEBHOOK_SECRET
        )

        proxy.stop()
        down = client.get("/account")
        assert down.status_code == 503
        assert "The service is down for a moment" in down.get_data(as_text=True)
        assert client.get("/healthz").status_code == 503
        assert deliver(client, delivery).status_code == 503

        proxy.start()
        assert client.get("/account").status_code == 200
        assert client.get("/healthz").status_code == 200
        assert deliver(client, delivery).json["outcome"] == "processed"
        with app.app_context():
            assert count(DuesPayment) == 1
    finally:
        proxy.stop()
        with app.app_context():
            db.engine.dispose()
