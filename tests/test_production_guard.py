"""The production guard, however debug is turned on: through the environment, the
flask command's --debug, or the development server's debugger. Run as an operator
would, in a separate process with a production environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stripe_peer import free_port

ROOT = Path(__file__).resolve().parents[1]

PRODUCTION = {
    "UNION_ENV": "production",
    "SECRET_KEY": "s" * 48,
    "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    "ENCRYPTION_KEYS": "bXktdGVzdC1rZXktaXMtMzItYnl0ZXMtbG9uZy0wMDA=",
    "LOOKUP_HASH_KEY": "l" * 48,
    "SMTP_URL": "smtp://127.0.0.1:1",
    "PUBLIC_URL": "https://dues.example.org",
    "REDIS_URL": "redis://127.0.0.1:1/0",
}


def flask(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "UNION_")) and key not in PRODUCTION
    }
    env.update(PRODUCTION, **environment)
    return subprocess.run(  # noqa: S603 -- our own command, fixed arguments
        [sys.executable, "-m", "flask", "--app", "wsgi", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_production_environment_starts():
    result = flask("routes")
    assert result.returncode == 0, result.stderr
    assert "/login" in result.stdout


@pytest.mark.parametrize(
    ("arguments", "environment", "named"),
    [
        (("routes",), {"FLASK_DEBUG": "1"}, "debug mode must be off"),
        (("--debug", "routes"), {}, "debug mode must be off"),
        (("run", "--no-reload"), {}, "`flask run` is the development server"),
        (("run", "--debugger", "--no-reload"), {}, "flask run"),
        (("routes",), {"PUBLIC_URL": ""}, "PUBLIC_URL"),
        (("routes",), {"PUBLIC_URL": "http://dues.example.org"}, "PUBLIC_URL"),
        (("routes",), {"REDIS_URL": ""}, "REDIS_URL"),
    ],
)
def test_production_refuses_and_names_the_problem(arguments, environment, named):
    result = flask(*arguments, **environment)
    assert result.returncode != 0
    assert named in result.stderr


@pytest.fixture
def s3_environment(s3_settings):
    return {"DOCUMENT_STORAGE": "s3", **s3_settings}


def test_production_starts_with_an_s3_store_it_can_write(s3_environment):
    result = flask("routes", **s3_environment)
    assert result.returncode == 0, result.stderr


def test_production_refuses_an_s3_store_it_cannot_reach_and_names_it(s3_environment):
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = flask("routes", **{**s3_environment, "DOCUMENT_S3_ENDPOINT_URL": nowhere})
    assert result.returncode != 0
    assert "refusing to start in production" in result.stderr
    bucket = s3_environment["DOCUMENT_S3_BUCKET"]
    assert f"S3 bucket '{bucket}' at {nowhere} cannot be written" in result.stderr


def test_production_refuses_an_s3_store_without_its_bucket(s3_environment):
    result = flask(
        "routes", **{**s3_environment, "DOCUMENT_S3_BUCKET": "nobody-made-me"}
    )
    assert result.returncode != 0
    assert "S3 bucket 'nobody-made-me'" in result.stderr
    assert "NoSuchBucket" in result.stderr


def test_production_wants_the_store_over_https_unless_it_is_on_this_machine():
    result = flask(
        "routes",
        DOCUMENT_STORAGE="s3",
        DOCUMENT_S3_BUCKET="documents",
        DOCUMENT_S3_ENDPOINT_URL="http://s3.example.org",
    )
    assert result.returncode != 0
    assert "DOCUMENT_S3_ENDPOINT_URL must be https" in result.stderr
