"""Logs carry no personal data.

Distinctive values are typed into every form the app shows (found by visiting its
pages, so new forms are included), as every kind of user, and sent as query
strings; database errors and crashes are provoked with such values in them. None of
the values may then appear in anything logged, at any level.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from tests.conftest import config_for_tests
from tests.views.forms import discover, get_routes, query_parameters
from union import create_app
from union.db import db
from union.logs import RequestLineFilter, describe_exception, mask_address
from union.models import DuesLevel
from union.web.access import public

PERSONAS = ("anonymous", "member", "steward", "organizer", "treasurer", "admin")


def canary_for(kind: str, n: int) -> str | None:
    """A value nobody would log by chance, shaped to pass the field's checks."""
    return {
        "email": f"canary{n}zq@example.org",
        "password": f"Canary passphrase {n} zq",
        "tel": f"416 737 {n:04d}",
        "number": f"7{n:03d}",
        "textarea": f"Canary story {n} zq: paid 13.37 less per hour.",
        "search": f"Canarysearch{n}zq",
    }.get(kind, f"Canary{n}zq" if kind in ("text", "hidden") else None)


def logged_text(records: list[logging.LogRecord]) -> str:
    parts = []
    for record in records:
        parts.append(record.getMessage())
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            parts.append(record.exc_text)
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONAS)
def test_values_typed_into_any_form_never_reach_the_logs(
    app, client, world, persona, caplog
):
    caplog.set_level(logging.DEBUG)
    if persona != "anonymous":
        client.sign_in(world.accounts[persona].email)
    token = client.csrf_token("/login" if persona == "anonymous" else "/account")
    canaries: list[str] = []
    counter = 0
    for form in discover(client, app, world):
        values: dict[str, Any] = {}
        for field in form.fields:
            if field.name.endswith("csrf_token"):
                values[field.name] = token
                continue
            counter += 1
            canary = canary_for(field.kind, counter)
            if field.kind in ("select", "radio", "checkbox") and field.options:
                values[field.name] = next((o for o in field.options if o), "")
            elif field.kind in ("date", "month"):
                values[field.name] = "2026-11-20" if field.kind == "date" else "2026-11"
            elif canary is not None and field.kind != "hidden":
                values[field.name] = canary
                canaries.append(canary)
            elif field.options:
                values[field.name] = field.options[0]
        url = form.action.split("#", 1)[0]
        if form.method == "GET":
            client.get(url, query_string=values)
        elif not form.multipart:
            client.post(url, data=values)
    for endpoint, url in get_routes(app, world):
        for name in query_parameters(app, endpoint) | {"next", "q"}:
            counter += 1
            canary = f"Canaryquery{counter}zq"
            canaries.append(canary)
            client.get(url, query_string={name: canary})
    assert len(canaries) > 10
    text = logged_text(caplog.records)
    leaked = [canary for canary in canaries if canary.lower() in text.lower()]
    assert leaked == []


def test_database_errors_and_crashes_log_no_values(caplog):
    app = create_app(config_for_tests())
    app.config["TESTING"] = False

    @app.get("/duplicate")
    def duplicate():
        for _ in range(2):
            db.session.add(
                DuesLevel(code="canarycode9zq", name="Canary level zq", bracket="")
            )
        db.session.flush()
        return "never"

    @app.get("/crash")
    def crash():
        from flask import request

        raise ValueError(f"member {request.args['who']} earns {request.args['wage']}")

    public(duplicate)
    public(crash)
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        from tests.conftest import reset_schema

        reset_schema(app)
        http = app.test_client()
        assert http.get("/duplicate").status_code == 500
        crashed = http.get(
            "/crash", query_string={"who": "canary9zq@example.org", "wage": "23.45"}
        )
        assert crashed.status_code == 500
        db.session.remove()
        db.engine.dispose()
    text = logged_text(caplog.records)
    assert "IntegrityError" in text and "ValueError" in text
    for canary in ("canarycode9zq", "Canary level", "canary9zq@example.org", "23.45"):
        assert canary not in text


def test_exceptions_are_described_by_class_and_place_only():
    secret = "-".join(["secret", "canary"])
    try:
        raise ValueError(secret)
    except ValueError as error:
        described = describe_exception(error)
    assert "builtins.ValueError" in described and "secret-canary" not in described
    assert "test_exceptions_are_described" in described


def test_request_lines_lose_query_strings_tokens_and_the_host_part():
    request_filter = RequestLineFilter(["/password/reset/", "/account/activate/"])
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '203.0.113.77 - - [22/Nov/2026 15:00:00] "%s" %s %s',
        (
            "GET /password/reset/abcDEF123456789token?email=a@example.org HTTP/1.1",
            "200",
            "-",
        ),
        None,
    )
    request_filter.filter(record)
    message = record.getMessage()
    assert message.startswith("203.0.113.0/24 - - ")
    assert "/password/reset/[redacted]?[redacted] HTTP/1.1" in message
    assert "abcDEF" not in message and "example.org" not in message

    access = logging.LogRecord(
        "gunicorn.access",
        logging.INFO,
        __file__,
        1,
        '%(h)s "%(r)s" %(s)s %(q)s',
        (
            {
                "h": "2001:db8:1234:5678::1",
                "r": "GET /members/?q=Robin HTTP/1.1",
                "s": "200",
                "q": "q=Robin",
            },
        ),
        None,
    )
    request_filter.filter(access)
    line = access.getMessage()
    assert "Robin" not in line and "2001:db8:1234::/48" in line
    assert mask_address("not an address") == "[redacted]"


@pytest.mark.parametrize(
    "query",
    [
        'q=a"Canary77 Robin',
        'q=Canary77%22x&y="Robin"',
        'q="" HTTP/1.1 Canary77',
        "q=Canary77\x1bRobin",
        "next=/x?Canary77=Robin",
    ],
)
def test_every_character_after_the_question_mark_is_redacted(query):
    request_filter = RequestLineFilter(["/password/reset/"])
    line = f"GET /members/?{query} HTTP/1.1"
    assert request_filter.redact(line) == "GET /members/?[redacted] HTTP/1.1"
    assert request_filter.redact(f"/members/?{query}") == "/members/?[redacted]"
    token = 'GET /password/reset/abc"Canary77def HTTP/1.1'
    assert "Canary77" not in request_filter.redact(token)


def test_the_development_servers_request_log_is_redacted(tmp_path, caplog):
    """A real request through werkzeug's server, as `make run` serves the app."""
    app = create_app(
        config_for_tests(
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'served.sqlite3'}"
        )
    )
    with app.app_context():
        from tests.conftest import reset_schema

        reset_schema(app)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    caplog.set_level(logging.INFO, logger="werkzeug")
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        for path in (
            "/login?next=/members/%3Fq%3DCanaryname&email=canary77zq%40example.org",
            "/password/reset/CanaryToken77zqabcdefghijklmnop",
            "/account/activate/CanaryToken78zqabcdefghijklmnop?x=1",
            '/members/?q=Canary"Quote79zq&email=canary80zq@example.org',
        ):
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(base + path, timeout=5).close()  # noqa: S310 -- loopback
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    text = "\n".join(lines)
    assert "GET /login?[redacted]" in text
    assert "/password/reset/[redacted]" in text
    for canary in (
        "Canaryname",
        "canary77zq",
        "CanaryToken77",
        "CanaryToken78",
        "Quote79zq",
        "canary80zq",
        "127.0.0.1 ",
    ):
        assert canary not in text


def test_token_routes_are_found_from_the_url_map(app):
    from union.logs import token_prefixes

    prefixes = set(token_prefixes(app.url_map.iter_rules()))
    assert {
        "/password/reset/",
        "/account/activate/",
        "/account/email/confirm/",
        "/grievances/calendar/",
    } <= prefixes


def test_sql_statements_and_parameters_are_hidden(app):
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
    with app.app_context():
        assert db.engine.hide_parameters
        with (
            pytest.raises(sa.exc.DBAPIError) as raised,
            db.engine.connect() as connection,
        ):
            connection.execute(
                sa.text("SELECT * FROM no_such_table WHERE x = :x"),
                {"x": "canary5zq"},
            )
        assert "canary5zq" not in str(raised.value)
