"""The append-only audit log: writing rows, reading them back for admins and for
the member a row is about.

There is deliberately no function here that changes or removes a row; the database
refuses both too (see union/models/audit.py). Only the retention job removes rows,
past a configured age, after recording the purge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, aliased, joinedload

from union import clock
from union.adapters.csvsafe import csv_lines
from union.db import db
from union.models import (
    AuditEvent,
    AuditPurge,
    DuesLevel,
    DuesWaiver,
    Grievance,
    JobClassification,
    Member,
    SurveyRound,
    User,
    Workplace,
)
from union.services.paging import LIKE_ESCAPE, Page

#: What a row can be about: the lowercased class name of the object `record` is
#: given, or "report" for a stored report artifact.
SUBJECT_TYPES = (
    "member",
    "user",
    "grievance",
    "dueswaiver",
    "duespayment",
    "dueslevel",
    "remittance",
    "workplace",
    "jobclassification",
    "surveyround",
    "report",
    "breach",
    "rosterimport",
    "job",
    "membermessage",
)


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
    #: A member: lines about their record or their account, and their own sign-ins.
    member_id: int | None = None
    member_user_id: int | None = None
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
    if filters.member_id is not None:
        statement = statement.where(
            _about_member(filters.member_id, filters.member_user_id)
        )
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


def _about_member(member_id: int, user_id: int | None) -> sa.ColumnElement[bool]:
    """Rows about a member's record or account, and the account's own sign-ins."""
    subjects = [
        sa.and_(
            AuditEvent.subject_type == "member",
            AuditEvent.subject_id == str(member_id),
        )
    ]
    if user_id is not None:
        subjects.append(
            sa.and_(
                AuditEvent.subject_type == "user",
                AuditEvent.subject_id == str(user_id),
            )
        )
        subjects.append(
            sa.and_(
                AuditEvent.actor_id == user_id,
                AuditEvent.action.like("account.%"),
            )
        )
    return sa.or_(*subjects)


def entries_about(member: Member) -> list[AuditRow]:
    """Every audit row about a member's record or account, and the account's own
    sign-ins: who looked at or changed what about them, and when."""
    rows = db.session.execute(
        _with_actor_names()
        .where(_about_member(member.id, member.user_id))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    ).all()
    return [_row(*row) for row in rows]


# Naming what rows are about -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditNames:
    """What the app calls the accounts and things on a page of the log: an account
    by the name shown for it everywhere, a member by member number, a case by case
    number, a workplace by its name."""

    #: Accounts by id.
    users: dict[int, str]
    #: Everything else by (subject type, subject id).
    subjects: dict[tuple[str, str], str]

    def user(self, user_id: int | None) -> str | None:
        return None if user_id is None else self.users.get(user_id)

    def subject(self, subject_type: str | None, subject_id: str | None) -> str | None:
        if subject_type is None or subject_id is None:
            return None
        if subject_type == "user":
            user_id = row_id(subject_id)
            return None if user_id is None else self.users.get(user_id)
        return self.subjects.get((subject_type, subject_id))


#: Details that name an account (a steward assigned to a workplace or a case).
_USER_IN_DETAIL = re.compile(r"\buser=(\d+)\b")
#: The largest id an integer column holds; a longer "id" names nothing.
_MAX_ID = 2**31 - 1


def _workplace_name() -> sa.ColumnElement[str]:
    """`Workplace.name`, in SQL."""
    return sa.case(
        (Workplace.site == "", Workplace.employer),
        else_=Workplace.employer + " \u2013 " + Workplace.site,
    )


def _named_subjects() -> dict[
    str,
    tuple[
        InstrumentedAttribute[int], sa.ColumnElement[str] | InstrumentedAttribute[str]
    ],
]:
    """The id and the name of each kind of subject that has a name to show."""
    return {
        "member": (Member.id, sa.cast(Member.member_number, sa.String)),
        "grievance": (Grievance.id, Grievance.number),
        "dueswaiver": (DuesWaiver.id, sa.cast(DuesWaiver.case_number, sa.String)),
        "workplace": (Workplace.id, _workplace_name()),
        "dueslevel": (DuesLevel.id, DuesLevel.name),
        "jobclassification": (JobClassification.id, JobClassification.name),
        "surveyround": (SurveyRound.id, SurveyRound.name),
    }


def row_id(text: str | None) -> int | None:
    """The id a subject id or detail names, if it can name a row at all: plain
    ASCII digits ("²" and "١٢٣" are digits to Python) within an integer column."""
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if number <= _MAX_ID else None


def audit_names(
    rows: Sequence[AuditRow],
    *,
    user_ids: Iterable[int | None] = (),
    subjects: Iterable[tuple[str, str]] = (),
) -> AuditNames:
    """Names for the accounts and things `rows` mention, and for `user_ids` and
    `subjects` besides (those a filter names), in two queries whatever the rows."""
    wanted_users = {user_id for user_id in user_ids if user_id is not None}
    wanted_subjects = list(subjects)
    for row in rows:
        if row.actor_id is not None:
            wanted_users.add(row.actor_id)
        if row.subject_type is not None and row.subject_id is not None:
            wanted_subjects.append((row.subject_type, row.subject_id))
        for named in _USER_IN_DETAIL.findall(row.detail or ""):
            user_id = row_id(named)
            if user_id is not None:
                wanted_users.add(user_id)
    ids_by_kind: dict[str, set[int]] = {}
    for kind, text in wanted_subjects:
        subject_id = row_id(text)
        if subject_id is None:
            continue
        if kind == "user":
            wanted_users.add(subject_id)
        else:
            ids_by_kind.setdefault(kind, set()).add(subject_id)
    users = db.session.scalars(
        sa.select(User)
        .where(User.id.in_(sorted(wanted_users)))
        .options(joinedload(User.member))
    ).all()
    named = [
        sa.select(
            sa.literal_column(f"'{kind}'", sa.String), id_column, name_column
        ).where(id_column.in_(sorted(ids_by_kind.get(kind, set()))))
        for kind, (id_column, name_column) in _named_subjects().items()
    ]
    found = db.session.execute(sa.union_all(*named)).all()
    return AuditNames(
        users={user.id: user.display_name for user in users},
        subjects={(kind, str(subject_id)): name for kind, subject_id, name in found},
    )


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
