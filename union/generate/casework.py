"""Grievances over the years: opened by stewards, moved through the steps with their
deadlines, noted, and closed with outcomes; the open ones still running today."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

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
    StepRecord,
    grievance_grievants,
)
from union.rules.grievance_steps import DEFAULT_STEP_DAYS, deadline_for

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
CLOSING = {
    GrievanceOutcome.WON: GrievanceStep.RESOLVED,
    GrievanceOutcome.PARTLY_WON: GrievanceStep.RESOLVED,
    GrievanceOutcome.LOST: GrievanceStep.LOST,
    GrievanceOutcome.WITHDRAWN: GrievanceStep.WITHDRAWN,
}
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


def grievances(context: Context) -> None:
    rng, writer, today = context.rng, context.writer, context.today
    total = context.scale.grievances
    places = [w for w in context.workplace_ids if context.members_by_workplace.get(w)]
    if not places or total == 0:
        return
    weights = [len(context.members_by_workplace[w]) for w in places]
    first_day = month_start(context.first_month)
    span = (today - first_day).days
    # Most cases are recent or long closed; numbers follow the opening order.
    opened = sorted(
        first_day + timedelta(days=int(span * rng.random() ** 0.7))
        for _ in range(total)
    )
    numbers: dict[int, int] = {}
    categories = list(CASES)
    outcomes = [outcome for outcome, _w in OUTCOMES]
    outcome_weights = [weight for _o, weight in OUTCOMES]

    for start in range(0, total, BATCH):
        rows = _Rows()
        count = min(BATCH, total - start)
        for grievance_id, opened_on in zip(
            writer.ids(table(Grievance), count),
            opened[start : start + count],
            strict=True,
        ):
            workplace_id = rng.choices(places, weights)[0]
            steward = rng.choice(context.stewards_by_workplace[workplace_id])
            category = rng.choices(categories, CATEGORY_WEIGHTS)[0]
            title, what, remedy = CASES[category]
            numbers[opened_on.year] = numbers.get(opened_on.year, 0) + 1
            number = f"{opened_on.year}-{numbers[opened_on.year]:04d}"

            step = GrievanceStep.INTAKE
            day = opened_on
            deadline: date | None = deadline_for(day, DEFAULT_STEP_DAYS[step])
            rows.steps.append(
                (grievance_id, step, _at(day, 14), day, deadline, steward)
            )
            rows.events.append(
                (grievance_id, _at(day, 14), steward, GrievanceEventKind.OPENED, None)
            )
            outcome = None
            closed_on = None
            while True:
                day = day + timedelta(days=rng.randint(4, 30))
                if day > today:
                    break
                if rng.random() < 0.2:
                    rows.notes.append(
                        (grievance_id, steward, rng.choice(NOTES), _at(day, 16))
                    )
                    rows.events.append(
                        (
                            grievance_id,
                            _at(day, 16),
                            steward,
                            GrievanceEventKind.NOTE_ADDED,
                            None,
                        )
                    )
                closes = step is GrievanceStep.ARBITRATION or rng.random() < 0.45
                if closes:
                    outcome = rng.choices(outcomes, outcome_weights)[0]
                    if (
                        step is GrievanceStep.INTAKE
                        and outcome is GrievanceOutcome.LOST
                    ):
                        outcome = GrievanceOutcome.WITHDRAWN
                    step, deadline, closed_on = CLOSING[outcome], None, day
                    kind = GrievanceEventKind.OUTCOME_RECORDED
                else:
                    step = NEXT[step]
                    deadline = deadline_for(day, DEFAULT_STEP_DAYS[step])
                    kind = GrievanceEventKind.MOVED
                rows.steps.append(
                    (grievance_id, step, _at(day, 15), day, deadline, steward)
                )
                rows.events.append((grievance_id, _at(day, 15), steward, kind, step))
                if closes:
                    break
                if deadline is not None and deadline < today and rng.random() < 0.15:
                    # Stewards miss some deadlines: the case sits overdue.
                    break

            won = outcome in (GrievanceOutcome.WON, GrievanceOutcome.PARTLY_WON)
            named = context.members_by_workplace[workplace_id]
            if rng.random() > 0.2:
                for member_id in set(
                    rng.sample(named, min(len(named), rng.randint(1, 3)))
                ):
                    rows.grievants.append((grievance_id, member_id))
            rows.grievances.append(
                (
                    grievance_id,
                    f"{rng.getrandbits(96):024x}",
                    number,
                    workplace_id,
                    category,
                    title,
                    what,
                    remedy,
                    opened_on - timedelta(days=rng.randint(0, 20)),
                    steward,
                    step,
                    deadline,
                    opened_on,
                    steward,
                    closed_on,
                    outcome,
                    rng.randint(0, 500_000) if won else None,
                    "Back pay and a corrected rate." if won else None,
                    _at(opened_on, 14),
                    _at(closed_on or opened_on, 15),
                )
            )
        _write(context, rows)
        context.progress("grievances", start + count, total)
    for year, last in numbers.items():
        context.counters[f"grievance_{year}"] = last


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
    steps = table(StepRecord)
    writer.write(
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
        [
            (row_id, *row)
            for row_id, row in zip(
                writer.ids(steps, len(rows.steps)), rows.steps, strict=True
            )
        ],
    )
    events = table(GrievanceEvent)
    writer.write(
        events,
        ("id", "grievance_id", "at", "actor_id", "kind", "step"),
        [
            (row_id, *row)
            for row_id, row in zip(
                writer.ids(events, len(rows.events)), rows.events, strict=True
            )
        ],
    )
    notes = table(GrievanceNote)
    writer.write(
        notes,
        ("id", "grievance_id", "author_id", "body", "created_at"),
        [
            (row_id, *row)
            for row_id, row in zip(
                writer.ids(notes, len(rows.notes)), rows.notes, strict=True
            )
        ],
    )
