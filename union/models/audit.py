"""The append-only record of who did or saw what. It never holds the values.

The database itself refuses to change or remove an audit row (triggers added by
the migration, on SQLite and PostgreSQL alike). The one exception is the retention
job: it first records an `AuditPurge` with a cutoff, and only rows older than a
recorded cutoff may then be deleted. Purges are themselves append-only, so every
deletion leaves a trace of when and how far back it went.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from union.clock import utcnow
from union.db import Model


class AuditEvent(Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: The account that acted; None for the system (commands, webhooks, anonymous).
    #: No foreign key on purpose: the row outlives the account and is never
    #: rewritten when one is removed.
    actor_id: Mapped[int | None] = mapped_column(index=True)
    #: A dotted verb such as "role.granted" or "roster.exported".
    action: Mapped[str] = mapped_column(sa.String(64))
    subject_type: Mapped[str | None] = mapped_column(sa.String(32))
    subject_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: Non-personal context such as "role=steward" or "rows=120"; never names or text.
    detail: Mapped[str | None] = mapped_column(sa.String(200))


class AuditPurge(Model):
    """The retention job removing audit rows older than `cutoff_at`."""

    __tablename__ = "audit_purges"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    cutoff_at: Mapped[datetime]
