"""The rules of a grievance that need no database: which step may follow which,
how deadlines are counted, when a deadline is close, and when to remind.

Kept free of the app and the database so they can be tested exhaustively.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, timedelta

from union.models.grievances import GrievanceOutcome, GrievanceStep

#: The steps a case can be at while it is open, in the order a contract runs them.
OPEN_STEPS: tuple[GrievanceStep, ...] = (
    GrievanceStep.INTAKE,
    GrievanceStep.STEP_1,
    GrievanceStep.STEP_2,
    GrievanceStep.ARBITRATION,
)
CLOSED_STEPS = frozenset(
    {GrievanceStep.RESOLVED, GrievanceStep.WITHDRAWN, GrievanceStep.LOST}
)

#: Every allowed move. A case only goes forward, one step at a time, and may be
#: closed from any open step; closed cases are final (a new case is opened instead).
#: Nothing filed yet cannot be lost, so intake may only be resolved or withdrawn.
MOVES: Mapping[GrievanceStep, frozenset[GrievanceStep]] = {
    GrievanceStep.INTAKE: frozenset(
        {GrievanceStep.STEP_1, GrievanceStep.RESOLVED, GrievanceStep.WITHDRAWN}
    ),
    GrievanceStep.STEP_1: frozenset({GrievanceStep.STEP_2, *CLOSED_STEPS}),
    GrievanceStep.STEP_2: frozenset({GrievanceStep.ARBITRATION, *CLOSED_STEPS}),
    GrievanceStep.ARBITRATION: CLOSED_STEPS,
    GrievanceStep.RESOLVED: frozenset(),
    GrievanceStep.WITHDRAWN: frozenset(),
    GrievanceStep.LOST: frozenset(),
}

#: The closed step each outcome leaves the case in.
CLOSING_STEP: Mapping[GrievanceOutcome, GrievanceStep] = {
    GrievanceOutcome.WON: GrievanceStep.RESOLVED,
    GrievanceOutcome.PARTLY_WON: GrievanceStep.RESOLVED,
    GrievanceOutcome.LOST: GrievanceStep.LOST,
    GrievanceOutcome.WITHDRAWN: GrievanceStep.WITHDRAWN,
}

#: Calendar days a step lasts unless a workplace's contract says otherwise.
DEFAULT_STEP_DAYS: Mapping[GrievanceStep, int] = dict.fromkeys(OPEN_STEPS, 14)
MAX_STEP_DAYS = 365

#: A deadline this many days away (or fewer) is due soon.
DUE_SOON_DAYS = 3

#: Reminders go out this many days before the deadline; 0 is the day itself.
REMINDER_DAYS: tuple[int, ...] = (3, 1, 0)


def is_closed(step: GrievanceStep) -> bool:
    return step in CLOSED_STEPS


def can_move(current: GrievanceStep, wanted: GrievanceStep) -> bool:
    return wanted in MOVES[current]


def next_open_steps(current: GrievanceStep) -> list[GrievanceStep]:
    """The open steps a case may move on to, in contract order."""
    return [step for step in OPEN_STEPS if can_move(current, step)]


def outcomes_allowed(current: GrievanceStep) -> list[GrievanceOutcome]:
    """The outcomes a case at `current` may be closed with."""
    return [
        outcome for outcome, step in CLOSING_STEP.items() if can_move(current, step)
    ]


def step_days(
    step: GrievanceStep, overrides: Mapping[GrievanceStep, int]
) -> int | None:
    """Days allowed for `step` at a workplace; None for the closed steps."""
    if is_closed(step):
        return None
    return overrides.get(step, DEFAULT_STEP_DAYS[step])


def deadline_for(entered_on: date, days: int) -> date:
    """The last day to act, counting calendar days from the union-local day the
    step was entered (day 0), as contracts usually do."""
    return entered_on + timedelta(days=days)


class Urgency(enum.StrEnum):
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    ON_TRACK = "on_track"


def urgency(deadline_on: date | None, today: date) -> Urgency | None:
    """How pressing a deadline is on `today`; None when there is none (closed)."""
    if deadline_on is None:
        return None
    if today > deadline_on:
        return Urgency.OVERDUE
    if (deadline_on - today).days <= DUE_SOON_DAYS:
        return Urgency.DUE_SOON
    return Urgency.ON_TRACK


def reminder_due(deadline_on: date, today: date) -> int | None:
    """Which reminder belongs to `today`: the nearest of 3, 1 or 0 days before that
    is not later than today, or None outside the reminder window.

    A run missed on the third day before is caught up on the second, but two
    reminders are never due on the same day, and none after the deadline.
    """
    days_left = (deadline_on - today).days
    if days_left < 0:
        return None
    due = [days for days in REMINDER_DAYS if days >= days_left]
    return min(due) if due else None
