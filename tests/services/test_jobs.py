"""The outbox: jobs recorded with their change, retried with backoff, parked after
repeated failures, retried by an admin; and the schedule's exactly-once keys."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from union import worker
from union.db import db
from union.errors import NotFound
from union.models import AuditEvent, Job, JobState, Role
from union.services import jobs

calls: list[Mapping[str, Any]] = []
failures: dict[str, int] = {}


@jobs.handler("test-records")
def _records(payload: Mapping[str, Any], now: datetime) -> None:
    calls.append(payload)


@jobs.handler("test-fails")
def _fails(payload: Mapping[str, Any], now: datetime) -> None:
    failures[payload["name"]] = failures.get(payload["name"], 0) + 1
    if failures[payload["name"]] <= payload["times"]:
        raise ConnectionRefusedError("the server at mail.example.org refused")


class Woken:
    def __init__(self) -> None:
        self.ids: list[tuple[int, datetime | None]] = []

    def wake(self, job_id: int, *, at: datetime | None = None) -> None:
        self.ids.append((job_id, at))


@pytest.fixture(autouse=True)
def clean_slate():
    calls.clear()
    failures.clear()


def job(job_id: int) -> Job:
    found = db.session.get(Job, job_id, populate_existing=True)
    assert found is not None
    return found


def test_a_job_is_recorded_with_the_change_and_gone_with_its_rollback(database, now):
    recorded = jobs.enqueue("test-records", {"n": 1}, now=now)
    assert recorded is not None
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
    assert jobs.take_committed() == []


def test_committed_jobs_are_handed_off_once(database, now):
    first = jobs.enqueue("test-records", {"n": 1}, now=now)
    second = jobs.enqueue("test-records", {"n": 2}, now=now)
    db.session.commit()
    woken = Woken()
    assert jobs.hand_off(woken) == 2
    assert [job_id for job_id, _ in woken.ids] == [first.id, second.id]
    assert jobs.hand_off(woken) == 0


def test_one_job_per_key_however_often_it_is_asked_for(database, now):
    assert jobs.enqueue("test-records", {}, now=now, key="once") is not None
    assert jobs.enqueue("test-records", {}, now=now, key="once") is None
    db.session.commit()
    assert jobs.enqueue("test-records", {}, now=now, key="once") is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1


def test_a_kind_without_a_handler_is_refused_when_recorded(database, now):
    with pytest.raises(ValueError, match="no handler"):
        jobs.enqueue("no-such-kind", {}, now=now)


def test_the_payload_is_encrypted_at_rest(database, now):
    jobs.enqueue("test-records", {"to": "robin@example.org"}, now=now)
    db.session.commit()
    stored = db.session.execute(sa.text("SELECT payload FROM jobs")).scalar_one()
    assert "robin" not in stored


def test_a_job_runs_once_and_is_done(database, now):
    recorded = jobs.enqueue("test-records", {"n": 7}, now=now)
    db.session.commit()
    outcome = jobs.run(recorded.id, now=now, waker=Woken())
    assert outcome.done
    assert calls == [{"n": 7, jobs.KEY_FIELD: recorded.key}]
    assert job(recorded.id).state is JobState.DONE
    # A second wake-up for the same job (a duplicate message) does nothing.
    assert not jobs.run(recorded.id, now=now, waker=Woken()).ran
    assert len(calls) == 1


def test_a_failing_job_waits_longer_each_time_then_is_parked(database, now):
    recorded = jobs.enqueue("test-fails", {"name": "a", "times": 99}, now=now)
    db.session.commit()
    jobs.take_committed()
    moment = now
    waits = []
    for _ in range(jobs.MAX_ATTEMPTS - 1):
        woken = Woken()
        outcome = jobs.run(recorded.id, now=moment, waker=woken)
        assert outcome.retry_at is not None
        assert woken.ids == [(recorded.id, outcome.retry_at)]
        # Not before its time.
        assert not jobs.run(recorded.id, now=moment, waker=Woken()).ran
        waits.append(outcome.retry_at - moment)
        moment = outcome.retry_at
    assert waits[:3] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
    ]
    assert jobs.run(recorded.id, now=moment, waker=Woken()).parked
    parked = job(recorded.id)
    assert parked.state is JobState.PARKED
    assert parked.attempts == jobs.MAX_ATTEMPTS
    # The error's class, never its message (which named a server, or could
    # name an address).
    assert parked.error_class == "ConnectionRefusedError"
    assert jobs.backlog().parked == 1


@given(st.integers(min_value=1, max_value=40))
def test_backoff_doubles_and_never_exceeds_six_hours(attempts):
    wait = jobs.backoff(attempts)
    assert timedelta(seconds=30) <= wait <= timedelta(hours=6)
    assert jobs.backoff(attempts + 1) in (wait * 2, timedelta(hours=6))


def test_an_admin_puts_parked_jobs_back_in_line(database, now, make):
    admin = make.user("admin@example.org", roles=(Role.ADMIN,))
    recorded = jobs.enqueue("test-fails", {"name": "b", "times": 0}, now=now)
    db.session.flush()
    recorded.state = JobState.PARKED
    recorded.attempts = jobs.MAX_ATTEMPTS
    db.session.commit()
    assert jobs.retry(admin, [recorded.id], now=now) == 1
    db.session.commit()
    assert job(recorded.id).state is JobState.WAITING
    assert job(recorded.id).attempts == 0
    assert jobs.run(recorded.id, now=now, waker=Woken()).done
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "job.retried")
    )
    assert event is not None and event.detail == "kind=test-fails"
    with pytest.raises(NotFound):
        jobs.retry(admin, [recorded.id], now=now)


def test_a_claim_that_lapsed_is_taken_again(database, now):
    recorded = jobs.enqueue("test-records", {}, now=now)
    db.session.commit()
    assert jobs.claim(recorded.id, now=now) is not None
    assert jobs.claim(recorded.id, now=now + timedelta(minutes=5)) is None
    woken = Woken()
    assert jobs.sweep(now=now + timedelta(minutes=5), waker=woken) == 0
    assert jobs.sweep(now=now + jobs.LEASE + timedelta(seconds=1), waker=woken) == 1
    assert jobs.run(recorded.id, now=now + jobs.LEASE * 2, waker=Woken()).done


def test_each_scheduled_job_is_recorded_once_per_period(database, app):
    morning = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)  # 11:00 in Toronto
    with app.test_request_context():
        first = worker.record_schedule(now=morning)
        again = worker.record_schedule(now=morning + timedelta(minutes=5))
        next_hour = worker.record_schedule(now=morning + timedelta(hours=1))
    assert sorted(first) == [
        "schedule:dues-reminders:2026-12-07",
        "schedule:grievance-reminders:2026-12-07T11",
        "schedule:retention:2026-12-07",
    ]
    assert again == []
    assert next_hour == ["schedule:grievance-reminders:2026-12-07T12"]


def test_a_daily_job_waits_for_its_hour_in_the_unions_time_zone():
    early = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # 02:00 in Toronto
    reminders = next(e for e in worker.SCHEDULE if e.kind == "dues-reminders")
    assert worker.period_key(reminders, early) is None
    assert (
        worker.period_key(reminders, early + timedelta(hours=8))
        == "schedule:dues-reminders:2026-12-07"
    )
