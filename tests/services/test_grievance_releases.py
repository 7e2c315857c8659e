"""Grievance numbers as one release per closed quarter: worked out once, as of the
quarter's last day, returned byte for byte on every pull, and checked against
every earlier release so that no figure moves by only a few cases."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from union.db import db
from union.models import (
    AuditEvent,
    GrievanceCategory,
    GrievanceOutcome,
    GrievanceRelease,
    GrievanceStep,
    Role,
    Sector,
)
from union.rules.disclosure import DEFAULT_RULES
from union.services import grievance_releases, grievances, survey
from union.services.grievance_releases import Quarter, last_closed_quarter
from union.services.grievances import Closing, GrievanceDetails, NewGrievance
from union.services.reports import registry
from union.services.reports.artifact import CellStatus

Q3 = Quarter(date(2026, 7, 1), date(2026, 9, 30))
Q4 = Quarter(date(2026, 10, 1), date(2026, 12, 31))


def at(day: date, hour: int = 16) -> datetime:
    """A moment on the union's day `day` (16:00 UTC is midday in Toronto)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


class Union:
    """A small union whose cases are opened and closed through the services."""

    def __init__(self, make):
        self.workplace = make.workplace("Harbour Agency", sector=Sector.SHELTER)
        self.other = make.workplace("Drop-in North", sector=Sector.DROP_IN)
        self.steward = make.steward(self.workplace, self.other)
        self.organizer = make.user(roles=(Role.ORGANIZER,))

    def open(self, day, *, category=GrievanceCategory.WAGE_DISCREPANCY, where=None):
        return grievances.open_grievance(
            NewGrievance(
                workplace_id=(where or self.workplace).id,
                details=GrievanceDetails(category, "Short pay", "Paid less."),
            ),
            actor=self.steward,
            now=at(day),
        )

    def close(self, case, day, outcome=GrievanceOutcome.WON, cents=None):
        if case.step is GrievanceStep.INTAKE and outcome is GrievanceOutcome.LOST:
            self.move(case, GrievanceStep.STEP_1, day)
        grievances.close_grievance(
            case, Closing(outcome, cents, "Settled."), actor=self.steward, now=at(day)
        )

    def move(self, case, step, day):
        grievances.move_grievance(case, step, actor=self.steward, now=at(day))


@pytest.fixture
def union(make):
    return Union(make)


def release(quarter, day):
    found = grievance_releases.release_for(quarter, rules=DEFAULT_RULES, now=at(day))
    db.session.flush()
    return found


def body(quarter, day):
    return json.loads(release(quarter, day).body)


def kind(b, category, state):
    row = next(r for r in b["rows"] if r["category"] == category)
    return row["cells"][[*b["states"], "all"].index(state)]


def money(b, category):
    if category == "all":
        return b["total_money"]
    return next(r for r in b["money"] if r["category"] == category)


# Quarters --------------------------------------------------------------------


def test_quarters_are_calendar_quarters_of_the_unions_days():
    assert Quarter.of(date(2026, 11, 22)) == Q4
    assert Quarter.of(date(2026, 7, 1)) == Q3 == Quarter.of(date(2026, 9, 30))
    assert Q4.before == Q3 and Q3.before == Quarter(date(2026, 4, 1), date(2026, 6, 30))
    assert Quarter(date(2027, 1, 1), date(2027, 3, 31)).before == Q4
    # The latest quarter that has ended: on its last day a quarter is still open.
    assert last_closed_quarter(date(2026, 10, 1)) == Q3
    assert last_closed_quarter(date(2026, 9, 30)) == Q3.before


def test_a_quarter_has_no_release_until_it_has_ended(union):
    with pytest.raises(ValueError, match="ended"):
        grievance_releases.release_for(Q3, rules=DEFAULT_RULES, now=at(Q3.end))
    # 02:00 UTC on 1 October is still 30 September in Toronto.
    with pytest.raises(ValueError, match="ended"):
        grievance_releases.release_for(
            Q3, rules=DEFAULT_RULES, now=datetime(2026, 10, 1, 2, tzinfo=UTC)
        )
    assert release(Q3, date(2026, 10, 1)).quarter_end == Q3.end


# Freezing --------------------------------------------------------------------


def test_a_release_is_worked_out_once_and_pulled_byte_for_byte(union, now):
    cases = [union.open(date(2026, 8, 3)) for _ in range(7)]
    first = release(Q3, date(2026, 10, 2))
    text, digest = first.body, first.digest
    # Everything that happens afterwards, even a case entered late with a day in
    # the quarter, waits for the next quarter's release.
    union.close(cases[0], date(2026, 10, 5), cents=250_000)
    union.open(date(2026, 9, 12))
    for day in (date(2026, 10, 6), date(2026, 11, 22), date(2027, 6, 1)):
        again = release(Q3, day)
        assert (again.id, again.body, again.digest) == (first.id, text, digest)
    assert db.session.scalar(sa.select(sa.func.count(GrievanceRelease.id))) == 1
    assert kind(json.loads(text), "wage_discrepancy", "open") == {"n": 7}


def test_the_organizers_pull_is_the_latest_closed_quarter_and_audited(union, now):
    for _ in range(6):
        union.open(date(2026, 8, 3))
    union.open(date(2026, 10, 3))  # in the quarter still under way
    pulled = grievance_releases.pull(
        actor=union.organizer, now=now, rules=DEFAULT_RULES
    )
    assert pulled.quarter == Q3
    assert kind(pulled.body, "all", "all") == {"n": 6}
    again = grievance_releases.pull(
        actor=union.organizer, now=now, rules=DEFAULT_RULES, exported=True
    )
    assert again.release.body == pulled.release.body
    actions = db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.actor_id == union.organizer.id)
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["grievance.counts_viewed", "grievance.counts_exported"]


# Quarter boundaries ----------------------------------------------------------------


def test_cases_count_as_they_stood_on_the_quarters_last_day(union):
    last_day, next_day = Q3.end, Q4.start
    opened_last_day = [union.open(last_day) for _ in range(5)]
    for _ in range(3):
        union.open(next_day)  # not in the quarter at all
    closed_last_day = [union.open(date(2026, 8, 1)) for _ in range(5)]
    for case in closed_last_day:
        union.close(case, last_day)
    closed_next_day = [union.open(date(2026, 8, 1)) for _ in range(6)]
    for case in closed_next_day:
        union.move(case, GrievanceStep.STEP_1, date(2026, 9, 1))
        union.move(case, GrievanceStep.STEP_2, next_day)
        union.close(case, next_day)
    b = body(Q3, date(2026, 11, 22))
    # Open that day: the five opened on it and the six closed the day after, which
    # stood at step 1 then.
    assert kind(b, "wage_discrepancy", "open") == {"n": 11}
    assert kind(b, "wage_discrepancy", "won") == {"n": 5}
    assert kind(b, "all", "all") == {"n": 16}
    steps = {r["step"]: r for r in b["steps"]}
    assert steps["intake"] == {"step": "intake", "n": 5}
    assert steps["step_1"] == {"step": "step_1", "n": 6}
    assert steps["step_2"] == {"step": "step_2", "n": 0}
    assert len(opened_last_day) == 5


def test_small_counts_and_what_would_give_them_away_are_hidden(union):
    for _ in range(9):
        union.open(date(2026, 8, 1))
    lone = union.open(date(2026, 8, 1), where=union.other)
    union.close(lone, date(2026, 9, 1), GrievanceOutcome.LOST)
    b = body(Q3, date(2026, 11, 22))
    assert kind(b, "wage_discrepancy", "lost") == {"s": CellStatus.FEWER_THAN_MIN}
    # The row and column totals would tell it: something else is hidden with it.
    hidden = [
        c for r in b["rows"] for c in r["cells"] if c.get("s") == CellStatus.HIDDEN
    ]
    assert hidden
    # Never by workplace; by sector, no count says one case closed at the drop-in.
    assert "workplaces" not in b and "Drop-in North" not in json.dumps(b)
    by_sector = {r["sector"]: r for r in b["sectors"]}
    assert list(by_sector) == [s.value for s in Sector]
    assert by_sector["drop_in"]["closed"] == {"s": CellStatus.FEWER_THAN_MIN}


# Money -------------------------------------------------------------------------


def won_with_money(union, count, *, closed_on, opened_on=date(2026, 7, 6), base=0):
    for offset in range(count):
        case = union.open(opened_on)
        union.close(case, closed_on, cents=100_000 + 1_000 * offset + base)


def test_money_only_over_ten_closed_cases_that_recovered_some(union):
    won_with_money(union, 9, closed_on=date(2026, 9, 1))
    b = body(Q3, date(2026, 10, 2))
    assert money(b, "wage_discrepancy") == {
        "category": "wage_discrepancy",
        "s": CellStatus.TOO_FEW_CASES,
    }
    assert money(b, "all") == {"s": CellStatus.TOO_FEW_CASES}


def test_money_over_ten_cases_is_rounded_and_counts_closed_cases_only(union):
    won_with_money(union, 10, closed_on=date(2026, 9, 1))
    # Closed after the quarter: not in its money, whatever it recovered.
    late = union.open(date(2026, 8, 1))
    union.close(late, date(2026, 10, 1), cents=999_999_00)
    b = body(Q3, date(2026, 10, 2))
    # $10,450 in all (ten cases, $1,000 to $1,090), to the nearest $100.
    assert money(b, "wage_discrepancy") == {
        "category": "wage_discrepancy",
        "money": 1_050_000,
    }
    assert money(b, "all") == {"money": 1_050_000}
    assert all(
        r["s"] == CellStatus.TOO_FEW_CASES
        for r in b["money"]
        if r["category"] != "wage_discrepancy"
    )


# Across quarters -----------------------------------------------------------------


def two_quarters_with_one_case_closing(union, monkeypatch=None):
    """Q3: 12 cases won with money, 14 still open. Q4: one more is won, with
    $5,555 back pay, and nothing else changes."""
    won_with_money(union, 12, closed_on=date(2026, 9, 1))
    waiting = [union.open(date(2026, 8, 1)) for _ in range(14)]
    before = body(Q3, date(2026, 10, 2))
    union.close(waiting[0], date(2026, 11, 5), cents=555_500)
    if monkeypatch is not None:
        # A naive release: nothing remembers what Q3 published.
        monkeypatch.setattr(
            grievance_releases,
            "_earlier",
            lambda rules: registry.Earlier(reach=rules.min_group_difference),
        )
    after = body(Q4, date(2027, 1, 4))
    return before, after


def test_comparing_quarters_gives_one_case_away_without_the_registry(
    union, monkeypatch
):
    before, after = two_quarters_with_one_case_closing(union, monkeypatch)
    won = kind(after, "wage_discrepancy", "won")["n"]
    assert won - kind(before, "wage_discrepancy", "won")["n"] == 1
    recovered = money(after, "all")["money"] - money(before, "all")["money"]
    assert abs(recovered - 555_500) <= 100_00  # the back pay, to within $100


def test_a_figure_a_few_cases_from_an_earlier_release_is_not_published(union):
    before, after = two_quarters_with_one_case_closing(union)
    assert kind(before, "wage_discrepancy", "won") == {"n": 12}
    assert "money" in money(before, "all")
    for state in ("won", "open"):
        assert kind(after, "wage_discrepancy", state) == {
            "s": CellStatus.TOO_CLOSE_TO_EARLIER
        }
        assert "n" not in kind(after, "all", state)
    assert money(after, "wage_discrepancy")["s"] == CellStatus.TOO_CLOSE_TO_EARLIER
    assert money(after, "all") == {"s": CellStatus.TOO_CLOSE_TO_EARLIER}
    # Figures that did not move are published again, the same.
    assert kind(after, "all", "all") == kind(before, "all", "all") == {"n": 26}


def test_a_figure_comes_back_once_ten_or_more_cases_changed(union):
    won_with_money(union, 12, closed_on=date(2026, 9, 1))
    body(Q3, date(2026, 10, 2))
    won_with_money(union, 1, closed_on=date(2026, 11, 5), base=7)
    q4 = body(Q4, date(2027, 1, 4))
    assert kind(q4, "wage_discrepancy", "won")["s"] == CellStatus.TOO_CLOSE_TO_EARLIER
    won_with_money(
        union, 9, closed_on=date(2027, 2, 5), opened_on=date(2027, 1, 8), base=3
    )
    q1 = body(Quarter(date(2027, 1, 1), date(2027, 3, 31)), date(2027, 4, 2))
    # 22 won: 10 from the 12 published in Q3 (13, in Q4, was never published).
    assert kind(q1, "wage_discrepancy", "won") == {"n": 22}
    assert "money" in money(q1, "wage_discrepancy")


# The survey reports -----------------------------------------------------------------


def test_a_survey_rounds_report_publishes_the_latest_closed_quarters_release(
    union, make
):
    for _ in range(6):
        union.open(date(2026, 8, 3))
    union.open(date(2026, 10, 20))
    survey_round = survey.open_round(
        "Autumn", actor=union.organizer, now=at(date(2026, 11, 1))
    )
    survey.close_round(survey_round, actor=union.organizer, now=at(date(2026, 12, 1)))
    from tests.services import report_checks

    [artifact] = [
        b
        for b in report_checks.artifacts(survey_round.id)
        if b["report"] == "grievances"
    ]
    stored = db.session.scalar(
        sa.select(GrievanceRelease).where(GrievanceRelease.quarter_start == Q3.start)
    )
    assert artifact["grievances"] == json.loads(stored.body)
    assert artifact["grievances"]["quarter"] == {
        "start": "2026-07-01",
        "end": "2026-09-30",
    }
