"""Grievances: opening cases, moving them through their steps, notes, documents,
outcomes, who sees which case, the steward dashboard, reminders and calendar
feeds. (The organizers' grievance numbers are quarterly releases:
union.services.grievance_releases.)

Scope: admins see every case, a steward the cases of the workplaces they cover,
and nobody else any case page. A member sees only a summary of the cases that name
them, and organizers only the protected quarterly figures. The timeline, step
records and notes are only ever added to; nothing here edits or deletes them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import defer, joinedload, load_only, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from union import clock
from union.adapters.blind_index import search_digests
from union.adapters.documents import DocumentStorage, document_type
from union.db import database_integer, db
from union.errors import InvalidTransition, NotFound, ValidationFailed
from union.i18n import _
from union.labels import label
from union.models import (
    CalendarFeed,
    ContactPreference,
    Employment,
    Grievance,
    GrievanceCategory,
    GrievanceDocument,
    GrievanceEvent,
    GrievanceEventKind,
    GrievanceNote,
    GrievanceOutcome,
    GrievanceStep,
    GrievanceTitleWord,
    Member,
    MemberStatus,
    NotificationKind,
    Role,
    RoleGrant,
    SentReminder,
    StepDeadline,
    StepRecord,
    StewardAssignment,
    User,
    Workplace,
    grievance_grievants,
)
from union.models.grievances import TITLE_WORDS
from union.rules.grievance_steps import (
    CLOSING_STEP,
    MAX_STEP_DAYS,
    OPEN_STEPS,
    REMINDER_DAYS,
    Urgency,
    can_move,
    deadline_for,
    is_closed,
    reminder_due,
    step_days,
    urgency,
)
from union.services import audit, notifications_feed, numbers
from union.services.paging import LIKE_ESCAPE, Page, contains_pattern, paginate
from union.services.scope import acts_at

#: The longest a dashboard list grows; beyond it the full case list pages.
DASHBOARD_LIMIT = 200


@dataclass(frozen=True, slots=True)
class GrievanceDetails:
    category: GrievanceCategory
    title: str
    what_happened: str
    remedy_sought: str = ""
    incident_on: date | None = None


@dataclass(frozen=True, slots=True)
class NewGrievance:
    workplace_id: int | None
    details: GrievanceDetails
    #: Member ids; none for a group or policy grievance.
    grievant_ids: tuple[int, ...] = ()
    #: The steward to follow it; defaults to the steward opening it.
    steward_id: int | None = None


@dataclass(frozen=True, slots=True)
class Closing:
    outcome: GrievanceOutcome
    money_recovered_cents: int | None = None
    remedy_obtained: str = ""


# Who sees what ---------------------------------------------------------------


def _covered_workplace_ids(actor: User) -> sa.Select[int]:
    return sa.select(StewardAssignment.workplace_id).where(
        StewardAssignment.user_id == actor.id
    )


def visible_grievances(actor: User) -> sa.Select[Grievance]:
    """Cases whose page the actor may open: every case for admins, those of the
    covered workplaces for a steward, none for anyone else."""
    statement = sa.select(Grievance)
    if actor.has_role(Role.ADMIN):
        return statement
    if actor.has_role(Role.STEWARD):
        return statement.where(
            Grievance.workplace_id.in_(_covered_workplace_ids(actor))
        )
    return statement.where(sa.false())


def may_work_at(actor: User, workplace_id: int) -> bool:
    """Whether the actor may open and follow cases at this workplace."""
    return acts_at(actor, workplace_id)


def workable_workplaces(actor: User) -> list[Workplace]:
    """Workplaces where the actor may open a case, by name."""
    statement = sa.select(Workplace).order_by(Workplace.employer, Workplace.site)
    if not actor.has_role(Role.ADMIN):
        statement = statement.where(Workplace.id.in_(_covered_workplace_ids(actor)))
    return list(db.session.scalars(statement))


def workplace_for(actor: User, workplace_id: int) -> Workplace:
    """A workplace where the actor may follow cases, or NotFound."""
    workplace = db.session.get(Workplace, workplace_id)
    if workplace is None or not may_work_at(actor, workplace.id):
        raise NotFound
    return workplace


#: Everything the case page shows, in a fixed number of queries however long the
#: case's history is.
CASE_PAGE_LOADING = (
    joinedload(Grievance.workplace),
    joinedload(Grievance.steward).joinedload(User.member),
    selectinload(Grievance.grievants),
    selectinload(Grievance.step_records),
    selectinload(Grievance.events)
    .joinedload(GrievanceEvent.actor)
    .joinedload(User.member),
    selectinload(Grievance.events)
    .joinedload(GrievanceEvent.user)
    .joinedload(User.member),
    selectinload(Grievance.events).joinedload(GrievanceEvent.member),
)


def _load_notes_and_documents(grievance: Grievance) -> None:
    """Reads a case's notes and documents only when it has some: adding either puts
    an event on the case's timeline (add_note, add_document), which the case page
    has loaded already, so most cases cost no query for them."""
    kinds = {event.kind for event in grievance.events}

    def read(model: Any, added_by: Any) -> list[Any]:
        return list(
            db.session.scalars(
                sa.select(model)
                .where(model.grievance_id == grievance.id)
                .options(joinedload(added_by).joinedload(User.member))
                .order_by(model.id)
            )
        )

    for attribute, kind, model, added_by in (
        ("notes", GrievanceEventKind.NOTE_ADDED, GrievanceNote, GrievanceNote.author),
        (
            "documents",
            GrievanceEventKind.DOCUMENT_ADDED,
            GrievanceDocument,
            GrievanceDocument.uploaded_by,
        ),
    ):
        rows = read(model, added_by) if kind in kinds else []
        set_committed_value(grievance, attribute, rows)


def grievance_for(actor: User, public_id: str, *, full: bool = False) -> Grievance:
    """A case by public id, or NotFound when the actor may not see it. `full`
    loads everything the case page shows."""
    statement = visible_grievances(actor).where(Grievance.public_id == public_id)
    if full:
        statement = statement.options(*CASE_PAGE_LOADING)
    grievance = db.session.scalar(statement)
    if grievance is None:
        raise NotFound
    if full:
        _load_notes_and_documents(grievance)
    return grievance


def record_case_viewed(grievance: Grievance, *, actor: User, now: datetime) -> None:
    audit.record("grievance.viewed", actor=actor, now=now, subject=grievance)
    db.session.flush()


def may_read_notes(actor: User, grievance: Grievance) -> bool:
    """Confidential notes are for the stewards of the case's workplace and admins,
    however else the actor came to see the case."""
    return may_work_at(actor, grievance.workplace_id)


def record_case_file(
    grievance: Grievance,
    *,
    as_pdf: bool,
    with_notes: bool,
    actor: User,
    now: datetime,
) -> None:
    """Records that the actor printed or downloaded the case file, and whether it
    held the confidential notes (never what it said)."""
    audit.record(
        "grievance.case_file_downloaded" if as_pdf else "grievance.case_file_viewed",
        actor=actor,
        now=now,
        subject=grievance,
        detail="notes=included" if with_notes else "notes=omitted",
    )
    db.session.flush()


def candidate_grievants(workplace_id: int) -> list[Member]:
    """Members who may be named as grievants: those working there now."""
    return list(
        db.session.scalars(
            sa.select(Member)
            .where(
                Member.id.in_(_current_member_ids(workplace_id)),
                Member.status != MemberStatus.RESIGNED,
            )
            # A choice list of names and numbers: nothing encrypted to decrypt, for
            # what can be a thousand members.
            .options(load_only(Member.id, Member.chosen_name, Member.member_number))
            .order_by(Member.chosen_name, Member.member_number)
        )
    )


def _current_member_ids(workplace_id: int) -> sa.Select[int]:
    return sa.select(Employment.member_id).where(
        Employment.workplace_id == workplace_id, Employment.ended_on.is_(None)
    )


def steward_choices(grievance: Grievance) -> list[User]:
    """Who the case can move to: the other stewards covering its workplace."""
    return [
        steward
        for steward in covering_stewards(grievance.workplace_id)
        if steward.id != grievance.steward_id
    ]


def grievant_choices(grievance: Grievance) -> list[Member]:
    """Who can be named on the case: those working there now and not yet named."""
    named = {member.id for member in grievance.grievants}
    return [
        member
        for member in candidate_grievants(grievance.workplace_id)
        if member.id not in named
    ]


def covering_stewards(workplace_id: int) -> list[User]:
    """Active stewards covering the workplace, who may be assigned its cases."""
    found = db.session.scalars(
        sa.select(User)
        .join(StewardAssignment, StewardAssignment.user_id == User.id)
        .where(
            StewardAssignment.workplace_id == workplace_id,
            User.disabled_at.is_(None),
            User.id.in_(
                sa.select(RoleGrant.user_id).where(RoleGrant.role == Role.STEWARD)
            ),
        )
        .options(joinedload(User.member))
    ).unique()
    # Emails are encrypted, so the list is sorted by name here rather than in SQL.
    return sorted(found, key=lambda user: user.display_name.lower())


def _is_covering_steward(user_id: int, workplace_id: int) -> bool:
    return any(user.id == user_id for user in covering_stewards(workplace_id))


# Deadlines -------------------------------------------------------------------


def step_day_overrides(workplace_id: int) -> dict[GrievanceStep, int]:
    rows = db.session.execute(
        sa.select(StepDeadline.step, StepDeadline.days).where(
            StepDeadline.workplace_id == workplace_id
        )
    )
    return dict(rows.all())


def effective_step_days(workplace_id: int) -> dict[GrievanceStep, int]:
    """Days each open step lasts at this workplace (its contract, else the default)."""
    overrides = step_day_overrides(workplace_id)
    return {step: step_days(step, overrides) or 0 for step in OPEN_STEPS}


def set_step_days(
    workplace: Workplace,
    days: Mapping[GrievanceStep, int],
    *,
    actor: User,
    now: datetime,
) -> None:
    """Sets how many days each step lasts at a workplace. Deadlines already set
    stay as they are; the new numbers apply from the next move."""
    errors = {
        step.value: _("Enter a number of days from 1 to %(most)d.", most=MAX_STEP_DAYS)
        for step, value in days.items()
        if is_closed(step) or not 1 <= value <= MAX_STEP_DAYS
    }
    if errors:
        raise ValidationFailed(errors)
    existing = {
        row.step: row
        for row in db.session.scalars(
            sa.select(StepDeadline).where(StepDeadline.workplace_id == workplace.id)
        )
    }
    for step, value in days.items():
        row = existing.get(step)
        if row is None:
            db.session.add(
                StepDeadline(
                    workplace_id=workplace.id, step=step, days=value, updated_at=now
                )
            )
        elif row.days != value:
            row.days = value
            row.updated_at = now
    audit.record("grievance.step_days_changed", actor=actor, now=now, subject=workplace)
    db.session.flush()


# Changes ---------------------------------------------------------------------


def _check_details(details: GrievanceDetails, today: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not details.title.strip():
        errors["title"] = _("Give the case a short title.")
    if not details.what_happened.strip():
        errors["what_happened"] = _("Say what happened.")
    if details.incident_on is not None and details.incident_on > today:
        errors["incident_on"] = _("The date cannot be in the future.")
    return errors


def _apply_details(grievance: Grievance, details: GrievanceDetails) -> None:
    grievance.category = details.category
    grievance.title = details.title.strip()
    grievance.what_happened = details.what_happened.strip()
    grievance.remedy_sought = details.remedy_sought.strip()
    grievance.incident_on = details.incident_on


def _record_event(
    grievance: Grievance,
    kind: GrievanceEventKind,
    *,
    actor: User | None,
    now: datetime,
    step: GrievanceStep | None = None,
    user: User | None = None,
    member: Member | None = None,
) -> GrievanceEvent:
    event = GrievanceEvent(
        grievance=grievance,
        kind=kind,
        at=now,
        actor_id=actor.id if actor is not None else None,
        step=step,
        user_id=user.id if user is not None else None,
        member_id=member.id if member is not None else None,
    )
    db.session.add(event)
    return event


def _enter_step(
    grievance: Grievance,
    step: GrievanceStep,
    deadline_on: date | None,
    *,
    actor: User | None,
    now: datetime,
) -> None:
    grievance.step = step
    grievance.deadline_on = deadline_on
    grievance.updated_at = now
    db.session.add(
        StepRecord(
            grievance=grievance,
            step=step,
            entered_at=now,
            entered_on=clock.today(now),
            deadline_on=deadline_on,
            entered_by_id=actor.id if actor is not None else None,
        )
    )


def _next_case_number(today: date) -> str:
    """Per-year numbers, like 2026-0042, so a steward can say them out loud."""
    sequence = numbers.next_number(f"grievance_{today.year}")
    return f"{today.year}-{sequence:04d}"


def _new_case(
    workplace: Workplace,
    details: GrievanceDetails,
    *,
    grievants: list[Member],
    steward_id: int | None,
    actor: User,
    now: datetime,
) -> Grievance:
    """A new case at intake with its first deadline and the first line of its
    timeline, flushed; the caller has checked who may open it and records it."""
    today = clock.today(now)
    grievance = Grievance(
        number=_next_case_number(today),
        workplace=workplace,
        steward_id=steward_id,
        opened_on=today,
        opened_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    _apply_details(grievance, details)
    grievance.grievants = grievants
    days = step_days(GrievanceStep.INTAKE, step_day_overrides(workplace.id)) or 0
    _enter_step(
        grievance,
        GrievanceStep.INTAKE,
        deadline_for(today, days),
        actor=actor,
        now=now,
    )
    db.session.add(grievance)
    event = _record_event(grievance, GrievanceEventKind.OPENED, actor=actor, now=now)
    db.session.flush()
    _tell_grievants(grievance, NotificationKind.GRIEVANCE_OPENED, event, now=now)
    return grievance


def _tell_grievants(
    grievance: Grievance,
    kind: NotificationKind,
    event: GrievanceEvent,
    *,
    now: datetime,
) -> None:
    """Tells each grievant with an account the case's number, step and the day:
    never its title, notes or outcome, which an email or a shared screen would
    show to whoever reads it."""
    notifications_feed.notify(
        [member.user for member in grievance.grievants if member.user is not None],
        kind,
        {
            "number": grievance.number,
            "step": str(grievance.step),
            "on": clock.today(now).isoformat(),
        },
        about=f"grievance-{grievance.id}:event-{event.id}",
        now=now,
    )


def open_grievance(new: NewGrievance, *, actor: User, now: datetime) -> Grievance:
    """Opens a case at intake with its first deadline. Grievants must work at the
    workplace now; the steward must cover it."""
    today = clock.today(now)
    errors = _check_details(new.details, today)
    workplace = None
    if new.workplace_id is not None:
        workplace = db.session.get(Workplace, new.workplace_id)
    if workplace is None or not may_work_at(actor, workplace.id):
        raise ValidationFailed({"workplace": _("Choose a workplace from the list.")})
    grievants: list[Member] = []
    if new.grievant_ids:
        grievants = list(
            db.session.scalars(
                sa.select(Member).where(
                    Member.id.in_(new.grievant_ids),
                    Member.id.in_(_current_member_ids(workplace.id)),
                )
            )
        )
        if len(grievants) != len(set(new.grievant_ids)):
            errors["grievants"] = _("Choose grievants who work at this workplace.")
    steward_id = new.steward_id
    if steward_id is None and actor.has_role(Role.STEWARD):
        steward_id = actor.id
    if steward_id is None or not _is_covering_steward(steward_id, workplace.id):
        errors["steward"] = _("Choose a steward who covers this workplace.")
    if errors:
        raise ValidationFailed(errors)

    grievance = _new_case(
        workplace,
        new.details,
        grievants=grievants,
        steward_id=steward_id,
        actor=actor,
        now=now,
    )
    audit.record(
        "grievance.opened",
        actor=actor,
        now=now,
        subject=grievance,
        detail=f"grievants={len(grievants)}",
    )
    return grievance


def update_details(
    grievance: Grievance, details: GrievanceDetails, *, actor: User, now: datetime
) -> None:
    """Corrects what the case is about. The timeline records that it changed."""
    errors = _check_details(details, clock.today(now))
    if errors:
        raise ValidationFailed(errors)
    _apply_details(grievance, details)
    grievance.updated_at = now
    _record_event(grievance, GrievanceEventKind.DETAILS_CHANGED, actor=actor, now=now)
    audit.record("grievance.details_changed", actor=actor, now=now, subject=grievance)
    db.session.flush()


def move_grievance(
    grievance: Grievance,
    to: GrievanceStep,
    *,
    actor: User,
    now: datetime,
    deadline_on: date | None = None,
) -> None:
    """Moves an open case on to the next open step, with that step's deadline:
    the one given (an agreed date), else the workplace's days for the step.
    A move the state machine does not allow changes nothing."""
    if is_closed(to):
        raise InvalidTransition(_("To close a case, record its outcome."))
    if not can_move(grievance.step, to):
        raise InvalidTransition(
            _(
                "A case at %(current)s cannot move to %(wanted)s.",
                current=label(grievance.step),
                wanted=label(to),
            )
        )
    today = clock.today(now)
    if deadline_on is not None and deadline_on < today:
        raise ValidationFailed(
            {"deadline_on": _("The deadline cannot be in the past.")}
        )
    if deadline_on is None:
        days = step_days(to, step_day_overrides(grievance.workplace_id)) or 0
        deadline_on = deadline_for(today, days)
    _enter_step(grievance, to, deadline_on, actor=actor, now=now)
    event = _record_event(
        grievance, GrievanceEventKind.MOVED, actor=actor, now=now, step=to
    )
    audit.record(
        "grievance.moved", actor=actor, now=now, subject=grievance, detail=f"step={to}"
    )
    db.session.flush()
    _tell_grievants(grievance, NotificationKind.GRIEVANCE_MOVED, event, now=now)


def close_grievance(
    grievance: Grievance, closing: Closing, *, actor: User, now: datetime
) -> None:
    """Closes an open case with its outcome, money recovered and remedy obtained.
    The closed step follows from the outcome; closed cases stay closed."""
    if not grievance.is_open:
        raise InvalidTransition(_("This case is already closed."))
    to = CLOSING_STEP[closing.outcome]
    if not can_move(grievance.step, to):
        raise InvalidTransition(
            _(
                "A case at %(current)s cannot be closed as %(outcome)s.",
                current=label(grievance.step),
                outcome=label(closing.outcome),
            )
        )
    errors: dict[str, str] = {}
    money = closing.money_recovered_cents
    if money is not None and money < 0:
        errors["money_recovered"] = _("The amount cannot be negative.")
    won = closing.outcome in (GrievanceOutcome.WON, GrievanceOutcome.PARTLY_WON)
    if won and not closing.remedy_obtained.strip():
        errors["remedy_obtained"] = _("Say what was won.")
    if errors:
        raise ValidationFailed(errors)
    grievance.outcome = closing.outcome
    grievance.money_recovered_cents = money
    grievance.remedy_obtained = closing.remedy_obtained.strip() or None
    grievance.closed_on = clock.today(now)
    _enter_step(grievance, to, None, actor=actor, now=now)
    event = _record_event(
        grievance, GrievanceEventKind.OUTCOME_RECORDED, actor=actor, now=now, step=to
    )
    audit.record(
        "grievance.closed",
        actor=actor,
        now=now,
        subject=grievance,
        detail=f"outcome={closing.outcome}",
    )
    db.session.flush()
    _tell_grievants(grievance, NotificationKind.GRIEVANCE_CLOSED, event, now=now)


def add_note(
    grievance: Grievance, body: str, *, actor: User, now: datetime
) -> GrievanceNote:
    """Adds a confidential note. Notes are never changed or removed afterwards."""
    text = body.strip()
    if not text:
        raise ValidationFailed({"body": _("Write the note first.")})
    note = GrievanceNote(grievance=grievance, author=actor, body=text, created_at=now)
    db.session.add(note)
    _record_event(grievance, GrievanceEventKind.NOTE_ADDED, actor=actor, now=now)
    audit.record("grievance.note_added", actor=actor, now=now, subject=grievance)
    db.session.flush()
    return note


def _clean_filename(filename: str) -> str:
    """The last part of an uploaded name, without control characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable()).strip()
    return name[:200] or "document"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def add_document(
    grievance: Grievance,
    *,
    filename: str,
    data: bytes,
    storage: DocumentStorage,
    max_bytes: int,
    actor: User,
    now: datetime,
) -> GrievanceDocument:
    """Stores a PDF, PNG or JPEG for the case. The kind is read from the content;
    a refused file is not stored at all."""
    if not data:
        raise ValidationFailed({"file": _("That file is empty.")})
    if len(data) > max_bytes:
        raise ValidationFailed(
            {
                "file": _(
                    "That file is too big. Send files up to %(limit)s.",
                    limit=_megabytes(max_bytes),
                )
            }
        )
    kind = document_type(data)
    if kind is None:
        raise ValidationFailed(
            {
                "file": _(
                    "Send a PDF, PNG or JPEG file. This file is another kind, "
                    "whatever its name says."
                )
            }
        )
    # The bytes are written before the commit; if the commit then fails, the file
    # is left unreferenced under its random name, which reveals nothing.
    key = storage.save(data)
    document = GrievanceDocument(
        grievance=grievance,
        uploaded_by=actor,
        uploaded_at=now,
        filename=_clean_filename(filename),
        content_type=kind.content_type,
        size_bytes=len(data),
        storage_key=key,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    db.session.add(document)
    _record_event(grievance, GrievanceEventKind.DOCUMENT_ADDED, actor=actor, now=now)
    audit.record("grievance.document_added", actor=actor, now=now, subject=grievance)
    db.session.flush()
    return document


def document_for(grievance: Grievance, document_id: int) -> GrievanceDocument:
    document = db.session.scalar(
        sa.select(GrievanceDocument).where(
            GrievanceDocument.id == document_id,
            GrievanceDocument.grievance_id == grievance.id,
        )
    )
    if document is None:
        raise NotFound
    return document


def read_document(
    document: GrievanceDocument,
    *,
    storage: DocumentStorage,
    actor: User,
    now: datetime,
) -> bytes:
    """The document's bytes, recording who opened it."""
    try:
        data = storage.read(document.storage_key)
    except FileNotFoundError as error:
        raise NotFound from error
    audit.record(
        "grievance.document_viewed",
        actor=actor,
        now=now,
        subject=document.grievance,
        detail=f"document={document.id}",
    )
    db.session.flush()
    return data


def reassign_steward(
    grievance: Grievance, steward_id: int, *, actor: User, now: datetime
) -> None:
    """Hands the case to another steward covering its workplace."""
    if steward_id == grievance.steward_id:
        return
    steward = next(
        (s for s in covering_stewards(grievance.workplace_id) if s.id == steward_id),
        None,
    )
    if steward is None:
        raise ValidationFailed(
            {"steward": _("Choose a steward who covers this workplace.")}
        )
    grievance.steward_id = steward.id
    grievance.updated_at = now
    _record_event(
        grievance,
        GrievanceEventKind.STEWARD_REASSIGNED,
        actor=actor,
        now=now,
        user=steward,
    )
    audit.record(
        "grievance.steward_reassigned",
        actor=actor,
        now=now,
        subject=grievance,
        detail=f"user={steward.id}",
    )
    db.session.flush()


def add_grievant(
    grievance: Grievance, member_id: int, *, actor: User, now: datetime
) -> None:
    """Names one more member, working at the workplace now, as a grievant."""
    if not grievance.is_open:
        raise InvalidTransition(_("This case is closed."))
    member = db.session.scalar(
        sa.select(Member).where(
            Member.id == member_id,
            Member.id.in_(_current_member_ids(grievance.workplace_id)),
        )
    )
    if member is None:
        raise ValidationFailed(
            {"member": _("Choose a member who works at this workplace.")}
        )
    if member in grievance.grievants:
        raise ValidationFailed({"member": _("They are already a grievant.")})
    grievance.grievants.append(member)
    grievance.updated_at = now
    _record_event(
        grievance,
        GrievanceEventKind.GRIEVANT_ADDED,
        actor=actor,
        now=now,
        member=member,
    )
    audit.record("grievance.grievant_added", actor=actor, now=now, subject=grievance)
    db.session.flush()


# Problems members raise online -------------------------------------------------

#: Problems one member may raise online in a day: room for a bad week at work, not
#: for burying their stewards.
RAISED_PER_DAY = 3
RAISING_WINDOW = timedelta(days=1)
PROBLEM_TEXT_LIMIT = 5000
#: A member can be reached by text or call only if the union has their number.
NEEDS_PHONE = frozenset({ContactPreference.TEXT, ContactPreference.PHONE})


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem at work as a member tells it: what happened and when, where,
    and how they would like to be reached."""

    what_happened: str
    workplace_id: int | None
    contact_preference: ContactPreference | None
    incident_on: date | None = None


def own_workplaces(member: Member) -> list[Workplace]:
    """Where the member works now, by name: the only places they may raise a
    problem about."""
    places = {job.workplace.id: job.workplace for job in member.current_employments}
    return sorted(places.values(), key=lambda workplace: workplace.name.lower())


def problem_errors(problem: Problem, *, member: Member, today: date) -> dict[str, str]:
    """Everything wrong with a problem as typed, by field, all at once."""
    errors: dict[str, str] = {}
    text = problem.what_happened.strip()
    if not text:
        errors["what_happened"] = _("Tell us what happened.")
    elif len(text) > PROBLEM_TEXT_LIMIT:
        errors["what_happened"] = _(
            "Keep this under %(limit)d characters.", limit=PROBLEM_TEXT_LIMIT
        )
    if problem.incident_on is not None and problem.incident_on > today:
        errors["incident_on"] = _("The date cannot be in the future.")
    if problem.workplace_id not in {w.id for w in own_workplaces(member)}:
        errors["workplace"] = _("Choose one of the workplaces where you work.")
    if problem.contact_preference is None:
        errors["contact_preference"] = _("Choose how you would like to be reached.")
    elif problem.contact_preference in NEEDS_PHONE and not member.phone:
        errors["contact_preference"] = _(
            "We have no phone number for you. Add one to your details, "
            "or choose another way."
        )
    return errors


def _raised_lately_by(actor: User, now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        Grievance.is_raised_online.is_(True),
        Grievance.opened_by_id == actor.id,
        Grievance.created_at > now - RAISING_WINDOW,
    )


def may_raise_more(actor: User, *, now: datetime) -> bool:
    """Whether the member has raised fewer than RAISED_PER_DAY problems in the
    last day."""
    counted = sa.select(sa.func.count()).where(*_raised_lately_by(actor, now))
    return (db.session.scalar(counted) or 0) < RAISED_PER_DAY


def raise_problem(problem: Problem, *, actor: User, now: datetime) -> Grievance:
    """Opens a case at intake for a problem a member raises about their own work,
    naming them as grievant. It goes to the stewards covering that workplace (the
    one steward there follows it; with several, whoever takes it) and admins.

    The same problem sent again within a day (a double tap, a reload) opens
    nothing new and returns the first case."""
    member = actor.member
    if member is None:
        raise NotFound
    errors = problem_errors(problem, member=member, today=clock.today(now))
    if errors:
        raise ValidationFailed(errors)
    text = problem.what_happened.strip()
    lately = db.session.scalars(
        sa.select(Grievance).where(*_raised_lately_by(actor, now))
    ).all()
    for case in lately:
        if case.workplace_id == problem.workplace_id and case.what_happened == text:
            return case
    if len(lately) >= RAISED_PER_DAY:
        raise ValidationFailed(
            {
                "": _(
                    "You have raised %(count)d problems in the last day, as many "
                    "as can be sent online. Your stewards will read them. For "
                    "anything more, talk to a steward in person.",
                    count=RAISED_PER_DAY,
                )
            }
        )
    workplace = db.session.get_one(Workplace, problem.workplace_id)
    stewards = covering_stewards(workplace.id)
    grievance = _new_case(
        workplace,
        GrievanceDetails(
            category=GrievanceCategory.OTHER,
            # Stewards retitle it once they know what it is about; the member's
            # own words stay out of the title, which co-grievants would see.
            title=_("Problem raised online"),
            what_happened=text,
            incident_on=problem.incident_on,
        ),
        grievants=[member],
        steward_id=stewards[0].id if len(stewards) == 1 else None,
        actor=actor,
        now=now,
    )
    grievance.is_raised_online = True
    grievance.contact_preference = problem.contact_preference
    audit.record("grievance.raised", actor=actor, now=now, subject=grievance)
    db.session.flush()
    return grievance


# Pages -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseRow:
    grievance: Grievance
    urgency: Urgency | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    #: Open cases the actor follows (every open case for an admin who is not a
    #: steward), most pressing deadline first.
    mine: list[CaseRow]
    #: Other open cases at the workplaces a steward covers.
    others: list[CaseRow]
    counts_by_step: dict[GrievanceStep, int]

    @property
    def overdue(self) -> int:
        return sum(row.urgency is Urgency.OVERDUE for row in self.mine)

    @property
    def due_soon(self) -> int:
        return sum(row.urgency is Urgency.DUE_SOON for row in self.mine)

    @property
    def open_total(self) -> int:
        return sum(self.counts_by_step.values())


#: What a list of cases shows: workplace, steward, the title and no other text, so
#: the narratives are neither read nor decrypted for every row.
LIST_LOADING = (
    joinedload(Grievance.workplace),
    joinedload(Grievance.steward).joinedload(User.member),
    defer(Grievance.what_happened),
    defer(Grievance.remedy_sought),
    defer(Grievance.remedy_obtained),
)


def _by_deadline(statement: sa.Select[Grievance]) -> sa.Select[Grievance]:
    # Overdue cases have the earliest deadlines, so ascending order puts them first.
    return statement.order_by(
        Grievance.deadline_on.is_(None), Grievance.deadline_on, Grievance.number
    )


def dashboard(actor: User, *, today: date) -> Dashboard:
    """The steward's open cases, overdue first then by next deadline, with counts
    by step: four queries whatever the number of cases."""
    open_cases = visible_grievances(actor).where(Grievance.closed_on.is_(None))
    follows_own = actor.has_role(Role.STEWARD)
    mine_filter = Grievance.steward_id == actor.id if follows_own else sa.true()
    loading = LIST_LOADING
    mine = db.session.scalars(
        _by_deadline(open_cases.where(mine_filter))
        .options(*loading)
        .limit(DASHBOARD_LIMIT)
    ).all()
    others: list[Grievance] = []
    if follows_own:
        others = list(
            db.session.scalars(
                _by_deadline(
                    open_cases.where(
                        sa.or_(
                            Grievance.steward_id != actor.id,
                            Grievance.steward_id.is_(None),
                        )
                    )
                )
                .options(*loading)
                .limit(DASHBOARD_LIMIT)
            )
        )
    counted = (
        sa.select(Grievance.step, sa.func.count())
        .where(
            Grievance.id.in_(
                open_cases.where(mine_filter).with_only_columns(Grievance.id)
            )
        )
        .group_by(Grievance.step)
    )
    counts = dict.fromkeys(OPEN_STEPS, 0)
    counts.update(dict(db.session.execute(counted).all()))
    return Dashboard(
        mine=[CaseRow(g, urgency(g.deadline_on, today)) for g in mine],
        others=[CaseRow(g, urgency(g.deadline_on, today)) for g in others],
        counts_by_step=counts,
    )


def _found_by(text: str) -> Any:
    """SQL: the case's title has every typed word (at the start of one of its
    words), or a grievant's name has the text (or their member number is it).

    Titles are encrypted, so they are found by their word hashes
    (union.adapters.blind_index), never decrypted to be searched. Names are found
    as the roster finds them: chosen names, which are not encrypted; legal names
    are, and are not searched."""
    found = []
    digests = search_digests(TITLE_WORDS, text)
    if digests:
        found.append(
            sa.and_(
                *(
                    sa.exists().where(
                        GrievanceTitleWord.grievance_id == Grievance.id,
                        GrievanceTitleWord.digest == digest,
                    )
                    for digest in digests
                )
            )
        )
    number_text = text.lstrip("#")
    member: Any = sa.func.lower(Member.chosen_name).like(
        contains_pattern(text), escape=LIKE_ESCAPE
    )
    if number_text.isdecimal():
        number = database_integer(number_text)
        # A number too large for the column is nobody's.
        member = Member.member_number == number if number is not None else None
    if member is not None:
        # Asked of each case in scope, so that a steward's search reads their
        # cases' grievants rather than every member's name.
        found.append(
            sa.exists().where(
                grievance_grievants.c.grievance_id == Grievance.id,
                Member.id == grievance_grievants.c.member_id,
                member,
            )
        )
    return sa.or_(*found) if found else sa.false()


def case_list(
    actor: User,
    *,
    closed: bool | None = None,
    step: GrievanceStep | None = None,
    workplace_id: int | None = None,
    number: str = "",
    query: str = "",
    page: int = 1,
    per_page: int = 50,
) -> Page[Grievance]:
    """One page of the cases the actor may see, newest first; `query` finds cases
    by words of their title or by a grievant, within those cases only."""
    statement = visible_grievances(actor)
    if query.strip():
        statement = statement.where(_found_by(query.strip()))
    if closed is True:
        statement = statement.where(Grievance.closed_on.is_not(None))
    elif closed is False:
        statement = statement.where(Grievance.closed_on.is_(None))
    if step is not None:
        statement = statement.where(Grievance.step == step)
    if workplace_id is not None:
        statement = statement.where(Grievance.workplace_id == workplace_id)
    if number.strip():
        statement = statement.where(Grievance.number == number.strip().lstrip("#"))
    statement = statement.options(*LIST_LOADING).order_by(
        Grievance.opened_on.desc(), Grievance.number.desc()
    )
    return paginate(statement, page=page, per_page=per_page)


@dataclass(frozen=True, slots=True)
class OwnGrievance:
    """What a grievant sees of a case: never notes, documents or other names."""

    number: str
    title: str
    category: GrievanceCategory
    step: GrievanceStep
    step_since: date
    deadline_on: date | None
    urgency: Urgency | None
    opened_on: date
    closed_on: date | None
    outcome: GrievanceOutcome | None
    money_recovered_cents: int | None
    remedy_obtained: str | None
    #: Raised online by the member, and how they asked to be reached about it.
    is_raised_online: bool = False
    contact_preference: ContactPreference | None = None


def own_grievances(actor: User, *, today: date) -> list[OwnGrievance]:
    """The cases that name the actor as a grievant, open ones first."""
    if actor.member is None:
        return []
    named = sa.select(grievance_grievants.c.grievance_id).where(
        grievance_grievants.c.member_id == actor.member.id
    )
    since = (
        sa.select(sa.func.max(StepRecord.entered_on))
        .where(StepRecord.grievance_id == Grievance.id)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(Grievance, since)
        .where(Grievance.id.in_(named))
        .order_by(Grievance.closed_on.is_not(None), Grievance.opened_on.desc())
    ).all()
    return [
        OwnGrievance(
            number=g.number,
            title=g.title,
            category=g.category,
            step=g.step,
            step_since=step_since or g.opened_on,
            deadline_on=g.deadline_on,
            urgency=urgency(g.deadline_on, today),
            opened_on=g.opened_on,
            closed_on=g.closed_on,
            outcome=g.outcome,
            money_recovered_cents=g.money_recovered_cents,
            remedy_obtained=g.remedy_obtained,
            is_raised_online=g.is_raised_online,
            contact_preference=g.contact_preference,
        )
        for g, step_since in rows
    ]


#: How many of the problems a member raised their membership page lists.
RAISED_SHOWN = 10


@dataclass(frozen=True, slots=True)
class RaisedProblem:
    """What the member who raised a problem sees of it on their own pages: where
    it stands, never what stewards wrote or who else is named."""

    public_id: str
    number: str
    workplace_id: int
    workplace_name: str
    raised_on: date
    step: GrievanceStep
    closed_on: date | None
    outcome: GrievanceOutcome | None
    contact_preference: ContactPreference | None


def _raised_by_member(actor: User) -> sa.Select[Grievance]:
    """Problems the actor raised online and is still named on."""
    if actor.member is None:
        return sa.select(Grievance).where(sa.false())
    named = sa.select(grievance_grievants.c.grievance_id).where(
        grievance_grievants.c.member_id == actor.member.id
    )
    return (
        sa.select(Grievance)
        .where(
            Grievance.is_raised_online.is_(True),
            Grievance.opened_by_id == actor.id,
            Grievance.id.in_(named),
        )
        # Only where it stands: nothing encrypted is read for these.
        .options(
            load_only(
                Grievance.public_id,
                Grievance.number,
                Grievance.workplace_id,
                Grievance.opened_on,
                Grievance.step,
                Grievance.closed_on,
                Grievance.outcome,
                Grievance.contact_preference,
            ),
            joinedload(Grievance.workplace),
        )
    )


def _as_raised(grievance: Grievance) -> RaisedProblem:
    return RaisedProblem(
        public_id=grievance.public_id,
        number=grievance.number,
        workplace_id=grievance.workplace_id,
        workplace_name=grievance.workplace.name,
        raised_on=grievance.opened_on,
        step=grievance.step,
        closed_on=grievance.closed_on,
        outcome=grievance.outcome,
        contact_preference=grievance.contact_preference,
    )


def raised_problems(actor: User, *, limit: int = RAISED_SHOWN) -> list[RaisedProblem]:
    """The latest problems the actor raised online, newest first."""
    found = db.session.scalars(
        _raised_by_member(actor)
        .order_by(Grievance.created_at.desc(), Grievance.id.desc())
        .limit(limit)
    )
    return [_as_raised(grievance) for grievance in found]


def raised_problem_for(actor: User, public_id: str) -> RaisedProblem:
    """One problem the actor raised online, or NotFound for any other case."""
    grievance = db.session.scalar(
        _raised_by_member(actor).where(Grievance.public_id == public_id)
    )
    if grievance is None:
        raise NotFound
    return _as_raised(grievance)


# Reminders -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeadlineReminder:
    """One email to send: it names the case number and step, never people."""

    recipient: User
    public_id: str
    number: str
    step: GrievanceStep
    deadline_on: date
    days_before: int


def claim_due_reminders(*, now: datetime) -> list[DeadlineReminder]:
    """Records, and returns for sending, every deadline reminder due today: 3 days
    before, 1 day before and on the day, each at most once per step and deadline.

    The caller commits and then sends. A reminder claimed at the same moment by a
    run on another host is skipped here, by the unique key.
    """
    today = clock.today(now)
    candidates = db.session.scalars(
        sa.select(Grievance)
        .join(User, User.id == Grievance.steward_id)
        .where(
            Grievance.closed_on.is_(None),
            Grievance.deadline_on >= today,
            Grievance.deadline_on <= today + timedelta(days=max(REMINDER_DAYS)),
            User.disabled_at.is_(None),
        )
        .options(joinedload(Grievance.steward))
        .order_by(Grievance.deadline_on, Grievance.number)
    ).all()
    if not candidates:
        return []
    already = set(
        db.session.execute(
            sa.select(
                SentReminder.grievance_id,
                SentReminder.step,
                SentReminder.deadline_on,
                SentReminder.days_before,
            ).where(SentReminder.grievance_id.in_([g.id for g in candidates]))
        ).all()
    )
    claimed: list[DeadlineReminder] = []
    for grievance in candidates:
        deadline_on, steward = grievance.deadline_on, grievance.steward
        if deadline_on is None or steward is None:
            continue
        days_before = reminder_due(deadline_on, today)
        key = (grievance.id, grievance.step, deadline_on, days_before)
        if days_before is None or key in already:
            continue
        try:
            with db.session.begin_nested():
                db.session.add(
                    SentReminder(
                        grievance_id=grievance.id,
                        step=grievance.step,
                        deadline_on=deadline_on,
                        days_before=days_before,
                        sent_at=now,
                        recipient_id=steward.id,
                    )
                )
        except sa.exc.IntegrityError:
            continue
        claimed.append(
            DeadlineReminder(
                recipient=steward,
                public_id=grievance.public_id,
                number=grievance.number,
                step=grievance.step,
                deadline_on=deadline_on,
                days_before=days_before,
            )
        )
    return claimed


# Calendar feeds ----------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_of(actor: User) -> CalendarFeed | None:
    return db.session.scalar(
        sa.select(CalendarFeed).where(CalendarFeed.user_id == actor.id)
    )


def create_calendar_feed(*, actor: User, now: datetime) -> str:
    """Gives the steward a new secret calendar address and returns its token;
    any earlier address stops working. Only the token's hash is kept."""
    token = secrets.token_urlsafe(32)
    feed = calendar_feed_of(actor)
    if feed is None:
        feed = CalendarFeed(user_id=actor.id)
        db.session.add(feed)
    feed.token_hash = _digest(token)
    feed.created_at = now
    feed.last_used_at = None
    audit.record("calendar_feed.created", actor=actor, now=now)
    db.session.flush()
    return token


def opens_calendar_feed(feed: CalendarFeed | None, token: str) -> bool:
    """Whether `token` is the feed's current secret (not one it has replaced)."""
    return feed is not None and hmac.compare_digest(feed.token_hash, _digest(token))


def revoke_calendar_feed(*, actor: User, now: datetime) -> None:
    feed = calendar_feed_of(actor)
    if feed is None:
        return
    db.session.delete(feed)
    audit.record("calendar_feed.revoked", actor=actor, now=now)
    db.session.flush()


@dataclass(frozen=True, slots=True)
class FeedEntry:
    public_id: str
    number: str
    step: GrievanceStep
    deadline_on: date


def calendar_entries(token: str, *, now: datetime) -> list[FeedEntry]:
    """The open deadlines of the steward whose feed this token opens, or NotFound
    for an unknown or revoked token, or an account that may no longer follow cases."""
    feed = db.session.scalar(
        sa.select(CalendarFeed)
        .where(CalendarFeed.token_hash == _digest(token))
        .options(joinedload(CalendarFeed.user))
    )
    if feed is None:
        raise NotFound
    user = feed.user
    if user.is_disabled or not user.has_role(Role.STEWARD, Role.ADMIN):
        raise NotFound
    # Touching the row at most hourly keeps calendar polling from writing on
    # every fetch.
    if feed.last_used_at is None or now - feed.last_used_at > timedelta(hours=1):
        feed.last_used_at = now
    rows = db.session.execute(
        _by_deadline(
            visible_grievances(user).where(
                Grievance.closed_on.is_(None),
                Grievance.steward_id == user.id,
                Grievance.deadline_on.is_not(None),
            )
        ).with_only_columns(
            Grievance.public_id, Grievance.number, Grievance.step, Grievance.deadline_on
        )
    )
    return [
        FeedEntry(public_id, number, step, deadline_on)
        for public_id, number, step, deadline_on in rows
        if deadline_on is not None
    ]
