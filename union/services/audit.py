"""The append-only audit log: writing rows, reading them back for admins and for
the member a row is about.

There is deliberately no function here that changes or removes a row; the database
refuses both too (see union/models/audit.py). Only the retention job removes rows,
past a configured age, after recording the purge.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from union import clock
from union.adapters.csvsafe import csv_lines
from union.db import db
from union.models import AuditEvent, AuditPurge, Member, User
from union.services.paging import LIKE_ESCAPE, Page


def record(
    action: str,
    *,
    actor: User | None,
    now: datetime,
    subject: object | None = None,
    detail: str | None = None,
) -> AuditEvent:
    """Adds one audit row: who did what to which object, never the values involved."""
    subject_type = subject_id = None
    if subject is not None:
        subject_type = type(subject).__name__.lower()
        subject_id = str(getattr(subject, "id", "") or "") or None
    event = AuditEvent(
        at=now,
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail[:200] if detail else None,
    )
    db.session.add(event)
    return event


def record_report_pull(
    report: str,
    *,
    actor: User,
    now: datetime,
    artifact_id: object | None = None,
    exported: bool = False,
) -> AuditEvent:
    """Records that someone pulled (or exported) a report: which report and which
    stored artifact, never the figures in it. For the reports catalogue to call on
    every pull."""
    event = record(
        "report.exported" if exported else "report.pulled",
        actor=actor,
        now=now,
        detail=f"report={report}"[:200],
    )
    if artifact_id is not None:
        event.subject_type = "report"
        event.subject_id = str(artifact_id)[:64]
    return event


def record_access_refused(
    endpoint: str, *, actor: User, now: datetime, status: int
) -> AuditEvent:
    """Someone signed in asked for a page their role does not allow (403), or for
    an object outside what they may see (404 from a scoped lookup)."""
    return record(
        "access.refused",
        actor=actor,
        now=now,
        detail=f"endpoint={endpoint[:120]} status={status}",
    )


# Reading ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor_id: int | None
    #: The actor's staff name or chosen name; None for the system or a removed account.
    actor_name: str | None
    action: str
    subject_type: str | None
    subject_id: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    #: An action or the start of one ("grievance." finds every grievance action).
    action: str = ""
    actor_id: int | None = None
    subject_type: str = ""
    subject_id: str = ""
    #: Calendar days in the union's zone, both included.
    from_day: date | None = None
    to_day: date | None = None


AuditSelect = sa.Select[AuditEvent, str | None, str]


def _with_actor_names() -> AuditSelect:
    """Audit rows with their actor's staff name and chosen name, in one query."""
    actor = aliased(User)
    member = aliased(Member)
    return (
        sa.select(AuditEvent, actor.name, member.chosen_name)
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .outerjoin(member, member.user_id == actor.id)
    )


def _filtered(filters: AuditFilter) -> AuditSelect:
    statement = _with_actor_names()
    action = filters.action.strip().lower()
    if action:
        escaped = (
            action.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
            .replace("%", LIKE_ESCAPE + "%")
            .replace("_", LIKE_ESCAPE + "_")
        )
        statement = statement.where(
            AuditEvent.action.like(escaped + "%", escape=LIKE_ESCAPE)
        )
    if filters.actor_id is not None:
        statement = statement.where(AuditEvent.actor_id == filters.actor_id)
    if filters.subject_type.strip():
        statement = statement.where(
            AuditEvent.subject_type == filters.subject_type.strip().lower()
        )
    if filters.subject_id.strip():
        statement = statement.where(AuditEvent.subject_id == filters.subject_id.strip())
    if filters.from_day is not None:
        statement = statement.where(
            AuditEvent.at >= clock.start_of_day(filters.from_day)
        )
    if filters.to_day is not None and filters.to_day < date.max:
        statement = statement.where(
            AuditEvent.at < clock.start_of_day(filters.to_day + timedelta(days=1))
        )
    return statement.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def _row(
    event: AuditEvent, staff_name: str | None, chosen_name: str | None
) -> AuditRow:
    return AuditRow(
        id=event.id,
        at=event.at,
        actor_id=event.actor_id,
        actor_name=chosen_name or staff_name,
        action=event.action,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        detail=event.detail,
    )


def audit_page(filters: AuditFilter, *, page: int, per_page: int) -> Page[AuditRow]:
    """One page of the log, newest first, in two queries whatever its size."""
    statement = _filtered(filters)
    page = max(1, page)
    total = (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())
        )
        or 0
    )
    rows = db.session.execute(
        statement.limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(
        items=[_row(*row) for row in rows],
        total=total,
        number=page,
        per_page=per_page,
    )


AUDIT_COLUMNS = (
    "at_utc",
    "actor_id",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "detail",
)


def audit_csv(filters: AuditFilter, *, actor: User, now: datetime) -> Iterator[str]:
    """The filtered log as CSV, safe to open in a spreadsheet. The export is itself
    recorded before the first line is streamed."""
    record("audit.exported", actor=actor, now=now)
    statement = _filtered(filters).execution_options(yield_per=1000)

    def rows() -> Iterator[list[object]]:
        for found in db.session.execute(statement):
            row = _row(*found)
            yield [
                row.at.isoformat(),
                row.actor_id or "",
                row.actor_name or "",
                row.action,
                row.subject_type or "",
                row.subject_id or "",
                row.detail or "",
            ]

    return csv_lines(AUDIT_COLUMNS, rows())


def entries_about(member: Member) -> list[AuditRow]:
    """Every audit row about a member's record or account, and the account's own
    sign-ins: who looked at or changed what about them, and when."""
    subjects = [
        sa.and_(
            AuditEvent.subject_type == "member",
            AuditEvent.subject_id == str(member.id),
        )
    ]
    if member.user_id is not None:
        subjects.append(
            sa.and_(
                AuditEvent.subject_type == "user",
                AuditEvent.subject_id == str(member.user_id),
            )
        )
        subjects.append(
            sa.and_(
                AuditEvent.actor_id == member.user_id,
                AuditEvent.action.like("account.%"),
            )
        )
    rows = db.session.execute(
        _with_actor_names()
        .where(sa.or_(*subjects))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    ).all()
    return [_row(*row) for row in rows]


# Retention ----------------------------------------------------------------------------


def purge_older_than(cutoff: datetime, *, now: datetime) -> int:
    """Removes audit rows older than `cutoff`, leaving the purge itself on record.
    The database allows the deletion only because the purge row comes first."""
    old = sa.select(sa.func.count()).where(AuditEvent.at < cutoff)
    if not db.session.scalar(old):
        return 0
    db.session.add(AuditPurge(at=now, cutoff_at=cutoff))
    db.session.flush()
    result = db.session.execute(sa.delete(AuditEvent).where(AuditEvent.at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
