"""Work recorded for the worker: the outbox the job queue is fed from.

A job is written in the same transaction as the change it follows, so a change
that commits always has its work waiting, and work never exists for a change
that rolled back. The queue (Huey, see union.adapters.queue) only carries a job's
id as a wake-up; this table is what is true.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from union.adapters.crypto import EncryptedText
from union.clock import utcnow
from union.db import Model
from union.models.types import enum_type


class JobState(enum.StrEnum):
    #: Waiting for a worker, now or from `run_after`.
    WAITING = "waiting"
    #: A worker holds it until `claimed_until`; after that another may take it.
    RUNNING = "running"
    DONE = "done"
    #: Failed too often: waits for an admin to retry it.
    PARKED = "parked"


class Job(Model):
    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_state_run_after", "state", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Which handler runs it, e.g. "email" or "join".
    kind: Mapped[str] = mapped_column(sa.String(48))
    #: The idempotency key: one job per key, whoever asks twice. An email's
    #: Message-ID is built from it, so a resend is recognisable as the same email.
    key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    #: JSON, encrypted: it may hold an address or an application.
    payload: Mapped[str] = mapped_column(EncryptedText())
    state: Mapped[JobState] = mapped_column(
        enum_type(JobState), default=JobState.WAITING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    run_after: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    #: The class of the last error (e.g. "SMTPServerDisconnected"), never its
    #: message, which may quote an address.
    error_class: Mapped[str | None] = mapped_column(sa.String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
