"""The worker: Huey tasks that run the outbox's jobs, and the schedule.

`install` builds the queue from the configuration and registers three tasks on
it: `union.run_job` (one job, by id), `union.sweep` (every minute: hands off what
a lost wake-up left behind) and `union.schedule` (every five minutes: records each
scheduled job once per period). The schedule is made exactly-once by the
outbox's unique keys, not by running one scheduler: every worker may run one.

`flask union worker` starts a consumer; `make run` starts one beside the web
server, and production runs it as its own service (deploy/union-worker.service).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from huey import crontab

from union import clock
from union.adapters import backup
from union.adapters.queue import HueyWaker, huey_from_config
from union.clock import utcnow
from union.db import db
from union.models import Member
from union.services import card_dues, dues, grievances, jobs, retention
from union.web import metrics, notifications
from union.web.handoff import Queue, commit, hand_off_after_response, timing, waker

log = logging.getLogger(__name__)


def install(app: Flask) -> Queue:
    huey = huey_from_config(app.config)

    def in_app(work: Any) -> Any:
        with app.app_context():
            try:
                return work()
            finally:
                db.session.remove()

    @huey.task(name="union.run_job")
    def run_job(job_id: int) -> None:
        started = time.perf_counter()
        outcome = in_app(
            lambda: jobs.run(job_id, now=utcnow(), waker=waker(), timing=timing())
        )
        metrics.count_job(outcome, time.perf_counter() - started)

    @huey.periodic_task(crontab(minute="*"), name="union.sweep")
    def sweep() -> None:
        in_app(lambda: jobs.sweep(now=utcnow(), waker=waker()))

    @huey.periodic_task(crontab(minute="*/5"), name="union.schedule")
    def schedule() -> None:
        in_app(lambda: record_schedule(now=utcnow()))

    queue = Queue(huey, HueyWaker(huey, run_job), schedule)
    app.extensions["union_queue"] = queue
    app.after_request(hand_off_after_response)
    return queue


# -- The schedule -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scheduled:
    kind: str
    #: How often: "day" (once a local day, from `hour`) or "hour".
    every: str
    hour: int = 0


#: What the union's worker does on its own, by job kind.
SCHEDULE: tuple[Scheduled, ...] = (
    Scheduled("grievance-reminders", "hour"),
    Scheduled("dues-reminders", "day", hour=10),
    Scheduled("retention", "day", hour=3),
    Scheduled("stripe-reconcile", "day", hour=4),
    Scheduled("backup", "day", hour=2),
)


def period_key(entry: Scheduled, now: datetime) -> str | None:
    """This period's key for `entry`, or None before its hour of the local day."""
    local = now.astimezone(clock.union_zone())
    if entry.every == "hour":
        return f"schedule:{entry.kind}:{local:%Y-%m-%dT%H}"
    if local.hour < entry.hour:
        return None
    return f"schedule:{entry.kind}:{local:%Y-%m-%d}"


def enabled(entry: Scheduled, config: Mapping[str, Any]) -> bool:
    if entry.kind == "backup":
        return bool(config.get("BACKUP_FOLDER"))
    if entry.kind == "stripe-reconcile":
        return bool(config.get("STRIPE_SECRET_KEY"))
    return True


def record_schedule(*, now: datetime) -> list[str]:
    """Records this period's job for each scheduled kind not yet recorded, and
    hands them off. Any number of workers may call it at once: the outbox's
    unique key keeps one job per period."""
    recorded = []
    for entry in SCHEDULE:
        key = period_key(entry, now)
        if key is None or not enabled(entry, current_app.config):
            continue
        if jobs.enqueue(entry.kind, {}, now=now, key=key) is not None:
            recorded.append(key)
    commit()
    return recorded


def run_worker(app: Flask, *, workers: int, periodic: bool = True) -> None:
    queue: Queue = app.extensions["union_queue"]
    if queue.huey.immediate:
        raise RuntimeError("QUEUE_URL is inline: there is no queue to work from")
    with app.app_context():
        jobs.sweep(now=utcnow(), waker=queue.waker)
        db.session.remove()
    consumer = queue.huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=periodic,
        initial_delay=0.05,
        max_delay=1.0,
        check_worker_health=True,
    )
    consumer.run()


def backup_folder(config: Mapping[str, Any]) -> Path:
    return Path(config["BACKUP_FOLDER"])


#: How far back the scheduled reconciliation compares invoices.
RECONCILE_WINDOW = timedelta(days=90)


# -- What the schedule runs (the CLI commands of the same names share these) --


def remind_grievance_deadlines(*, now: datetime) -> int:
    """Records the email of each grievance deadline reminder due (flushed): the
    claim and the emails commit together, so each goes out once."""
    reminders = grievances.claim_due_reminders(now=now)
    for reminder in reminders:
        notifications.send_grievance_reminder(reminder)
    return len(reminders)


def remind_dues(*, now: datetime) -> int:
    """Records this month's dues reminders and their emails (flushed)."""
    reminders = dues.claim_reminders(now=now)
    queued = 0
    for reminder in reminders:
        member = db.session.get(Member, reminder.member_id)
        if member is not None and member.user is not None:
            queued += notifications.send_dues_reminder(
                member.user, arrears=reminder.arrears
            )
    return queued


@jobs.handler("grievance-reminders")
def _grievance_reminders(payload: Mapping[str, Any], now: datetime) -> None:
    remind_grievance_deadlines(now=now)


@jobs.handler("dues-reminders")
def _dues_reminders(payload: Mapping[str, Any], now: datetime) -> None:
    remind_dues(now=now)


@jobs.handler("retention")
def _retention(payload: Mapping[str, Any], now: datetime) -> None:
    periods = retention.RetentionPeriods.from_days(current_app.config["RETENTION_DAYS"])
    counts = retention.apply_retention(
        periods, now=now, storage=current_app.extensions["union_documents"]
    )
    log.info("retention: %s records removed", sum(counts.values()))


@jobs.handler("stripe-reconcile")
def _stripe_reconcile(payload: Mapping[str, Any], now: datetime) -> None:
    drifts = card_dues.reconcile(
        current_app.extensions["union_payments"],
        now=now,
        repair=False,
        days=RECONCILE_WINDOW.days,
    )
    if drifts:
        # Counted by kind only; `union reconcile-stripe` shows the details.
        kinds = sorted({drift.kind for drift in drifts})
        log.warning("Stripe reconciliation: %s differences (%s)", len(drifts), kinds)


@jobs.handler("backup")
def _backup(payload: Mapping[str, Any], now: datetime) -> None:
    backup.make_backup(
        db.engine,
        Path(current_app.config["DOCUMENT_STORAGE_PATH"]),
        backup_folder(current_app.config),
        now=now,
    )
