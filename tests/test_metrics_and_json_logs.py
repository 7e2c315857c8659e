"""What operators ask for: Prometheus metrics (off unless a token is set) and log
lines as JSON, both still without anything about a person."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.conftest import UnionClient, config_for_tests, reset_schema
from union import create_app
from union.db import db
from union.logs import JsonLines, RequestLineFilter
from union.services import jobs
from union.web import handoff, notifications

TOKEN = "a-metrics-token-for-the-tests-0123456789"


@pytest.fixture
def metered(fresh_database_url: str) -> Iterator[Flask]:
    app = create_app(
        config_for_tests(
            SQLALCHEMY_DATABASE_URI=fresh_database_url, METRICS_TOKEN=TOKEN
        )
    )
    app.test_client_class = UnionClient
    reset_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


def scrape(client, token: str | None = TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/metrics", headers=headers)


def sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(
            f'{key}="{value}"' in line for key, value in labels.items()
        ):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}{{{wanted}}} in the metrics")


def test_metrics_need_the_token(metered):
    client = metered.test_client()
    assert scrape(client, token=None).status_code == 404
    assert scrape(client, token="wrong").status_code == 404
    response = scrape(client)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_requests_are_counted_by_endpoint_never_by_path(metered):
    client = metered.test_client()
    before = scrape(client).get_data(as_text=True)
    counted = 0.0
    if 'endpoint="auth.reset_password"' in before:
        counted = sample(
            before, "union_http_requests_total", endpoint="auth.reset_password"
        )
    client.get("/password/reset/a-token-from-an-email")
    client.get("/login?next=/members/")
    text = scrape(client).get_data(as_text=True)
    assert (
        sample(
            text,
            "union_http_requests_total",
            endpoint="auth.reset_password",
            method="GET",
        )
        == counted + 1
    )
    assert (
        sample(text, "union_http_request_duration_seconds_count", endpoint="auth.login")
        >= 1
    )
    assert "a-token-from-an-email" not in text
    assert "/members/" not in text


def test_jobs_are_counted_by_kind_and_outcome_and_the_backlog_read_live(metered, now):
    client = metered.test_client()
    with metered.test_request_context():
        from tests import factories

        user = factories.Factories(now).user("robin@example.org")
        notifications.send_correction_answered(user)
        handoff.commit()  # inline: the email job runs now
        waiting = jobs.enqueue("email", {"to": "x@example.org"}, now=now)
        waiting.run_after = now.replace(year=now.year + 1)
        db.session.commit()
    text = scrape(client).get_data(as_text=True)
    assert sample(text, "union_jobs_total", kind="email", outcome="done") >= 1
    assert sample(text, "union_jobs_backlog", state="waiting") == 1
    assert sample(text, "union_jobs_backlog", state="parked") == 0
    assert "robin" not in text and "x@example.org" not in text


def test_a_request_line_as_json_keeps_no_query_token_or_whole_address():
    record = logging.LogRecord(
        "gunicorn.access",
        logging.INFO,
        __file__,
        1,
        '%(h)s "%(r)s" %(s)s %(b)s',
        None,
        None,
    )
    record.args = {
        "h": "203.0.113.57",
        "r": "GET /password/reset/secret-token?email=robin@example.org HTTP/1.1",
        "s": "200",
        "b": "512",
    }
    RequestLineFilter(["/password/reset"]).filter(record)
    line = json.loads(JsonLines().format(record))
    assert line["level"] == "info"
    assert line["logger"] == "gunicorn.access"
    assert line["message"] == (
        '203.0.113.0/24 "GET /password/reset/[redacted]?[redacted] HTTP/1.1" 200 512'
    )
    assert line["time"].endswith("+00:00")


def test_an_exception_in_json_names_its_class_not_its_message():
    address = "robin@example.org"
    try:
        raise ValueError(f"{address} is already there")
    except ValueError:
        record = logging.LogRecord(
            "union", logging.ERROR, __file__, 1, "failed", None, None
        )
        import sys

        record.exc_info = sys.exc_info()
    line = json.loads(JsonLines().format(record))
    assert "builtins.ValueError" in line["exception"]
    assert "robin" not in json.dumps(line)


def test_log_format_json_turns_every_handler_to_json_lines(fresh_database_url):
    root = logging.getLogger()
    handler = logging.StreamHandler()
    root.addHandler(handler)
    try:
        create_app(
            config_for_tests(
                SQLALCHEMY_DATABASE_URI=fresh_database_url, LOG_FORMAT="json"
            )
        )
        assert isinstance(handler.formatter, JsonLines)
    finally:
        root.removeHandler(handler)
