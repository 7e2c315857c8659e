"""The deployment kit in deploy/, followed as deploy/README.md says, on a fresh
PostgreSQL database: the environment file made from the kit's template with the
commands it gives, `deploy/manage db upgrade`, `check-deploy` and `create-admin`,
then gunicorn started exactly as the systemd unit starts it, answering /healthz
and /readyz, and the admin signing in over HTTP as a browser behind Caddy would.
The Caddyfile is validated by Caddy when it is installed (.ci/run installs it).
"""

from __future__ import annotations

import http.client
import json
import os
import pwd
import re
import runpy
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from tests.conftest import CSRF_FIELD, postgresql_database
from tests.local_services import free_port

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
INSTALLED_AT = "/srv/union/app"
HOST = "dues.example.org"
ADMIN_EMAIL = "sam@union.test"
ADMIN_PASSWORD = "a long admin password for the test"


def unit_settings(unit: str = "union-web.service") -> dict[str, str]:
    """The [Service] settings of one of the kit's units, moved to this checkout."""
    settings = {}
    for line in (DEPLOY / unit).read_text().splitlines():
        name, equals, value = line.partition("=")
        if equals and not line.startswith("#"):
            settings[name.strip()] = value.strip().replace(INSTALLED_AT, str(ROOT))
    return settings


def environment_file(folder: Path, values: dict[str, str]) -> Path:
    """The kit's template, every FILL-IN line given a value, as step 5 says; the
    secrets made with the very commands the template gives."""
    template = (DEPLOY / "union.env.example").read_text()
    commands = re.findall(r"python3 -c '([^']+)'", template)
    assert len(commands) == 2, "one command for random values, one for keys"
    random_value, new_key = (
        subprocess.run(  # noqa: S603 -- the template's own commands
            [sys.executable, "-c", command],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for command in commands
    )
    secrets = {
        "SECRET_KEY": random_value,
        "LOOKUP_HASH_KEY": random_value[::-1],
        "ENCRYPTION_KEYS": new_key,
    }
    lines = []
    for line in template.splitlines():
        name, equals, _value = line.partition("=")
        if equals and not line.startswith("#"):
            if name in values:
                line = f"{name}={shlex.quote(values.pop(name))}"
            elif name in secrets:
                line = f"{name}={secrets[name]}"
        assert "FILL-IN" not in line or line.startswith("#"), line
        lines.append(line)
    lines += [f"{name}={shlex.quote(value)}" for name, value in values.items()]
    path = folder / "union.env"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o640)
    return path


def manage(env_file: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """deploy/manage as step 6 runs it (as the service's user: here, whoever runs
    the tests), with nothing from the test's own environment but PATH."""
    return subprocess.run(  # noqa: S603 -- the kit's own script
        [str(DEPLOY / "manage"), *arguments],
        env={
            "PATH": os.environ["PATH"],
            "UNION_USER": pwd.getpwuid(os.getuid()).pw_name,
            "UNION_ENV_FILE": str(env_file),
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


class Browser:
    """HTTP to gunicorn as Caddy passes it on: the public host, https as the
    scheme, the client's address; and cookies kept as a browser keeps them."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {
            "Host": HOST,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "203.0.113.7",
            **(extra_headers or {}),
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            # A browser names the page a form was sent from; over https the
            # app's CSRF check requires it to be the app's own.
            headers["Origin"] = f"https://{HOST}"
            headers["Referer"] = f"https://{HOST}{path}"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _equals, rest = cookie.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
            return (
                response.status,
                dict(response.getheaders()),
                response.read().decode(),
            )
        finally:
            connection.close()


@pytest.fixture
def gunicorn_started() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def start_as_the_unit_does(
    env_file: Path,
    started: list[subprocess.Popen[str]],
    unit_name: str = "union-web.service",
) -> subprocess.Popen[str]:
    """ExecStart in WorkingDirectory with EnvironmentFile, as systemd runs it."""
    unit = unit_settings(unit_name)
    loader = 'set -a; . "$0"; set +a; exec "$@"'
    process = subprocess.Popen(  # noqa: S603 -- the unit's own command line
        ["/bin/sh", "-c", loader, str(env_file), *shlex.split(unit["ExecStart"])],
        cwd=unit["WorkingDirectory"],
        env={"PATH": os.environ["PATH"]},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started.append(process)
    return process


def wait_until_healthy(browser: Browser, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn stopped: {process.stdout.read()}")
        try:
            status, _headers, _body = browser.request("GET", "/healthz")
        except OSError:
            status = 0
        if status == 200:
            return
        time.sleep(0.5)
    pytest.fail("gunicorn did not answer /healthz within a minute")


@pytest.mark.slow
def test_the_guide_from_an_empty_database_to_an_admin_signed_in(
    tmp_path,
    redis_url,
    smtp_url,
    gunicorn_started,
):
    documents = tmp_path / "documents"
    documents.mkdir(mode=0o700)
    metrics = tmp_path / "metrics"
    metrics.mkdir(mode=0o700)
    queue_name = f"deploy-{uuid.uuid4().hex[:8]}"
    port = free_port()
    with postgresql_database("deploy_test") as database:
        env_file = environment_file(
            tmp_path,
            {
                "DATABASE_URL": database.render_as_string(hide_password=False),
                "REDIS_URL": redis_url,
                "SMTP_URL": smtp_url,
                "MAIL_FROM": "Test Union <dues@union.test>",
                "DOCUMENT_STORAGE_PATH": str(documents),
                "UNION_BIND": f"127.0.0.1:{port}",
                "WEB_CONCURRENCY": "2",
                "QUEUE_NAME": queue_name,
                "METRICS_TOKEN": METRICS_TOKEN,
                "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            },
        )

        before = manage(env_file, "union", "check-deploy")
        assert before.returncode == 1
        assert "has no tables yet" in before.stderr

        upgraded = manage(env_file, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr

        checked = manage(env_file, "union", "check-deploy")
        assert checked.returncode == 0, checked.stderr
        assert "Ready to serve." in checked.stdout

        created = manage(
            env_file,
            "union",
            "create-admin",
            "--email",
            ADMIN_EMAIL,
            "--name",
            "Sam (admin)",
            "--password",
            ADMIN_PASSWORD,
        )
        assert created.returncode == 0, created.stderr

        browser = Browser(port)
        process = start_as_the_unit_does(env_file, gunicorn_started)
        wait_until_healthy(browser, process)
        status, _headers, body = browser.request("GET", "/readyz")
        assert (status, json.loads(body)) == (200, {"status": "ready"})

        status, _headers, page = browser.request("GET", "/login")
        assert status == 200
        token = CSRF_FIELD.search(page)
        assert token is not None
        status, _headers, _body = browser.request(
            "POST",
            "/login",
            {
                "csrf_token": token.group(1),
                "email": ADMIN_EMAIL,
                "password": ADMIN_PASSWORD,
            },
        )
        assert status == 302, _body
        assert "__Host-session" in browser.cookies
        status, _headers, page = browser.request("GET", "/admin/users")
        assert status == 200
        assert "Sam (admin)" in page

        status, _headers, _body = browser.request("GET", "/no-such-page?q=secret")
        assert status == 404

        # The worker, as its unit starts it, does what the web recorded: a
        # password reset request is looked up (an address with no account:
        # the admin's own is on a .test domain the form does not take).
        worker = start_as_the_unit_does(
            env_file, gunicorn_started, "union-worker.service"
        )
        status, _headers, page = browser.request("GET", "/password/forgot")
        token = CSRF_FIELD.search(page)
        assert token is not None
        status, _headers, _body = browser.request(
            "POST",
            "/password/forgot",
            {"csrf_token": token.group(1), "email": "nobody@example.org"},
        )
        assert status == 302
        wait_for_jobs_done(database, {"reset-link"})

        # Metrics add up every gunicorn process (and the worker) in one folder.
        bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        status, _headers, text = browser.request(
            "GET", "/metrics", extra_headers=bearer
        )
        assert status == 200
        assert (
            'union_http_requests_total{endpoint="admin.users",method="GET",status="200"} 1.0'
            in text
        )
        assert 'union_jobs_total{kind="reset-link",outcome="done"} 1.0' in text
        assert "secret" not in text
        status, _headers, _body = browser.request("GET", "/metrics")
        assert status == 404

        gunicorn_started.remove(worker)
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=30)

        gunicorn_started.remove(process)
        process.send_signal(signal.SIGTERM)
        log, _ = process.communicate(timeout=30)
    assert "Booting worker" in log
    assert '"GET /readyz HTTP/1.1" 200' in log
    assert "secret" not in log, "the access log drops query strings"
    assert "203.0.113.7" not in log, "nor the client's full address"


METRICS_TOKEN = "a-metrics-token-for-the-guide-test-0123456789"


def wait_for_jobs_done(database: Any, kinds: set[str]) -> None:
    engine = sa.create_engine(database)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                done = set(
                    connection.scalars(
                        sa.text("SELECT kind FROM jobs WHERE state = 'done'")
                    )
                )
            if kinds <= done:
                return
            time.sleep(0.3)
    finally:
        engine.dispose()
    pytest.fail(f"the worker did not finish {sorted(kinds)} within a minute")


def test_gunicorn_runs_two_processes_per_cpu_plus_one_bound_to_this_machine(
    monkeypatch,
):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("UNION_BIND", raising=False)
    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert settings["workers"] == 2 * len(os.sched_getaffinity(0)) + 1
    assert settings["bind"] == ["127.0.0.1:8000"]
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["workers"] == 3


def test_caddy_proxies_the_domain_to_where_gunicorn_listens():
    """The upstream is the address gunicorn binds to; with Caddy installed, Caddy
    itself validates the file and says where it sends requests."""
    bind = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["bind"]
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert re.search(rf"^{re.escape(HOST)} \{{", caddyfile, re.MULTILINE)
    assert re.findall(r"^\s*reverse_proxy (\S+)$", caddyfile, re.MULTILINE) == bind
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (apt-get install caddy; .ci/run does)")
    command = [caddy, "adapt", "--config", str(DEPLOY / "Caddyfile")]
    adapted = subprocess.run(  # noqa: S603 -- fixed arguments
        [*command, "--adapter", "caddyfile", "--validate"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    config = json.loads(adapted.stdout)
    (server,) = config["apps"]["http"]["servers"].values()
    (route,) = server["routes"]
    assert route["match"] == [{"host": [HOST]}]
    dials = re.findall(r'"dial":\s*"([^"]+)"', adapted.stdout)
    assert dials == bind


def test_the_systemd_unit_starts_gunicorn_with_the_kits_settings(tmp_path):
    unit = unit_settings()
    assert unit["EnvironmentFile"] == "/etc/union/union.env"
    assert shlex.split(unit["ExecStart"])[1:] == [
        "--config",
        "deploy/gunicorn.conf.py",
        "wsgi:app",
    ]
    verify_unit(tmp_path, "union-web.service")


def test_the_workers_unit_runs_the_worker_and_lets_jobs_finish(tmp_path):
    unit = unit_settings("union-worker.service")
    assert unit["EnvironmentFile"] == "/etc/union/union.env"
    assert shlex.split(unit["ExecStart"])[1:] == [
        "--app",
        "wsgi",
        "union",
        "worker",
        "--workers",
        "2",
    ]
    # Huey's consumer finishes running jobs on SIGINT; SIGTERM cuts them short.
    assert unit["KillSignal"] == "SIGINT"
    verify_unit(tmp_path, "union-worker.service")


def verify_unit(tmp_path, name):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit_file = tmp_path / name
    unit_file.write_text((DEPLOY / name).read_text().replace(INSTALLED_AT, str(ROOT)))
    verified = subprocess.run(  # noqa: S603 -- fixed arguments
        [analyze, "verify", str(unit_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
