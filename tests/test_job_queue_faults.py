"""The job queue against its real parts: Redis as the broker, `flask union worker`
in its own process, an SMTP server on loopback and a database with real commits.

Each test breaks one thing the way production breaks: the mail server is away
for a while, a worker is killed in the middle of sending, the web process loses
the broker right after committing a join application, two schedulers fire at
once. Whatever happens, every email goes out, and none goes out twice.

Needs Redis on 127.0.0.1:6379 (.ci/run starts it). Each test has a queue name of
its own on database 11 and removes only that queue's keys, so two test runs on
one machine leave each other alone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask

from tests import factories
from tests.conftest import (
    SECRET,
    TEST_ENCRYPTION_KEY,
    UnionClient,
    config_for_tests,
    reset_schema,
)
from union import create_app
from union.db import db
from union.models import Job, JobState, Member, Role, User
from union.web import handoff, notifications

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/11"
ROOT = Path(__file__).resolve().parent.parent
LOOKUP_KEY = config_for_tests()["LOOKUP_HASH_KEY"]
#: Short enough for a test to wait out; production uses 10 minutes and 30 seconds.
LEASE_SECONDS = 3
FIRST_RETRY_SECONDS = 1


class Sink:
    """An SMTP server that keeps what it accepted. With `delay`, it takes that
    long to accept each message, as a slow relay does: a client that goes away
    in the meantime has sent nothing (no 250 reply, so the message is not
    accepted, and aiosmtpd cancels the handler)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.accepted: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 -- aiosmtpd hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.original_content)
        self.accepted.append((str(message["Message-ID"]), envelope.rcpt_tos[0]))
        return "250 Message accepted"

    def message_ids(self) -> list[str]:
        return [message_id for message_id, _ in self.accepted]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def broker() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("nothing answers on redis://127.0.0.1:6379 (.ci/run starts it)")
    yield REDIS_URL
    client.close()


class Deployment:
    """The web app (in this process) and workers (in their own), sharing a
    database, a Redis queue and a mail server."""

    def __init__(self, database_url: str, broker: str, tmp_path: Path) -> None:
        self.database_url = database_url
        self.smtp_port = free_port()
        self.queue_name = f"test-{uuid.uuid4().hex[:8]}"
        self.settings = {
            "QUEUE_URL": broker,
            "QUEUE_NAME": self.queue_name,
            "SMTP_URL": f"smtp+insecure://127.0.0.1:{self.smtp_port}",
            "JOB_LEASE_SECONDS": LEASE_SECONDS,
            "JOB_FIRST_RETRY_SECONDS": FIRST_RETRY_SECONDS,
        }
        self.app = create_app(
            config_for_tests(
                SQLALCHEMY_DATABASE_URI=database_url,
                MAIL_BACKEND="smtp",
                **self.settings,
            )
        )
        self.app.test_client_class = UnionClient
        reset_schema(self.app)
        self.tmp_path = tmp_path
        self.workers: list[subprocess.Popen[bytes]] = []
        self.servers: list[Controller] = []

    def start_worker(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": SECRET,
            "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
            "LOOKUP_HASH_KEY": LOOKUP_KEY,
            "UNION_ENV": "development",
            "PUBLIC_URL": "http://union.test",
            **{name: str(value) for name, value in self.settings.items()},
        }
        path = self.tmp_path / f"worker-{len(self.workers)}.log"
        with path.open("wb") as log:
            process = self._spawn(env, log)
        self.workers.append(process)
        return process

    def _spawn(self, env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "flask", "--app", "wsgi", "union", "worker"]
        return subprocess.Popen(  # noqa: S603 -- our own command, no outside input
            [*command, "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start_mail_server(self, sink: Sink) -> None:
        controller = Controller(sink, hostname="127.0.0.1", port=self.smtp_port)
        controller.start()
        self.servers.append(controller)

    def queue_emails(self, count: int, now: Any) -> list[str]:
        """Records `count` emails to different people, committed and handed
        off as any change that sends one; returns their addresses."""
        addresses = [f"member{index}@example.org" for index in range(count)]
        with self.app.app_context():
            make = factories.Factories(now)
            for address in addresses:
                notifications.send_correction_answered(make.user(address))
            handoff.commit()
        return addresses

    def jobs(self, kind: str = "email") -> list[Job]:
        with self.app.app_context():
            found = list(
                db.session.scalars(
                    sa.select(Job).where(Job.kind == kind).order_by(Job.id)
                )
            )
            db.session.expunge_all()
            return found

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.workers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for controller in self.servers:
            controller.stop()
        client = redis.Redis.from_url(str(self.settings["QUEUE_URL"]), socket_timeout=2)
        for key in client.scan_iter(match=f"*{self.queue_name}*"):
            client.delete(key)
        client.close()
        with self.app.app_context():
            db.engine.dispose()

    def worker_log(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")
            for path in sorted(self.tmp_path.glob("worker-*.log"))
        )


@pytest.fixture
def deployment(
    broker: str, fresh_database_url: str, tmp_path: Path
) -> Iterator[Deployment]:
    running = Deployment(fresh_database_url, broker, tmp_path)
    try:
        yield running
    finally:
        running.stop()


def wait_for(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"waited {seconds} s for {what}")


def test_mail_server_down_for_a_while_then_up_delivers_everything_once(deployment, now):
    addresses = deployment.queue_emails(3, now)
    deployment.start_worker()
    wait_for(
        lambda: all(job.attempts >= 2 for job in deployment.jobs()),
        seconds=30,
        what="each email to fail twice while the mail server is away",
    )
    waiting = deployment.jobs()
    assert {job.state for job in waiting} <= {JobState.WAITING, JobState.RUNNING}
    assert {job.error_class for job in waiting} == {"ConnectionRefusedError"}

    sink = Sink()
    deployment.start_mail_server(sink)
    wait_for(
        lambda: len(sink.accepted) >= 3,
        seconds=60,
        what="the emails once the mail server is back",
    )
    time.sleep(2 * FIRST_RETRY_SECONDS)
    assert sorted(to for _, to in sink.accepted) == sorted(addresses)
    assert len(set(sink.message_ids())) == 3
    assert {job.state for job in deployment.jobs()} == {JobState.DONE}
    # The log names the kind of failure, never whom the email was for.
    log = deployment.worker_log()
    assert "ConnectionRefusedError" in log
    assert not any(address in log for address in addresses)


def test_a_worker_killed_mid_send_sends_nothing_twice(deployment, now):
    sink = Sink(delay=1.5)
    deployment.start_mail_server(sink)
    addresses = deployment.queue_emails(3, now)
    first = deployment.start_worker()
    wait_for(lambda: len(sink.accepted) == 1, seconds=30, what="the first email")
    time.sleep(0.5)  # the second email is now with the mail server
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    held = [job for job in deployment.jobs() if job.state is JobState.RUNNING]
    assert len(held) == 1, "the killed worker held the second email"

    time.sleep(LEASE_SECONDS)  # until its claim lapses
    deployment.start_worker()
    wait_for(lambda: len(sink.accepted) >= 3, seconds=60, what="every email")
    time.sleep(2)
    assert sorted(to for _, to in sink.accepted) == sorted(addresses)
    assert len(sink.message_ids()) == len(set(sink.message_ids())) == 3
    assert {job.state for job in deployment.jobs()} == {JobState.DONE}
    assert [job.attempts for job in deployment.jobs()] == [1, 2, 1]


def test_a_join_application_survives_losing_the_broker_right_after_commit(
    deployment, now, monkeypatch
):
    sink = Sink()
    deployment.start_mail_server(sink)
    app: Flask = deployment.app
    with app.app_context():
        make = factories.Factories(now)
        level = make.level("regular")
        workplace = make.workplace("Riverside CHC", site="Consumption site")
        job = make.classification("Peer worker")
        db.session.commit()
        level_id, workplace_id, job_id = level.id, workplace.id, job.id

    def broker_gone(job_id: int, *, at: Any = None) -> None:
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(app.extensions["union_queue"].waker, "wake", broker_gone)
    client = app.test_client()
    assert isinstance(client, UnionClient)
    response = client.submit(
        "/join",
        {
            "chosen_name": "Robin",
            "legal_name": "",
            "pronouns": "",
            "email": "robin@example.org",
            "phone": "",
            "contact_preference": "email",
            "membership_class": "employed",
            "workplace": str(workplace_id),
            "new_employer": "",
            "new_site": "",
            "classification": str(job_id),
            "dues_level": str(level_id),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/join/sent"
    [job] = deployment.jobs("join")
    assert job.state is JobState.WAITING

    # A worker started later (or the minute's sweep) finds it in the database.
    deployment.start_worker()
    wait_for(lambda: len(sink.accepted) == 1, seconds=30, what="the join email")
    assert sink.accepted[0][1] == "robin@example.org"
    with app.app_context():
        member = db.session.scalar(sa.select(Member))
        assert member is not None and member.chosen_name == "Robin"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_two_schedulers_firing_at_once_record_each_scheduled_job_once(deployment):
    deployment.start_worker()
    deployment.start_worker()
    queue = deployment.app.extensions["union_queue"]
    # What each worker's scheduler does at the top of a period, at once.
    for _ in range(4):
        queue.schedule()
    wait_for(
        lambda: len(deployment.jobs("grievance-reminders")) > 0,
        seconds=30,
        what="the scheduled jobs",
    )
    time.sleep(2)
    with deployment.app.app_context():
        keys = list(
            db.session.scalars(
                sa.select(Job.key).where(Job.key.startswith("schedule:"))
            )
        )
    assert len(keys) == len(set(keys))
    assert sum(key.startswith("schedule:grievance-reminders:") for key in keys) == 1
    wait_for(
        lambda: all(
            job.state is JobState.DONE for job in deployment.jobs("grievance-reminders")
        ),
        seconds=30,
        what="the scheduled job to run",
    )


def test_with_the_broker_down_the_web_keeps_answering_and_the_work_waits(
    fresh_database_url, caplog, now
):
    """Redis itself is away (nothing listens on its port): pages answer as ever,
    the work is in the database, and the admin page counts it."""
    app = create_app(
        config_for_tests(
            SQLALCHEMY_DATABASE_URI=fresh_database_url,
            QUEUE_URL=f"redis://127.0.0.1:{free_port()}/0",
        )
    )
    app.test_client_class = UnionClient
    reset_schema(app)
    with app.app_context():
        factories.Factories(now).user("admin@example.org", roles=(Role.ADMIN,))
        db.session.commit()
    client = app.test_client()
    assert isinstance(client, UnionClient)
    started = time.monotonic()
    response = client.submit("/password/forgot", {"email": "admin@example.org"})
    assert response.status_code == 302
    assert time.monotonic() - started < 5
    assert "could not hand job" in caplog.text
    assert "admin@example.org" not in caplog.text
    client.sign_in("admin@example.org")
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert client.get("/").status_code == 200
    with app.app_context():
        [waiting] = db.session.scalars(sa.select(Job)).all()
        assert waiting.state is JobState.WAITING
    assert "Waiting" in page
    with app.app_context():
        db.engine.dispose()
