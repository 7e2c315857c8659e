"""`union check-deploy` on a server configured right, and on one where everything
is wrong: it names every problem at once. Real PostgreSQL, Redis and SMTP on
loopback; the command itself runs as an operator runs it, in a process of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import pytest
from cryptography.fernet import Fernet

from tests import factories
from tests.conftest import (
    FIXED_NOW,
    TEST_ENCRYPTION_KEY,
    config_for_tests,
    postgresql_database,
)
from union import create_app, deploy_check
from union.db import db

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = ROOT / "migrations"


@pytest.fixture
def migrated_database() -> Iterator[str]:
    """A migrated database with one account, written with the test keys."""
    with postgresql_database("deploy_check") as url:
        address = url.render_as_string(hide_password=False)
        app = create_app(config_for_tests(SQLALCHEMY_DATABASE_URI=address))
        with app.app_context():
            flask_migrate.upgrade()
            factories.Factories(FIXED_NOW).user("sam@example.org")
            db.session.commit()
            db.engine.dispose()
        yield address


@pytest.fixture
def good_environment(
    tmp_path: Path, migrated_database: str, redis_url: str, smtp_url: str
) -> dict[str, str]:
    documents = tmp_path / "documents"
    documents.mkdir(mode=0o700)
    return {
        "UNION_ENV": "production",
        "DATABASE_URL": migrated_database,
        "SECRET_KEY": "kQ2v7Rz9bX4mN8pL1sT6wY3cF5hJ0dGaeUiOq",
        "LOOKUP_HASH_KEY": config_for_tests()["LOOKUP_HASH_KEY"],
        "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "REDIS_URL": redis_url,
        "SMTP_URL": smtp_url,
        "MAIL_FROM": "Test Union <dues@union.test>",
        "PUBLIC_URL": "https://dues.union.test",
        "TRUSTED_HOSTS": "internal.union.test",
        "TRUSTED_PROXIES": "1",
        "DOCUMENT_STORAGE_PATH": str(documents),
    }


BROKEN = {
    # UNION_ENV left out
    "DATABASE_URL": "postgresql://nobody:hunter2@127.0.0.1:1/none",
    "SECRET_KEY": "s" * 40,
    "LOOKUP_HASH_KEY": "short",
    "ENCRYPTION_KEYS": "not-a-key",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "SMTP_URL": "smtp+insecure://127.0.0.1:1",
    "PUBLIC_URL": "http://dues.union.test/union",
    "TRUSTED_HOSTS": "https://internal.union.test",
    "TRUSTED_PROXIES": "one",
    "STRIPE_SECRET_KEY": "pk_live_not_a_secret_key",
    "DOCUMENT_STORAGE_PATH": "/nonexistent/documents",
    "DISCLOSURE_RULES": "min_count=2",
}

#: Words of each problem BROKEN has, in the order the checks run.
BROKEN_NAMED = (
    "UNION_ENV must be production",
    "PUBLIC_URL must be the app's public https address",
    "LOOKUP_HASH_KEY must be a random value of at least 32",
    "MAIL_FROM must be set",
    "STRIPE_WEBHOOK_SECRET is required",
    "SECRET_KEY does not look random",
    "ENCRYPTION_KEYS: key 1 is not a valid key",
    "the database at postgresql+psycopg://nobody:***@127.0.0.1:1/none cannot be",
    "Redis at REDIS_URL cannot be reached",
    "the mail server 127.0.0.1 cannot be used",
    "STRIPE_SECRET_KEY is not a Stripe secret key",
    "the document folder /nonexistent/documents does not exist",
    "PUBLIC_URL must be the address of the site's root",
    "TRUSTED_HOSTS: 'https://internal.union.test' is not a host name",
    "TRUSTED_PROXIES must be a whole number",
    "DISCLOSURE_RULES: min_count",
)


def check(environment: dict[str, str], tmp_path: Path) -> deploy_check.Report:
    return deploy_check.check_deployment(
        environment, tmp_path / "instance", migrations=MIGRATIONS
    )


def test_a_server_configured_right_passes(good_environment, tmp_path):
    report = check(good_environment, tmp_path)
    assert report.problems == []
    assert "the production start-up guard is satisfied" in report.passed
    assert any("migrated to the latest schema" in line for line in report.passed)
    assert "Redis answers" in report.passed
    assert any("mail server accepts" in line for line in report.passed)
    assert "the keys read the data the database holds" in report.passed
    assert not (tmp_path / "instance").exists(), "checking writes no secrets"


def test_every_problem_is_named_at_once(tmp_path):
    report = check(BROKEN, tmp_path)
    for named in BROKEN_NAMED:
        assert sum(named in problem for problem in report.problems) == 1, named
    assert not report.ok
    assert not any("hunter2" in problem for problem in report.problems)


def test_a_database_not_yet_migrated_is_named(good_environment, tmp_path):
    with postgresql_database("deploy_check_empty") as url:
        good_environment["DATABASE_URL"] = url.render_as_string(hide_password=False)
        report = check(good_environment, tmp_path)
    assert len(report.problems) == 1
    assert "has no tables yet: run `flask --app wsgi db upgrade`" in report.problems[0]


def test_weak_or_shared_secrets_and_loose_settings_are_named(
    good_environment, tmp_path
):
    documents = Path(good_environment["DOCUMENT_STORAGE_PATH"])
    documents.chmod(0o755)
    report = check(
        {
            **good_environment,
            "SECRET_KEY": good_environment["LOOKUP_HASH_KEY"],
            "ENCRYPTION_KEYS": f"{TEST_ENCRYPTION_KEY},{TEST_ENCRYPTION_KEY}",
            "TRUSTED_PROXIES": "0",
            "STRIPE_SECRET_KEY": "sk_test_123",
            "STRIPE_WEBHOOK_SECRET": "not-a-webhook-secret",
            "SERVER_NAME": "elsewhere.union.test",
        },
        tmp_path,
    )
    named = (
        "SECRET_KEY and LOOKUP_HASH_KEY must be two different secrets",
        "ENCRYPTION_KEYS lists the same key twice",
        "TRUSTED_PROXIES must be the number of reverse proxies",
        "STRIPE_WEBHOOK_SECRET is not a webhook signing secret",
        "SERVER_NAME (elsewhere.union.test) names another host than PUBLIC_URL",
        "is open to every user of the server",
    )
    for sentence in named:
        assert any(sentence in problem for problem in report.problems), sentence
    assert len(report.problems) == len(named)


def test_keys_that_did_not_write_the_data_are_named(good_environment, tmp_path):
    other_keys = check(
        {**good_environment, "ENCRYPTION_KEYS": Fernet.generate_key().decode()},
        tmp_path,
    )
    assert len(other_keys.problems) == 1
    assert (
        "ENCRYPTION_KEYS cannot read what the database holds"
        in (other_keys.problems[0])
    )
    other_lookup = check(
        {
            **good_environment,
            "LOOKUP_HASH_KEY": "Zr4Wm8Kp2Qx6Vb0Nc3Ls7Dt1Fh5Gj9HyEaUiO",
        },
        tmp_path,
    )
    assert len(other_lookup.problems) == 1
    assert (
        "LOOKUP_HASH_KEY is not the key the accounts were saved with"
        in (other_lookup.problems[0])
    )
    rotated = check(
        {
            **good_environment,
            "ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},{TEST_ENCRYPTION_KEY}",
        },
        tmp_path,
    )
    assert rotated.problems == []


def run_check_deploy(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`flask --app wsgi union check-deploy` with only this environment."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "union", "check-deploy"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_passes_on_a_good_server(good_environment):
    result = run_check_deploy(good_environment)
    assert result.returncode == 0, result.stderr
    assert "Ready to serve." in result.stdout
    assert "ok: the production start-up guard is satisfied" in result.stdout


def test_the_command_lists_every_problem_where_the_app_would_refuse_to_start():
    result = run_check_deploy({**BROKEN, "UNION_ENV": "production"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    for named in BROKEN_NAMED[1:]:
        assert f"problem: {named}" in result.stderr, named
    assert f"{len(BROKEN_NAMED) - 1} problem(s) to fix." in result.stderr


def test_texts_need_all_three_twilio_settings(good_environment, tmp_path):
    report = check({**good_environment, "TWILIO_ACCOUNT_SID": "AC123"}, tmp_path)
    assert any(
        "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM go together" in line
        for line in report.problems
    )
    assert any(
        "texts are not configured" in line
        for line in check(good_environment, tmp_path).passed
    )
