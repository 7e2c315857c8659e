"""The outbox: recording work in the caller's transaction, and running it.

`enqueue` adds a job to the session like any other change, so it commits or rolls
back with the change it follows. Once the caller has committed, `hand_off` wakes a
worker through the queue (union.adapters.queue); a worker `run`s the job: it claims
it for a lease, calls the kind's handler, and marks it done in the handler's own
transaction. A failure waits longer each time (`backoff`) and, after
MAX_ATTEMPTS, is parked until an admin retries it. `sweep` hands off whatever a
lost wake-up, a broker outage or a killed worker left behind, so the queue can
lose a message without the work being lost.

Handlers must be safe to run again: a worker killed after the work but before
marking it done runs it a second time. Those that send keep their own record of
what went out (an email job's key is its Message-ID; a message's deliveries are
marked one by one).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from union.db import db
from union.errors import NotFound
from union.models import Job, JobState, User
from union.services import audit

log = logging.getLogger(__name__)

#: The field a handler finds its job's idempotency key in, beside the payload.
KEY_FIELD = "job_key"

#: A job's handler: its payload as enqueued (plus KEY_FIELD), and the moment the
#: worker runs it.
Handler = Callable[[Mapping[str, Any], datetime], None]

MAX_ATTEMPTS = 8
#: How long a claim holds; a worker killed mid-job frees its job after this.
LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=6)
#: Jobs handed off by one sweep; the next sweep takes the rest.
SWEEP_BATCH = 2000

_handlers: dict[str, Handler] = {}

#: Where a session keeps the ids of jobs it has flushed, then committed.
_FLUSHED = "union.jobs_flushed"
_COMMITTED = "union.jobs_committed"


class Waker(Protocol):
    """What hands a job's id to a worker: the queue adapter."""

    def wake(self, job_id: int, *, at: datetime | None = None) -> None: ...


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Registers the function that runs jobs of `kind`."""

    def register(function: Handler) -> Handler:
        if kind in _handlers and _handlers[kind] is not function:
            raise ValueError(f"two handlers for jobs of kind {kind!r}")
        _handlers[kind] = function
        return function

    return register


def kinds() -> frozenset[str]:
    return frozenset(_handlers)


def new_key(kind: str) -> str:
    return f"{kind}:{uuid.uuid4().hex}"


def enqueue(
    kind: str,
    payload: Mapping[str, Any],
    *,
    now: datetime,
    key: str | None = None,
    run_after: datetime | None = None,
) -> Job | None:
    """Records a job in the caller's transaction (flushed, not committed).

    `key` makes it idempotent: a second job with the same key is not recorded,
    and None is returned. Without one, every call is a new job."""
    if kind not in _handlers:
        raise ValueError(f"no handler for jobs of kind {kind!r}")
    key = key or new_key(kind)
    if db.session.scalar(sa.select(Job.id).where(Job.key == key)) is not None:
        return None
    job = Job(
        kind=kind,
        key=key,
        payload=json.dumps(payload, separators=(",", ":"), sort_keys=True),
        run_after=run_after or now,
        created_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(job)
    except IntegrityError:
        # Another process recorded the same key between the check and here.
        return None
    db.session.info.setdefault(_FLUSHED, []).append(job.id)
    return job


#: A committed job's id, and when it may run (None: now).
Committed = tuple[int, datetime | None]


def take_committed() -> list[Committed]:
    """The jobs this session has committed since they were last taken."""
    committed: list[Committed] = db.session.info.pop(_COMMITTED, [])
    return committed


def wake_all(waker: Waker, committed: Iterable[Committed]) -> int:
    """Wakes a worker for each job. A wake-up that fails is logged and left to
    the sweep: the job is safe in the database."""
    woken = 0
    for job_id, at in committed:
        try:
            waker.wake(job_id, at=at)
        except Exception as error:  # the broker is down
            log.warning(
                "could not hand job %s to the queue: %s", job_id, type(error).__name__
            )
        else:
            woken += 1
    return woken


def hand_off(waker: Waker) -> int:
    """Wakes a worker for each job the session has committed since the last
    hand-off."""
    return wake_all(waker, take_committed())


def commit_and_hand_off(waker: Waker) -> None:
    db.session.commit()
    hand_off(waker)


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _committed(session: sa.orm.Session) -> None:
    flushed: list[int] = session.info.pop(_FLUSHED, [])
    if flushed:
        session.info.setdefault(_COMMITTED, []).extend((i, None) for i in flushed)


@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _rolled_back(session: sa.orm.Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_FLUSHED, None)


@dataclass(frozen=True, slots=True)
class Timing:
    """How long a claim holds, and the first wait after a failure (each next
    wait doubles). Shorter in tests that kill workers and stop mail servers."""

    lease: timedelta = LEASE
    first_retry: timedelta = FIRST_RETRY


def backoff(attempts: int, first_retry: timedelta = FIRST_RETRY) -> timedelta:
    """How long to wait after the `attempts`-th failure: doubling from 30
    seconds, at most six hours (30 s, 1 min, 2 min, ... 64 min, 2 h 8 min)."""
    wait: timedelta = first_retry * (2 ** max(attempts - 1, 0))
    return min(wait, LONGEST_WAIT)


def _runnable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(Job.state == JobState.WAITING, Job.run_after <= now),
        sa.and_(Job.state == JobState.RUNNING, Job.claimed_until < now),
    )


def claim(job_id: int, *, now: datetime, lease: timedelta = LEASE) -> Job | None:
    """Takes the job for LEASE if it is due and nobody holds it (committed)."""
    taken = db.session.execute(
        sa.update(Job)
        .where(Job.id == job_id, _runnable(now))
        .values(
            state=JobState.RUNNING,
            claimed_until=now + lease,
            attempts=Job.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return db.session.get(Job, job_id, populate_existing=True)


@dataclass(frozen=True, slots=True)
class Outcome:
    ran: bool
    done: bool = False
    parked: bool = False
    retry_at: datetime | None = None
    kind: str | None = None

    @property
    def name(self) -> str:
        """For metrics: done, retrying or parked (or skipped: not run)."""
        if not self.ran:
            return "skipped"
        if self.done:
            return "done"
        return "parked" if self.parked else "retrying"


def run(
    job_id: int, *, now: datetime, waker: Waker, timing: Timing = Timing()
) -> Outcome:
    """Claims and runs one job; commits its work with its completion."""
    job = claim(job_id, now=now, lease=timing.lease)
    if job is None:
        return Outcome(ran=False)
    kind = job.kind
    run_handler = _handlers.get(kind)
    try:
        if run_handler is None:
            raise LookupError(f"no handler for {kind}")
        run_handler({**json.loads(job.payload), KEY_FIELD: job.key}, now)
        job = _held(job_id)
        job.state = JobState.DONE
        job.finished_at = now
        job.claimed_until = None
        job.error_class = None
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        outcome = _failed(job_id, error, now=now, first_retry=timing.first_retry)
        hand_off(waker)
        return outcome
    hand_off(waker)
    return Outcome(ran=True, done=True, kind=kind)


def _held(job_id: int) -> Job:
    job = db.session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise LookupError(f"job {job_id} is gone")
    return job


def _failed(
    job_id: int, error: Exception, *, now: datetime, first_retry: timedelta
) -> Outcome:
    job = _held(job_id)
    job.error_class = type(error).__name__[:80]
    job.claimed_until = None
    log.warning(
        "job %s (%s) failed on attempt %s: %s",
        job.id,
        job.kind,
        job.attempts,
        job.error_class,
    )
    if job.attempts >= MAX_ATTEMPTS:
        job.state = JobState.PARKED
        db.session.commit()
        return Outcome(ran=True, parked=True, kind=job.kind)
    job.state = JobState.WAITING
    job.run_after = now + backoff(job.attempts, first_retry)
    retry_at = job.run_after
    db.session.commit()
    db.session.info.setdefault(_COMMITTED, []).append((job_id, retry_at))
    return Outcome(ran=True, retry_at=retry_at, kind=job.kind)


def sweep(*, now: datetime, waker: Waker) -> int:
    """Hands off every due job nobody holds: wake-ups lost to a broker outage, a
    restart or a killed worker. Returns how many."""
    due = db.session.scalars(
        sa.select(Job.id)
        .where(_runnable(now))
        .order_by(Job.run_after, Job.id)
        .limit(SWEEP_BATCH)
    ).all()
    db.session.rollback()
    for job_id in due:
        waker.wake(job_id)
    return len(due)


def run_due(*, now: datetime, waker: Waker, limit: int = 10_000) -> int:
    """Runs every due job here, in this process, until none is left (for the
    `union run-jobs` command and tests). Returns how many ran."""
    ran = 0
    while ran < limit:
        due = db.session.scalars(
            sa.select(Job.id).where(_runnable(now)).order_by(Job.id).limit(100)
        ).all()
        db.session.rollback()
        if not due:
            break
        progressed = False
        for job_id in due:
            outcome = run(job_id, now=now, waker=_Nobody())
            if outcome.ran:
                ran += 1
                progressed = True
        if not progressed:
            break
    return ran


class _Nobody:
    def wake(self, job_id: int, *, at: datetime | None = None) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Backlog:
    waiting: int
    running: int
    parked: int
    #: When the oldest job still waiting was recorded.
    oldest_waiting: datetime | None


def backlog() -> Backlog:
    rows = db.session.execute(
        sa.select(Job.state, sa.func.count())
        .where(Job.state != JobState.DONE)
        .group_by(Job.state)
    ).all()
    counts: dict[JobState, int] = {row[0]: row[1] for row in rows}
    oldest = db.session.scalar(
        sa.select(sa.func.min(Job.created_at)).where(Job.state == JobState.WAITING)
    )
    return Backlog(
        waiting=counts.get(JobState.WAITING, 0),
        running=counts.get(JobState.RUNNING, 0),
        parked=counts.get(JobState.PARKED, 0),
        oldest_waiting=oldest,
    )


def parked(*, limit: int = 200) -> list[Job]:
    return list(
        db.session.scalars(
            sa.select(Job)
            .where(Job.state == JobState.PARKED)
            .order_by(Job.created_at.desc(), Job.id.desc())
            .limit(limit)
        )
    )


def retry(actor: User | None, job_ids: Iterable[int], *, now: datetime) -> int:
    """Puts parked jobs back in line for a fresh set of attempts (flushed).
    Raises NotFound when none of them is parked."""
    jobs = list(
        db.session.scalars(
            sa.select(Job).where(
                Job.id.in_(list(job_ids)), Job.state == JobState.PARKED
            )
        )
    )
    if not jobs:
        raise NotFound()
    for job in jobs:
        job.state = JobState.WAITING
        job.attempts = 0
        job.run_after = now
        job.error_class = None
        audit.record(
            "job.retried", actor=actor, now=now, subject=job, detail=f"kind={job.kind}"
        )
        db.session.info.setdefault(_FLUSHED, []).append(job.id)
    db.session.flush()
    return len(jobs)
