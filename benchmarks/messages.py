"""A message to every member of a 100,000-member union: addressing it, then
delivering it through a real worker to a local SMTP sink.

    .venv/bin/python benchmarks/messages.py [--members 100000] [--database-url URL]
        [--deliver-seconds 60] [--workers 4] [--json PATH]

1. Makes a fresh PostgreSQL database (union_messages_bench on the server of
   $DATABASE_URL, else 127.0.0.1:5432; dropped and made again every run), builds
   the schema with the migrations and loads invented members through the data
   generator (its workplaces and members sections, with COPY). Every member with
   an account prefers email and has agreed to it. Not timed.
2. Times sending to everyone: `messages.send` and its commit, then the one job it
   records (every delivery written with one INSERT ... SELECT, and the batch jobs
   handed to the queue), run here as a worker would. Target: under 10 seconds.
   With --sqlite PATH, steps 1 and 2 run on a SQLite file instead, and stop there.
3. Starts an aiosmtpd sink on the loopback and a real worker (union.worker
   .run_worker: Huey on Redis, a consumer of --workers threads) in its own
   process, and counts the copies the sink takes for --deliver-seconds (0: until
   every email is sent). The sustained rate is measured after the first 5
   seconds, from the sink's own count. Then the message is paused, which the
   batches obey before their next recipient, and the worker stopped.

Everything here is invented; nothing reads real data. Needs PostgreSQL and Redis
on the loopback (benchmarks/postgres.sh starts PostgreSQL for `make bench`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import flask_migrate
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import current_app

from union import create_app, generate
from union.db import db
from union.generate import organisation, people
from union.models import (
    Channel,
    ConsentSource,
    ContactPreference,
    DeliveryState,
    Job,
    Member,
    MemberMessage,
    MessageConsent,
    MessageDelivery,
    MessageState,
    Role,
    RoleGrant,
    SegmentKind,
    User,
)
from union.services import jobs, messages

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = "union_messages_bench"
#: Now, as the worker's clock reads it: jobs recorded later than that would wait.
NOW = datetime.now(UTC)
QUEUE_NAME = "union-messages-bench"
#: Fixed keys for the invented data. Benchmark only.
SETTINGS = {
    "SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdef",
    "ENCRYPTION_KEYS": "YmVuY2gtZW5jcnlwdGlvbi1rZXktMzItYnl0ZXMtISE=",
    "LOOKUP_HASH_KEY": "bench-lookup-hash-key-not-for-production-0123456789",
    "PUBLIC_URL": "http://127.0.0.1:5000",
    "MAIL_FROM": "Union <union@example.org>",
}
WARM_UP_SECONDS = 5.0


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def target_url(given: str | None) -> sa.URL:
    if given:
        url = sa.make_url(given)
    else:
        server = os.environ.get("DATABASE_URL", "")
        if server.startswith(("postgres://", "postgresql")):
            url = sa.make_url(server.replace("postgres://", "postgresql://", 1))
        else:
            url = sa.make_url("postgresql://postgres:postgres@127.0.0.1:5432/postgres")
        url = url.set(database=DEFAULT_DATABASE)
    url = url.set(drivername="postgresql+psycopg")
    if "bench" not in (url.database or ""):
        raise SystemExit(f"{url.database!r} is dropped and made again: name it *bench*")
    return url


def fresh_database(url: sa.URL) -> None:
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        name = url.database
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def environment(url: sa.URL, smtp_port: int | None, redis: str) -> dict[str, str]:
    return {
        **os.environ,
        **SETTINGS,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "QUEUE_URL": redis,
        "QUEUE_NAME": QUEUE_NAME,
        "UNION_ENV": "development",
        **({"SMTP_URL": f"smtp+insecure://127.0.0.1:{smtp_port}"} if smtp_port else {}),
    }


# Invented data ---------------------------------------------------------------------


def populate(members: int) -> dict[str, int]:
    scale = generate.Scale.of(
        members=members,
        workplaces=max(1, members // 200),
        years=1,
        grievances=0,
        survey_answers=0,
    )
    generate.generate(
        scale,
        password_hash="",
        now=NOW,
        progress=lambda _section, _done, _total: None,
        sections=(organisation.workplaces, people.members, people.counters),
    )
    # Everyone with an account prefers email and agreed to it on joining.
    db.session.execute(
        sa.update(Member)
        .where(Member.user_id.is_not(None))
        .values(contact_preference=ContactPreference.EMAIL)
    )
    db.session.execute(
        sa.text(
            "INSERT INTO message_consents (member_id, channel, granted, at, source) "
            "SELECT id, :channel, true, :at, :source FROM members "
            "WHERE user_id IS NOT NULL"
        ),
        {
            "channel": Channel.EMAIL.value,
            "at": NOW,
            "source": ConsentSource.JOINING_FORM.value,
        },
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(sa.text("VACUUM ANALYZE"))
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    return {
        str(preference): int(count)
        for preference, count in db.session.execute(
            sa.select(Member.contact_preference, sa.func.count()).group_by(
                Member.contact_preference
            )
        )
    }


def agree_by_email() -> int:
    """On a database made earlier (`make bench`'s): every member with an account who
    prefers email has agreed to it on joining, as `populate` records. Idempotent;
    returns how many agree to email."""
    already = sa.exists().where(
        MessageConsent.member_id == Member.id, MessageConsent.channel == Channel.EMAIL
    )
    db.session.execute(
        sa.insert(MessageConsent).from_select(
            ["member_id", "channel", "granted", "at", "source"],
            sa.select(
                Member.id,
                sa.literal(Channel.EMAIL.value),
                sa.true(),
                sa.literal(NOW, sa.DateTime(timezone=True)),
                sa.literal(ConsentSource.JOINING_FORM.value),
            ).where(
                Member.user_id.is_not(None),
                Member.contact_preference == ContactPreference.EMAIL,
                ~already,
            ),
        )
    )
    db.session.commit()
    agreeing = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(MessageConsent)
        .where(MessageConsent.channel == Channel.EMAIL, MessageConsent.granted)
    )
    return agreeing or 0


def forget(message_id: int) -> None:
    """Removes a benchmark's message, its deliveries and its jobs, so the database
    the pages are measured on stays as it was generated."""
    db.session.rollback()
    db.session.execute(
        sa.delete(Job).where(
            Job.kind.in_((messages.ADDRESSING_JOB, messages.BATCH_JOB)),
            sa.or_(
                Job.key == f"{messages.ADDRESSING_JOB}:{message_id}",
                Job.key.startswith(f"{messages.BATCH_JOB}:{message_id}:"),
            ),
        )
    )
    db.session.execute(
        sa.delete(MessageDelivery).where(MessageDelivery.message_id == message_id)
    )
    db.session.execute(sa.delete(MemberMessage).where(MemberMessage.id == message_id))
    db.session.commit()


@contextmanager
def app_for(url: sa.URL, redis: str) -> Iterator[Any]:
    """The app on `url` with the benchmark's keys and queue, inside its context;
    the process's environment is as it was afterwards."""
    saved = dict(os.environ)
    os.environ.update(environment(url, None, redis))
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url.render_as_string(False)})
        with app.app_context():
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        os.environ.clear()
        os.environ.update(saved)


# Addressing -------------------------------------------------------------------------


def address_everyone() -> dict[str, Any]:
    admin = db.session.scalars(
        sa.select(User)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == Role.ADMIN)
        .limit(1)
    ).one()
    started = time.perf_counter()
    message = messages.send(
        messages.Draft(
            messages.Segment(SegmentKind.EVERYONE),
            "General meeting on Thursday",
            "Come to the general meeting on Thursday at 6 in the union hall.",
            "Assemblée générale jeudi",
            "Venez à l'assemblée générale jeudi à 18 h, à la salle du syndicat.",
        ),
        actor=admin,
        now=NOW,
        texts_enabled=False,
    )
    db.session.commit()
    recorded = time.perf_counter()
    job_id = db.session.scalar(
        sa.select(Job.id).where(Job.kind == messages.ADDRESSING_JOB)
    )
    assert job_id is not None
    # As in the worker: the batch jobs it records are handed to the queue (Redis)
    # as it commits, and wait there for the worker started next.
    outcome = jobs.run(
        job_id, now=NOW, waker=current_app.extensions["union_queue"].waker
    )
    assert outcome.done, outcome
    finished = time.perf_counter()
    by_channel = {
        channel: int(count)
        for channel, count in db.session.execute(
            sa.select(MessageDelivery.channel, sa.func.count())
            .where(MessageDelivery.message_id == message.id)
            .group_by(MessageDelivery.channel)
        )
    }
    batches = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Job)
        .where(Job.kind == messages.BATCH_JOB)
    )
    return {
        "message_id": message.id,
        "send_seconds": recorded - started,
        "address_seconds": finished - recorded,
        "queued_seconds": finished - started,
        "deliveries": sum(by_channel.values()),
        "by_email": by_channel.get(Channel.EMAIL, 0),
        "in_person": by_channel.get(Channel.IN_PERSON, 0),
        "batch_jobs": batches or 0,
    }


# Delivering -------------------------------------------------------------------------


class Sink:
    """Takes every message, counts it and keeps nothing."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 -- aiosmtpd's API
        with self.lock:
            self.count += 1
        return "250 OK"


WORKER = """
import sys
from union import create_app
from union.worker import run_worker
run_worker(create_app(), workers=int(sys.argv[1]), periodic=False)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Sending:
    """A message being delivered by a real worker to the sink, as it goes."""

    sink: Sink
    worker: subprocess.Popen[bytes]
    message_id: int
    to_send: int

    def check_worker(self) -> None:
        if self.worker.poll() is not None:
            error = (
                self.worker.stderr.read().decode()[-2000:] if self.worker.stderr else ""
            )
            raise SystemExit(f"the worker stopped: {error}")


@contextmanager
def sending(
    url: sa.URL, redis: str, *, message_id: int, workers: int
) -> Iterator[Sending]:
    """Starts the sink and a worker of `workers` threads; on leaving, pauses the
    message if it is still sending (the batches obey before their next recipient)
    and stops both."""
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(workers)],
        env=environment(url, port, redis),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    to_send = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(MessageDelivery)
        .where(
            MessageDelivery.message_id == message_id,
            MessageDelivery.channel == Channel.EMAIL,
        )
    )
    try:
        yield Sending(sink, worker, message_id, to_send or 0)
        db.session.rollback()
        message = db.session.get(MemberMessage, message_id)
        assert message is not None
        if message.state is MessageState.SENDING:
            messages.pause(message, actor=message_author(message), now=NOW)
            db.session.commit()
        time.sleep(2)
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        controller.stop()
        app_queue().flush()
        db.session.rollback()


def deliver(
    url: sa.URL, redis: str, *, message_id: int, seconds: float, workers: int
) -> dict[str, Any]:
    samples: list[tuple[float, int]] = []
    started = time.perf_counter()
    with sending(url, redis, message_id=message_id, workers=workers) as delivery:
        sink, to_send = delivery.sink, delivery.to_send
        while True:
            time.sleep(1)
            elapsed = time.perf_counter() - started
            samples.append((elapsed, sink.count))
            if sink.count >= to_send or (seconds and elapsed >= seconds):
                break
            delivery.check_worker()
    paused = sink.count < to_send
    sent = marked_sent(message_id)
    steady = [(t, n) for t, n in samples if t >= WARM_UP_SECONDS]
    rate = (
        (steady[-1][1] - steady[0][1]) / (steady[-1][0] - steady[0][0])
        if len(steady) >= 2
        else 0.0
    )
    per_second = [
        later[1] - earlier[1] for earlier, later in itertools.pairwise(steady)
    ]
    return {
        "workers": workers,
        "seconds": samples[-1][0] if samples else 0.0,
        "sink_received": sink.count,
        "marked_sent": sent,
        "to_send": to_send,
        "paused_at_the_end": paused,
        "sustained_per_second": rate,
        "median_per_second": statistics.median(per_second) if per_second else 0.0,
    }


def marked_sent(message_id: int) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(MessageDelivery)
            .where(
                MessageDelivery.message_id == message_id,
                MessageDelivery.state == DeliveryState.SENT,
            )
        )
        or 0
    )


def message_author(message: Any) -> User:
    author = db.session.get(User, message.author_id)
    assert author is not None
    return author


def app_queue() -> Any:
    return current_app.extensions["union_queue"].huey


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--database-url")
    # A database of its own, so no other app's worker shares the queue.
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--deliver-seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--json")
    parser.add_argument(
        "--sqlite",
        metavar="PATH",
        help="time the addressing on a SQLite file there instead (no delivery)",
    )
    arguments = parser.parse_args()

    if arguments.sqlite:
        Path(arguments.sqlite).unlink(missing_ok=True)
        url = sa.make_url(f"sqlite:///{Path(arguments.sqlite).resolve()}")
        say(f"fresh SQLite database {url.database} (addressing only)")
    else:
        url = target_url(arguments.database_url)
        say(f"fresh database {url.database}")
        fresh_database(url)
    results: dict[str, Any] = {"members": arguments.members}
    with app_for(url, arguments.redis) as app:
        flask_migrate.upgrade()
        say(f"inventing {arguments.members:,} members")
        results["preferences"] = populate(arguments.members)
        app.extensions["union_queue"].huey.flush()
        say("sending to everyone")
        results["addressing"] = address_everyone()
        addressing = results["addressing"]
        say(
            f"{addressing['deliveries']:,} deliveries ({addressing['by_email']:,} by "
            f"email, {addressing['in_person']:,} in person) and "
            f"{addressing['batch_jobs']} batch jobs queued in "
            f"{addressing['queued_seconds']:.2f} s (send {addressing['send_seconds']:.2f}"
            f" s, addressing job {addressing['address_seconds']:.2f} s)"
        )
        if arguments.sqlite:
            finish(results, arguments.json)
            return
        say(f"delivering with a worker of {arguments.workers} threads")
        results["delivery"] = deliver(
            url,
            arguments.redis,
            message_id=addressing["message_id"],
            seconds=arguments.deliver_seconds,
            workers=arguments.workers,
        )
        delivery = results["delivery"]
        say(
            f"{delivery['sink_received']:,} emails taken by the sink in "
            f"{delivery['seconds']:.0f} s: sustained {delivery['sustained_per_second']:.0f}"
            f"/s (median second {delivery['median_per_second']:.0f}/s); "
            f"{delivery['marked_sent']:,} marked sent"
        )
    finish(results, arguments.json)


def finish(results: dict[str, Any], path: str | None) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
