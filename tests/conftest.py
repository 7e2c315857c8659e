"""Shared fixtures.

The database is migrated once per session (so every test runs on the schema the
migrations build, not on create_all), then each test runs inside a transaction that
is rolled back: requests still commit, but only to a savepoint.
Set TEST_DATABASE_URL to run everything on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import contextvars
import html
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession
from werkzeug.datastructures import MultiDict

from tests import factories
from union import clock, create_app
from union.adapters.mail import MemoryMailer, Message
from union.adapters.throttle import MemoryCounters, Throttle
from union.db import db

pytest_plugins = ["tests.stripe_peer", "tests.s3_server", "tests.local_services"]

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
SECRET = "test-secret-key-that-is-long-enough-for-production-0123456789"
TEST_ENCRYPTION_KEY = "bXktdGVzdC1rZXktaXMtMzItYnl0ZXMtbG9uZy0wMDA="
CSRF_FIELD = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def without_csrf_tokens(page: str) -> str:
    """The page with the value of every CSRF token field replaced by the same
    placeholder. A token is signed with the time in seconds, so two pages that say
    the same thing still differ there when they are rendered a second apart."""
    return CSRF_FIELD.sub(
        lambda field: field.group(0).replace(field.group(1), "CSRF-TOKEN"), page
    )


def config_for_tests(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": SECRET,
        "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL or "sqlite://",
        "MAIL_BACKEND": "memory",
        "PASSWORD_HASH_PROFILE": "CHEAPEST",
        "SERVER_NAME": "union.test",
        "ENCRYPTION_KEYS": [TEST_ENCRYPTION_KEY],
        "LOOKUP_HASH_KEY": "test-lookup-hash-key-that-is-long-enough-0123456789",
    }
    config.update(overrides)
    return config


def reset_schema(app: Flask) -> None:
    """Empties the test database and builds it with the migrations."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA public"))
        flask_migrate.upgrade()


@contextlib.contextmanager
def empty_database(folder: Path) -> Iterator[str]:
    """An empty database of its own (SQLite file, or a new PostgreSQL database when
    TEST_DATABASE_URL is set), dropped afterwards."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{folder / 'fresh.sqlite3'}"
        return
    name = f"union_fresh_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = sa.make_url(TEST_DATABASE_URL).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


#: The local PostgreSQL server a deployment's tests make their databases on.
LOCAL_POSTGRESQL = os.environ.get(
    "LOCAL_POSTGRESQL_URL",
    "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres",
)


@contextlib.contextmanager
def postgresql_database(prefix: str) -> Iterator[sa.URL]:
    """A new, empty PostgreSQL database on the local server, dropped afterwards;
    the test is skipped when no server answers."""
    admin = sa.create_engine(
        LOCAL_POSTGRESQL,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError:
        admin.dispose()
        pytest.skip("no PostgreSQL on 127.0.0.1:5432 (.ci/run starts one)")
    try:
        yield sa.make_url(LOCAL_POSTGRESQL).set(database=name)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """For tests that need real commits between connections."""
    with empty_database(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    documents = tmp_path_factory.mktemp("documents")
    app = create_app(config_for_tests(DOCUMENT_STORAGE_PATH=str(documents)))
    app.test_client_class = UnionClient
    reset_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


class BoundSession(FlaskSession):
    """Flask-SQLAlchemy ignores a session-level bind; tests need it honoured."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        if self.bind is not None:
            return self.bind
        return super().get_bind(*args, **kwargs)


@pytest.fixture
def database(app: Flask) -> Iterator[Any]:
    """An app context whose session, and every request's, share one rolled-back transaction."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {
                "class_": BoundSession,
                "bind": connection,
                "join_transaction_mode": "create_savepoint",
            }
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture(autouse=True)
def fresh_throttle(request: pytest.FixtureRequest) -> None:
    """Each test starts with nobody throttled (the app outlives a single test)."""
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        app.extensions["union_throttle"] = Throttle(MemoryCounters())


#: The moment every test's data is made at, unless a test says otherwise.
FIXED_NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    return FIXED_NOW


@pytest.fixture(autouse=True)
def pinned_clock(now: datetime) -> Iterator[None]:
    """Views read the clock; pin it to the same moment the test's data is made at."""
    with clock.pinned(now):
        yield


@pytest.fixture
def outbox(app: Flask) -> list[Message]:
    mailer = app.extensions["union_mailer"]
    assert isinstance(mailer, MemoryMailer)
    mailer.outbox.clear()
    return mailer.outbox


@pytest.fixture
def make(database: Any, now: datetime) -> factories.Factories:
    return factories.Factories(now)


@pytest.fixture
def client(app: Flask, database: Any) -> UnionClient:
    client = app.test_client()
    assert isinstance(client, UnionClient)
    return client


class UnionClient(FlaskClient):
    """A test client that fills in CSRF tokens the way a browser would: from the page."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        # Flask reuses an app context that is already pushed (the test's own), which
        # would share `g` between requests. A real server gives each request a fresh
        # one, so run every request in an empty context, and read streamed bodies
        # inside it too.
        kwargs.setdefault("buffered", True)
        return contextvars.Context().run(super().open, *args, **kwargs)

    def csrf_token(self, page: str = "/login") -> str:
        response = self.get(page)
        match = CSRF_FIELD.search(response.get_data(as_text=True))
        if match is None:
            response = self.get("/account")
            match = CSRF_FIELD.search(response.get_data(as_text=True))
        assert match is not None, f"no CSRF token on {page}"
        return match.group(1)

    def submit(
        self,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        page: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """POSTs a form the way a browser would, taking the CSRF token from `page`."""
        fields = dict(data or {})
        fields["csrf_token"] = self.csrf_token(page or url)
        return self.post(url, data=fields, **kwargs)

    def submit_and_confirm(
        self,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        page: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """POSTs a destructive action's form, then the form of the page that asks
        first (with the fields it carries), as a browser would."""
        asking = self.submit(url, data, page=page)
        assert asking.status_code == 200, asking.status_code
        return self.post(
            url, data=hidden_fields(asking.get_data(as_text=True)), **kwargs
        )

    def sign_in(self, email: str, password: str = factories.PASSWORD) -> Any:
        response = self.submit("/login", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def sign_out(self) -> Any:
        return self.submit("/logout", page="/account")


_HIDDEN_INPUT = re.compile(r"<input[^>]*type=\"hidden\"[^>]*>")
_ATTRIBUTE = re.compile(r'(name|value)="([^"]*)"')


def hidden_fields(page: str) -> MultiDict[str, str]:
    """The hidden fields of a page's forms, unescaped, as a browser sends them:
    a name given several times (the people ticked for a bulk action) keeps every
    value."""
    fields: MultiDict[str, str] = MultiDict()
    for tag in _HIDDEN_INPUT.findall(page):
        attributes = dict(_ATTRIBUTE.findall(tag))
        if "name" in attributes:
            fields.add(attributes["name"], html.unescape(attributes.get("value", "")))
    assert fields.get("confirmed") == "yes", "not the page that asks first"
    return fields


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if (
            not statement.lstrip()
            .upper()
            .startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))
        ):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(database: Any) -> Any:
    """Counts the SQL statements run inside a `with count_queries() as counter:` block."""
    from contextlib import contextmanager

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa.event.remove(engine, "before_cursor_execute", counter)

    return counting
