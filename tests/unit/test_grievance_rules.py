import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from union.models import GrievanceOutcome, GrievanceStep
from union.rules.grievance_steps import (
    CLOSED_STEPS,
    CLOSING_STEP,
    DEFAULT_STEP_DAYS,
    MOVES,
    OPEN_STEPS,
    REMINDER_DAYS,
    Urgency,
    can_move,
    deadline_for,
    is_closed,
    next_open_steps,
    outcomes_allowed,
    reminder_due,
    step_days,
    urgency,
)

RANK = {step: index for index, step in enumerate(OPEN_STEPS)}


def test_every_step_has_a_row_in_the_state_machine():
    assert set(MOVES) == set(GrievanceStep)
    assert set(OPEN_STEPS) | CLOSED_STEPS == set(GrievanceStep)


def test_a_case_goes_forward_one_step_at_a_time():
    assert next_open_steps(GrievanceStep.INTAKE) == [GrievanceStep.STEP_1]
    assert next_open_steps(GrievanceStep.STEP_1) == [GrievanceStep.STEP_2]
    assert next_open_steps(GrievanceStep.STEP_2) == [GrievanceStep.ARBITRATION]
    assert next_open_steps(GrievanceStep.ARBITRATION) == []
    assert not can_move(GrievanceStep.INTAKE, GrievanceStep.STEP_2)
    assert not can_move(GrievanceStep.STEP_2, GrievanceStep.STEP_1)


def test_nothing_filed_cannot_be_lost_and_closed_cases_are_final():
    assert outcomes_allowed(GrievanceStep.INTAKE) == [
        GrievanceOutcome.WON,
        GrievanceOutcome.PARTLY_WON,
        GrievanceOutcome.WITHDRAWN,
    ]
    assert outcomes_allowed(GrievanceStep.ARBITRATION) == list(GrievanceOutcome)
    for step in CLOSED_STEPS:
        assert MOVES[step] == frozenset()
        assert outcomes_allowed(step) == []


def test_every_outcome_closes_the_case():
    assert {CLOSING_STEP[outcome] for outcome in GrievanceOutcome} == CLOSED_STEPS


@given(st.lists(st.sampled_from(list(GrievanceStep)), max_size=30))
def test_random_moves_never_reach_an_illegal_state(attempts):
    """Applying only the moves the machine allows, whatever is attempted: the case
    never goes backwards, never skips a step, and nothing follows a closed step."""
    step = GrievanceStep.INTAKE
    history = [step]
    for wanted in attempts:
        if can_move(step, wanted):
            step = wanted
            history.append(step)
    for before, after in itertools.pairwise(history):
        assert not is_closed(before)
        if not is_closed(after):
            assert RANK[after] == RANK[before] + 1
        elif after == GrievanceStep.LOST:
            assert before != GrievanceStep.INTAKE
    assert all(not is_closed(s) for s in history[:-1])


def test_deadlines_count_calendar_days_from_the_day_the_step_began():
    assert deadline_for(date(2026, 11, 22), 14) == date(2026, 12, 6)
    assert deadline_for(date(2026, 12, 25), 14) == date(2027, 1, 8)


def test_a_workplace_may_change_the_days_of_a_step():
    assert (
        step_days(GrievanceStep.STEP_1, {}) == DEFAULT_STEP_DAYS[GrievanceStep.STEP_1]
    )
    assert step_days(GrievanceStep.STEP_1, {GrievanceStep.STEP_1: 21}) == 21
    assert step_days(GrievanceStep.RESOLVED, {}) is None


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [
        (-1, Urgency.OVERDUE),
        (0, Urgency.DUE_SOON),
        (3, Urgency.DUE_SOON),
        (4, Urgency.ON_TRACK),
    ],
)
def test_urgency_flags(days_left, expected):
    today = date(2026, 11, 22)
    assert urgency(today + timedelta(days=days_left), today) is expected


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    st.integers(-400, 400),
)
def test_overdue_and_due_soon_follow_the_days_left(deadline, offset):
    today = deadline - timedelta(days=offset)
    flag = urgency(deadline, today)
    assert (flag is Urgency.OVERDUE) == (offset < 0)
    assert (flag is Urgency.DUE_SOON) == (0 <= offset <= 3)
    assert urgency(None, today) is None


def test_reminders_fall_3_days_before_1_day_before_and_on_the_day():
    deadline = date(2026, 12, 6)
    due = {
        offset: reminder_due(deadline, deadline - timedelta(days=offset))
        for offset in range(-2, 6)
    }
    assert due == {-2: None, -1: None, 0: 0, 1: 1, 2: 3, 3: 3, 4: None, 5: None}


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    st.lists(st.integers(-5, 10), max_size=40),
)
def test_each_reminder_is_sent_at_most_once_whatever_days_the_command_runs(
    deadline, run_offsets
):
    """Simulates the command run on any days, any number of times, with the
    sent-reminders table as a set."""
    sent: list[int] = []
    for offset in sorted(run_offsets, reverse=True):
        due = reminder_due(deadline, deadline - timedelta(days=offset))
        if due is not None and due not in sent:
            sent.append(due)
    assert len(sent) == len(set(sent))
    assert set(sent) <= set(REMINDER_DAYS)
    # Runs on every day catch every reminder.
    if set(run_offsets) >= {0, 1, 3}:
        assert sorted(sent) == [0, 1, 3]
