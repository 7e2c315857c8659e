"""Survey rounds: opening and closing them, and members answering.

Answering writes two rows that nothing joins: the anonymous answer and the receipt
that stops a second answer. Closing a round rewrites its answers in the order of
their random ids, so the order rows were written in (which a copy of the database
would show, next to the receipts' order) no longer says who answered what.

On PostgreSQL each round's answers have a partition of their own, made when the
round opens. Closing writes the reordered copy into a new table and puts it in the
partition's place; the original table is dropped whole, so no row version in the
order of answering stays behind (as deleted rows would, until vacuumed). Both are
database functions owned by the tables' owner (see make_answer_partition).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from union import clock
from union.db import db
from union.errors import InvalidTransition, NotFound, ValidationFailed
from union.i18n import _
from union.models import (
    EmploymentType,
    JobClassification,
    Member,
    MemberStatus,
    RoundStatus,
    SurveyAnswer,
    SurveyReceipt,
    SurveyRound,
    User,
    Workplace,
    WorkplaceStatus,
    YesNoUnsure,
)
from union.rules.disclosure import DEFAULT_RULES, Rules
from union.services import audit

#: Members who may answer: those in the union now, paid up or not.
ANSWERING_STATUSES = (MemberStatus.ACTIVE, MemberStatus.LAPSED)

WAGE_RANGE_CENTS = (500, 20000)
HOURS_RANGE = (1, 80)
DAYS_RANGE = (0, 60)
MONTHS_RANGE = (0, 600)


@dataclass(frozen=True, slots=True)
class Answers:
    """What a member typed; everything but workplace and classification is optional."""

    workplace_id: int | None
    classification_id: int | None
    employment_type: EmploymentType | None = None
    hourly_wage_cents: int | None = None
    weekly_hours: int | None = None
    health_benefits: bool | None = None
    dental_benefits: bool | None = None
    paid_sick_days: int | None = None
    vacation_days: int | None = None
    months_since_raise: int | None = None
    never_had_raise: bool | None = None
    grant_funded: YesNoUnsure | None = None
    relies_on_social_assistance: bool | None = None
    discrimination_lived_experience: bool | None = None


def _outside(value: int | None, bounds: tuple[int, int]) -> bool:
    return value is not None and not bounds[0] <= value <= bounds[1]


def _check(answers: Answers) -> None:
    errors: dict[str, str] = {}
    if answers.workplace_id is None:
        errors["workplace_id"] = _("Choose the workplace you work at.")
    else:
        workplace = db.session.get(Workplace, answers.workplace_id)
        if workplace is None or workplace.status is not WorkplaceStatus.CONFIRMED:
            errors["workplace_id"] = _("Choose a workplace from the list.")
    if answers.classification_id is None:
        errors["classification_id"] = _("Choose the job closest to yours.")
    elif db.session.get(JobClassification, answers.classification_id) is None:
        errors["classification_id"] = _("Choose a job from the list.")
    if _outside(answers.hourly_wage_cents, WAGE_RANGE_CENTS):
        errors["hourly_wage"] = _(
            "Enter an hourly wage between $5.00 and $200.00, or leave it empty."
        )
    if _outside(answers.weekly_hours, HOURS_RANGE):
        errors["weekly_hours"] = _(
            "Enter the hours you usually work in a week, from 1 to 80, or leave it empty."
        )
    if _outside(answers.paid_sick_days, DAYS_RANGE):
        errors["paid_sick_days"] = _("Enter a number of days from 0 to 60.")
    if _outside(answers.vacation_days, DAYS_RANGE):
        errors["vacation_days"] = _("Enter a number of days from 0 to 60.")
    if _outside(answers.months_since_raise, MONTHS_RANGE):
        errors["months_since_raise"] = _("Enter a number of months from 0 to 600.")
    if answers.never_had_raise and answers.months_since_raise is not None:
        errors["months_since_raise"] = _(
            "Leave the months empty if you have never had a raise there."
        )
    if errors:
        raise ValidationFailed(errors)


# Rounds ----------------------------------------------------------------------


def open_round(name: str, *, actor: User | None, now: datetime) -> SurveyRound:
    """Opens a new round. One round is open at a time, so members see one survey."""
    name = name.strip()
    if not name:
        raise ValidationFailed(
            {"name": _("Give the round a name, such as Spring 2027.")}
        )
    if current_round() is not None:
        raise ValidationFailed(
            {"": _("A round is already open. Close it before opening another.")}
        )
    survey_round = SurveyRound(
        name=name[:120],
        status=RoundStatus.OPEN,
        opened_on=clock.today(now),
        opened_by_id=actor.id if actor else None,
    )
    db.session.add(survey_round)
    db.session.flush()
    make_answer_partition(survey_round.id)
    audit.record("survey.round_opened", actor=actor, now=now, subject=survey_round)
    return survey_round


def current_round() -> SurveyRound | None:
    return db.session.scalar(
        sa.select(SurveyRound)
        .where(SurveyRound.status == RoundStatus.OPEN)
        .order_by(SurveyRound.id)
        .limit(1)
    )


def get_round(round_id: int) -> SurveyRound:
    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None:
        raise NotFound
    return survey_round


@dataclass(frozen=True, slots=True)
class RoundRow:
    survey_round: SurveyRound
    #: Receipts so far for an open round; the stored count for a closed one.
    respondents: int


def rounds() -> list[RoundRow]:
    """Every round, newest first, with how many answered: two queries."""
    receipts = dict(
        db.session.execute(
            sa.select(SurveyReceipt.round_id, sa.func.count()).group_by(
                SurveyReceipt.round_id
            )
        ).all()
    )
    return [
        RoundRow(
            survey_round=r,
            respondents=r.respondents
            if r.respondents is not None
            else int(receipts.get(r.id, 0)),
        )
        for r in db.session.scalars(
            sa.select(SurveyRound).order_by(
                SurveyRound.opened_on.desc(), SurveyRound.id.desc()
            )
        )
    ]


_ANSWER_COLUMNS = ", ".join(column.name for column in SurveyAnswer.__table__.columns)


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def make_answer_partition(round_id: int) -> None:
    """Gives a new round its own partition of the answers, on PostgreSQL (see the
    module docstring). Rounds without one keep their answers in the default
    partition, and closing them still works."""
    if _on_postgresql():
        db.session.execute(
            sa.text("SELECT union_make_answer_partition(:round_id)"),
            {"round_id": round_id},
        )


def _reorder_partition(round_id: int) -> None:
    """PostgreSQL: a new table filled in random-id order replaces the round's
    partition, checked once as a whole when attached (keys, foreign keys) instead
    of row by row as re-inserting would be. The work is in a database function
    (migration d5e8f3b0a724) that runs with the tables' owner's rights, so the
    app's own role needs no right to create or drop tables."""
    db.session.execute(
        sa.text("SELECT union_reorder_round_answers(:round_id)"),
        {"round_id": round_id},
    )


def _reorder_rows(round_id: int) -> None:
    """Elsewhere (SQLite): the answers are copied aside in random-id order,
    deleted and written back."""
    copy = (
        "CREATE TEMPORARY TABLE shuffled_answers AS "  # noqa: S608
        f"SELECT {_ANSWER_COLUMNS} FROM survey_answers"
    )
    back = (
        f"INSERT INTO survey_answers ({_ANSWER_COLUMNS}) "  # noqa: S608
        f"SELECT {_ANSWER_COLUMNS} FROM shuffled_answers"
    )
    db.session.execute(
        sa.text(f"{copy} WHERE round_id = :round_id ORDER BY id"),
        {"round_id": round_id},
    )
    db.session.execute(sa.delete(SurveyAnswer).where(SurveyAnswer.round_id == round_id))
    db.session.execute(sa.text(f"{back} ORDER BY id"))
    db.session.execute(sa.text("DROP TABLE shuffled_answers"))


def _shuffle_answers(round_id: int) -> None:
    """Rewrites the round's answers ordered by their random ids (see the module
    docstring). Done in SQL, so it costs one pass whatever the number of answers."""
    if _on_postgresql():
        _reorder_partition(round_id)
    else:
        _reorder_rows(round_id)


def close_round(
    survey_round: SurveyRound,
    *,
    actor: User | None,
    now: datetime,
    rules: Rules = DEFAULT_RULES,
    progress: Callable[[str], None] | None = None,
) -> SurveyRound:
    """Closes an open round and computes its whole report catalogue, stored for good.

    `progress` hears each step, for the command line. The caller commits once, so
    a failure leaves the round open with no reports."""
    from union.services.reports import building

    if not survey_round.is_open:
        raise InvalidTransition(_("This round is already closed."))
    survey_round.status = RoundStatus.CLOSED
    survey_round.closed_on = max(clock.today(now), survey_round.opened_on)
    survey_round.closed_by_id = actor.id if actor else None
    survey_round.respondents = (
        db.session.scalar(
            sa.select(sa.func.count()).where(SurveyAnswer.round_id == survey_round.id)
        )
        or 0
    )
    db.session.flush()
    if progress:
        progress(_("Reordering the answers so their order says nothing"))
    _shuffle_answers(survey_round.id)
    building.build_round(survey_round, now=now, rules=rules, progress=progress)
    audit.record("survey.round_closed", actor=actor, now=now, subject=survey_round)
    db.session.flush()
    return survey_round


# Answering -------------------------------------------------------------------


def may_answer(member: Member | None) -> bool:
    return member is not None and member.status in ANSWERING_STATUSES


def has_answered(member: Member, survey_round: SurveyRound) -> bool:
    return db.session.get(SurveyReceipt, (survey_round.id, member.id)) is not None


def answer(
    member: Member, survey_round: SurveyRound, answers: Answers, *, now: datetime
) -> None:
    """Stores one member's answers and their receipt. No audit row: its time
    would say when this member answered, next to answers in the order they came."""
    del now  # kept for the service signature; nothing here may record a time
    if not survey_round.is_open:
        raise InvalidTransition(_("This survey round has closed."))
    if not may_answer(member):
        raise InvalidTransition(
            _("The survey is for members in good standing or lapsed.")
        )
    if has_answered(member, survey_round):
        raise InvalidTransition(_("You have already answered this round. Thank you!"))
    _check(answers)
    values = {field.name: getattr(answers, field.name) for field in fields(answers)}
    db.session.add(SurveyReceipt(round_id=survey_round.id, member_id=member.id))
    try:
        db.session.flush()
    except IntegrityError:
        # The same member pressing twice at once: the receipt's key lets one through.
        raise InvalidTransition(
            _("You have already answered this round. Thank you!")
        ) from None
    db.session.add(SurveyAnswer(round_id=survey_round.id, **values))
    db.session.flush()


def receipts_of(member: Member) -> list[SurveyRound]:
    """The rounds a member answered, for their own data download."""
    return list(
        db.session.scalars(
            sa.select(SurveyRound)
            .join(SurveyReceipt, SurveyReceipt.round_id == SurveyRound.id)
            .where(SurveyReceipt.member_id == member.id)
            .order_by(SurveyRound.opened_on)
        )
    )


def workplaces_for_answering() -> list[Workplace]:
    return list(
        db.session.scalars(
            sa.select(Workplace)
            .where(Workplace.status == WorkplaceStatus.CONFIRMED)
            .order_by(Workplace.employer, Workplace.site)
        )
    )


def classifications_for_answering() -> list[JobClassification]:
    return list(
        db.session.scalars(
            sa.select(JobClassification).order_by(JobClassification.name)
        )
    )
