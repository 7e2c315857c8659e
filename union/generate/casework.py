"""Grievances over the years: opened by stewards, moved through the steps with their
deadlines, noted, and closed with outcomes; the open ones still running today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from union.adapters.blind_index import text_digests
from union.adapters.bulk import table
from union.clock import month_start
from union.generate import Context
from union.models import (
    Grievance,
    GrievanceCategory,
    GrievanceEvent,
    GrievanceEventKind,
    GrievanceNote,
    GrievanceOutcome,
    GrievanceStep,
    GrievanceTitleWord,
    StepRecord,
    grievance_grievants,
)
from union.models.grievances import TITLE_WORDS
from union.rules.grievance_steps import CLOSING_STEP, DEFAULT_STEP_DAYS, deadline_for

BATCH = 5000

CASES: dict[GrievanceCategory, tuple[str, str, str]] = {
    GrievanceCategory.WAGE_DISCREPANCY: (
        "Same work paid less than at the other site",
        "Peer workers here are paid a flat honorarium for shifts that the other "
        "site pays by the hour.",
        "Back pay at the posted hourly rate.",
    ),
    GrievanceCategory.NO_RAISE: (
        "No raise in years",
        "Wages have not changed since the program began.",
        "A raise and a yearly cost-of-living increase.",
    ),
    GrievanceCategory.BENEFITS: (
        "No dental or drug coverage",
        "Full-time staff have no extended health benefits.",
        "Benefits for everyone working 20 hours or more.",
    ),
    GrievanceCategory.TIME_OFF: (
        "No paid sick days",
        "Staff lose pay for every sick day.",
        "Paid sick days as the contract says.",
    ),
    GrievanceCategory.SOCIAL_ASSISTANCE: (
        "Told to keep social assistance for benefits",
        "Management said staff should rely on social assistance for dental care.",
        "Benefits paid by the employer.",
    ),
    GrievanceCategory.LIVED_EXPERIENCE: (
        "Treated differently for the experience we were hired for",
        "Peer staff are left off the schedule for shifts after a manager's remark.",
        "Equal scheduling and an apology.",
    ),
    GrievanceCategory.PRECARIOUS_FUNDING: (
        "Layoff notice when the grant ends",
        "Positions funded by the grant were given notice without consultation.",
        "Recall rights and bridge funding.",
    ),
    GrievanceCategory.SCHEDULING: (
        "Shifts posted with a day's notice",
        "The schedule changes the night before, again and again.",
        "Schedules posted two weeks ahead.",
    ),
    GrievanceCategory.HEALTH_SAFETY: (
        "Working alone on overnight shifts",
        "Staff cover the overnight site alone, against the safety plan.",
        "Two people on every overnight shift.",
    ),
    GrievanceCategory.OTHER: (
        "Pay stubs missing hours",
        "Hours worked on outreach do not appear on pay stubs.",
        "Corrected pay stubs and back pay.",
    ),
}
CATEGORIES = list(CASES)
CATEGORY_WEIGHTS = (18, 14, 12, 10, 6, 8, 10, 8, 9, 5)
NOTES = (
    "Met the manager; they will reply in writing within the week.",
    "Grievant asked to be kept informed by text, not email.",
    "Employer asked for more time; agreed to one week.",
    "Collected pay stubs for the last three months.",
)
OUTCOMES = (
    (GrievanceOutcome.WON, 0.35),
    (GrievanceOutcome.PARTLY_WON, 0.25),
    (GrievanceOutcome.LOST, 0.15),
    (GrievanceOutcome.WITHDRAWN, 0.25),
)
NEXT = {
    GrievanceStep.INTAKE: GrievanceStep.STEP_1,
    GrievanceStep.STEP_1: GrievanceStep.STEP_2,
    GrievanceStep.STEP_2: GrievanceStep.ARBITRATION,
}


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


class _Rows:
    def __init__(self) -> None:
        self.grievances: list[tuple[Any, ...]] = []
        self.grievants: list[tuple[int, int]] = []
        self.steps: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.notes: list[tuple[Any, ...]] = []
        self.title_words: list[tuple[int, int]] = []


@dataclass(frozen=True, slots=True)
class _Case:
    """A case as its steward opened it."""

    id: int
    number: str
    workplace_id: int
    steward: int
    category: GrievanceCategory
    opened_on: date


@dataclass(frozen=True, slots=True)
class _Standing:
    """Where a case stands today."""

    step: GrievanceStep
    deadline: date | None
    outcome: GrievanceOutcome | None = None
    closed_on: date | None = None


def grievances(context: Context) -> None:
    total = context.scale.grievances
    places = [w for w in context.workplace_ids if context.members_by_workplace.get(w)]
    if not places or total == 0:
        return
    casework = _Casework(context, places)
    opened = _opening_days(context, total)
    for start in range(0, total, BATCH):
        rows = _Rows()
        count = min(BATCH, total - start)
        for grievance_id, opened_on in zip(
            context.writer.ids(table(Grievance), count),
            opened[start : start + count],
            strict=True,
        ):
            casework.case(rows, grievance_id, opened_on)
        _write(context, rows)
        context.progress("grievances", start + count, total)
    for year, last in casework.numbers.items():
        context.counters[f"grievance_{year}"] = last


def _opening_days(context: Context, total: int) -> list[date]:
    """Most cases are recent or long closed; numbers follow the opening order."""
    first_day = month_start(context.first_month)
    span = (context.today - first_day).days
    return sorted(
        first_day + timedelta(days=int(span * context.rng.random() ** 0.7))
        for _ in range(total)
    )


class _Casework:
    """Plays each case forward from the day it opened to today.

    The steps draw from the one random sequence in a fixed order, so that a seed
    keeps making the same cases: a new draw goes after the others."""

    def __init__(self, context: Context, places: list[int]) -> None:
        self.context = context
        self.rng = context.rng
        self.today = context.today
        #: Cases go to workplaces in proportion to their current members.
        self.places = places
        self.weights = [len(context.members_by_workplace[w]) for w in places]
        #: The last case number handed out in each year.
        self.numbers: dict[int, int] = {}
        self.outcomes = [outcome for outcome, _weight in OUTCOMES]
        self.outcome_weights = [weight for _outcome, weight in OUTCOMES]
        #: The word hashes of each kind's title, as opening a case stores them.
        self.title_words = {
            category: sorted(text_digests(TITLE_WORDS, title))
            for category, (title, _what, _remedy) in CASES.items()
        }

    def case(self, rows: _Rows, grievance_id: int, opened_on: date) -> None:
        case = self._open(grievance_id, opened_on)
        standing = self._play(rows, case)
        self._name_grievants(rows, case)
        rows.grievances.append(self._row(case, standing))
        rows.title_words.extend(
            (case.id, digest) for digest in self.title_words[case.category]
        )

    def _open(self, grievance_id: int, opened_on: date) -> _Case:
        rng = self.rng
        workplace_id = rng.choices(self.places, self.weights)[0]
        steward = rng.choice(self.context.stewards_by_workplace[workplace_id])
        category = rng.choices(CATEGORIES, CATEGORY_WEIGHTS)[0]
        year = opened_on.year
        self.numbers[year] = self.numbers.get(year, 0) + 1
        return _Case(
            grievance_id,
            f"{year}-{self.numbers[year]:04d}",
            workplace_id,
            steward,
            category,
            opened_on,
        )

    def _play(self, rows: _Rows, case: _Case) -> _Standing:
        """The case's timeline from intake: every few weeks a note perhaps, then it
        closes or moves up a step, until today. Some cases sit past a deadline."""
        rng, today = self.rng, self.today
        step = GrievanceStep.INTAKE
        day = case.opened_on
        deadline = deadline_for(day, DEFAULT_STEP_DAYS[step])
        rows.steps.append((case.id, step, _at(day, 14), day, deadline, case.steward))
        rows.events.append(
            (case.id, _at(day, 14), case.steward, GrievanceEventKind.OPENED, None)
        )
        while True:
            day = day + timedelta(days=rng.randint(4, 30))
            if day > today:
                return _Standing(step, deadline)
            if rng.random() < 0.2:
                self._note(rows, case, day)
            if step is GrievanceStep.ARBITRATION or rng.random() < 0.45:
                outcome = self._outcome(step)
                closed = CLOSING_STEP[outcome]
                self._enter(
                    rows, case, day, closed, None, GrievanceEventKind.OUTCOME_RECORDED
                )
                return _Standing(closed, None, outcome, day)
            step = NEXT[step]
            deadline = deadline_for(day, DEFAULT_STEP_DAYS[step])
            self._enter(rows, case, day, step, deadline, GrievanceEventKind.MOVED)
            if deadline < today and rng.random() < 0.15:
                # Stewards miss some deadlines: the case sits overdue.
                return _Standing(step, deadline)

    def _note(self, rows: _Rows, case: _Case, day: date) -> None:
        rows.notes.append((case.id, case.steward, self.rng.choice(NOTES), _at(day, 16)))
        rows.events.append(
            (case.id, _at(day, 16), case.steward, GrievanceEventKind.NOTE_ADDED, None)
        )

    def _outcome(self, step: GrievanceStep) -> GrievanceOutcome:
        outcome = self.rng.choices(self.outcomes, self.outcome_weights)[0]
        if step is GrievanceStep.INTAKE and outcome is GrievanceOutcome.LOST:
            # The app's rule: nothing filed yet cannot be lost (grievance_steps.MOVES).
            return GrievanceOutcome.WITHDRAWN
        return outcome

    def _enter(
        self,
        rows: _Rows,
        case: _Case,
        day: date,
        step: GrievanceStep,
        deadline: date | None,
        kind: GrievanceEventKind,
    ) -> None:
        rows.steps.append((case.id, step, _at(day, 15), day, deadline, case.steward))
        rows.events.append((case.id, _at(day, 15), case.steward, kind, step))

    def _name_grievants(self, rows: _Rows, case: _Case) -> None:
        """One to three current members at the workplace, for four cases in five;
        the others name nobody."""
        rng = self.rng
        named = self.context.members_by_workplace[case.workplace_id]
        if rng.random() > 0.2:
            for member_id in set(rng.sample(named, min(len(named), rng.randint(1, 3)))):
                rows.grievants.append((case.id, member_id))

    def _row(self, case: _Case, standing: _Standing) -> tuple[Any, ...]:
        rng = self.rng
        title, what, remedy = CASES[case.category]
        won = standing.outcome in (GrievanceOutcome.WON, GrievanceOutcome.PARTLY_WON)
        return (
            case.id,
            f"{rng.getrandbits(96):024x}",
            case.number,
            case.workplace_id,
            case.category,
            title,
            what,
            remedy,
            case.opened_on - timedelta(days=rng.randint(0, 20)),
            case.steward,
            standing.step,
            standing.deadline,
            case.opened_on,
            case.steward,
            standing.closed_on,
            standing.outcome,
            rng.randint(0, 500_000) if won else None,
            "Back pay and a corrected rate." if won else None,
            _at(case.opened_on, 14),
            _at(standing.closed_on or case.opened_on, 15),
        )


def _write(context: Context, rows: _Rows) -> None:
    writer = context.writer
    writer.write(
        table(Grievance),
        (
            "id",
            "public_id",
            "number",
            "workplace_id",
            "category",
            "title",
            "what_happened",
            "remedy_sought",
            "incident_on",
            "steward_id",
            "step",
            "deadline_on",
            "opened_on",
            "opened_by_id",
            "closed_on",
            "outcome",
            "money_recovered_cents",
            "remedy_obtained",
            "created_at",
            "updated_at",
        ),
        rows.grievances,
    )
    writer.write(grievance_grievants, ("grievance_id", "member_id"), rows.grievants)
    writer.write(
        table(GrievanceTitleWord),
        ("grievance_id", "digest"),
        rows.title_words,
        stored_values=True,
    )
    steps = table(StepRecord)
    writer.write_numbered(
        steps,
        (
            "id",
            "grievance_id",
            "step",
            "entered_at",
            "entered_on",
            "deadline_on",
            "entered_by_id",
        ),
        rows.steps,
    )
    events = table(GrievanceEvent)
    writer.write_numbered(
        events,
        ("id", "grievance_id", "at", "actor_id", "kind", "step"),
        rows.events,
    )
    notes = table(GrievanceNote)
    writer.write_numbered(
        notes,
        ("id", "grievance_id", "author_id", "body", "created_at"),
        rows.notes,
    )
