"""The production guard, however debug is turned on: through the environment, the
flask command's --debug, or the development server's debugger. Run as an operator
would, in a separate process with a production environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
