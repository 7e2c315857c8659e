"""The insider attack on grievance numbers: an organizer who knows that one
co-worker's case has just closed reads the grievance page (and its CSV) before
and after, and the survey report's grievance table beside it.

Positive control first: a naive exact reporter (the old page: live exact counts
by kind, outcome and workplace, and a live money total) is implemented here, and
the attack must recover the case's outcome, workplace and back pay from it, and
every "fewer than 5" cell of the report from it. Then the same attack against the
real pages must recover nothing.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from tests.conftest import without_csrf_tokens
from union import clock
from union.db import db
from union.models import (
    Grievance,
    GrievanceCategory,
    GrievanceOutcome,
    Role,
    Sector,
    Workplace,
)
from union.rules import disclosure
from union.services import grievances, survey
from union.services.grievances import Closing, GrievanceDetails, NewGrievance

TARGET_BACK_PAY = 4_321_00


def at(day: date, hour: int = 16) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


class SmallUnion:
    """Two workplaces and a steward; every case opened and closed through the
    services, on the days given."""

    #: The co-worker's case the organizer watches.
    target: Grievance

    def __init__(self, make):
        self.harbour = make.workplace("Harbour Agency", sector=Sector.SHELTER)
        self.drop_in = make.workplace("Drop-in North", sector=Sector.DROP_IN)
        self.steward = make.steward(self.harbour, self.drop_in)
        self.organizer = make.user("organizer@example.org", roles=(Role.ORGANIZER,))

    def open(self, workplace, day, category=GrievanceCategory.WAGE_DISCREPANCY):
        return grievances.open_grievance(
            NewGrievance(
                workplace_id=workplace.id,
                details=GrievanceDetails(category, "Case", "What happened."),
            ),
            actor=self.steward,
            now=at(day),
        )

    def close(self, case, day, outcome, cents=None):
        grievances.close_grievance(
            case, Closing(outcome, cents, "Settled."), actor=self.steward, now=at(day)
        )


@pytest.fixture
def small_union(make):
    """Summer 2026: twelve wage cases won at Harbour Agency with back pay, two
    lost and three open; one scheduling case withdrawn; and the target's case
    at Drop-in North, open since August."""
    union = SmallUnion(make)
    for offset in range(12):
        case = union.open(union.harbour, date(2026, 7, 6))
        union.close(case, date(2026, 9, 1), GrievanceOutcome.WON, 150_000 + offset)
    for _ in range(2):
        case = union.open(union.harbour, date(2026, 7, 6))
        grievances.move_grievance(
            case, next_step(case), actor=union.steward, now=at(date(2026, 7, 20))
        )
        union.close(case, date(2026, 9, 2), GrievanceOutcome.LOST)
    for _ in range(3):
        union.open(union.harbour, date(2026, 8, 3))
    withdrawn = union.open(
        union.harbour, date(2026, 8, 3), GrievanceCategory.SCHEDULING
    )
    union.close(withdrawn, date(2026, 8, 20), GrievanceOutcome.WITHDRAWN)
    union.target = union.open(union.drop_in, date(2026, 8, 10))
    db.session.flush()
    return union


def next_step(case):
    from union.rules.grievance_steps import next_open_steps

    return next_open_steps(case.step)[0]


# The naive reporter: the old /grievances/counts -------------------------------------


def naive_counts():
    """Exact, live: cases by kind and outcome, closed cases by workplace, and the
    money total (shown, rounded, over 10 or more cases, as the old page did)."""
    by_kind = dict.fromkeys(
        [(c.value, o.value) for c in GrievanceCategory for o in GrievanceOutcome], 0
    )
    rows = db.session.execute(
        sa.select(Grievance.category, Grievance.outcome, sa.func.count())
        .where(Grievance.outcome.is_not(None))
        .group_by(Grievance.category, Grievance.outcome)
    )
    for category, outcome, count in rows:
        by_kind[(category.value, outcome.value)] = count
    closed_at = dict(
        db.session.execute(
            sa.select(Workplace.employer, sa.func.count())
            .join(Grievance, Grievance.workplace_id == Workplace.id)
            .where(Grievance.closed_on.is_not(None))
            .group_by(Workplace.employer)
        ).all()
    )
    cases, cents = db.session.execute(
        sa.select(
            sa.func.count(sa.case((Grievance.money_recovered_cents > 0, 1))),
            sa.func.coalesce(sa.func.sum(Grievance.money_recovered_cents), 0),
        )
    ).one()
    money = disclosure.protect_money({"all": (cases, int(cents))}).total
    return {"by_kind": by_kind, "closed_at": closed_at, "money": money}


# Reading the real pages ---------------------------------------------------------------


def tables_of(text):
    """{(table, row, column): cell} from one of the app's CSV files: tables are a
    title row, a row of column names, data rows and a blank row."""
    rows = list(csv.reader(io.StringIO(text)))
    figures = {}
    position = 0
    while position < len(rows) - 1:
        row, following = rows[position], rows[position + 1]
        if (
            len(row) == 1
            and len(following) >= 2
            and following[0] in ("Kind", "Step", "Sector")
        ):
            title, columns = row[0], following
            position += 2
            while position < len(rows) and rows[position]:
                cells = rows[position]
                for column, value in zip(columns[1:], cells[1:], strict=True):
                    figures[(title, cells[0], column)] = value
                position += 1
        position += 1
    return figures


def pull(client):
    page = without_csrf_tokens(client.get("/grievances/counts").get_data(as_text=True))
    response = client.get("/grievances/counts.csv")
    assert response.status_code == 200
    return page, response.get_data(as_text=True)


def is_number(value):
    return value.replace(",", "").replace(".", "").isdigit()


def close_a_survey_round(union, now):
    survey_round = survey.open_round(
        "Autumn", actor=union.organizer, now=at(date(2026, 11, 1))
    )
    survey.close_round(survey_round, actor=union.organizer, now=now)
    db.session.flush()
    return survey_round


# The attack ---------------------------------------------------------------------


def test_the_naive_reporter_gives_the_case_away(small_union):
    before = naive_counts()
    small_union.close(
        small_union.target, date(2026, 11, 22), GrievanceOutcome.WON, TARGET_BACK_PAY
    )
    after = naive_counts()
    changed = {k for k, v in after["by_kind"].items() if before["by_kind"][k] != v}
    assert changed == {("wage_discrepancy", "won")}  # its kind and outcome
    assert after["closed_at"].get("Drop-in North", 0) == 1  # its workplace
    assert abs(after["money"] - before["money"] - TARGET_BACK_PAY) <= 100_00


def test_the_pages_do_not_move_when_a_case_closes_in_an_open_quarter(
    client, small_union
):
    client.sign_in("organizer@example.org")
    page_before, csv_before = pull(client)
    assert "Jul 1, 2026 to Sep 30, 2026" in page_before
    assert ("Money recovered, rounded to $100", "All", "Money recovered") in tables_of(
        csv_before
    )
    small_union.close(
        small_union.target, date(2026, 11, 22), GrievanceOutcome.WON, TARGET_BACK_PAY
    )
    db.session.flush()
    page_after, csv_after = pull(client)
    assert page_after == page_before
    assert csv_after == csv_before


def test_the_next_quarter_does_not_give_the_case_away_either(client, small_union):
    client.sign_in("organizer@example.org")
    _page, q3 = pull(client)
    small_union.close(
        small_union.target, date(2026, 11, 22), GrievanceOutcome.WON, TARGET_BACK_PAY
    )
    db.session.flush()
    with clock.pinned(at(date(2027, 1, 4))):
        client.sign_in("organizer@example.org")  # weeks later: a new session
        page, q4 = pull(client)
    assert "Oct 1, 2026 to Dec 31, 2026" in page
    before, after = tables_of(q3), tables_of(q4)
    kinds = "Grievances by kind and where they stand"
    # Every figure the case moved is withheld in one of the two, or unchanged.
    for figure in (
        (kinds, "Wage discrepancy", "Won"),
        (kinds, "All", "Won"),
        (kinds, "Wage discrepancy", "Still open"),
        (kinds, "All", "Still open"),
        ("Cases by sector", "Drop-in", "Closed"),
        ("Cases by sector", "Drop-in", "Open"),
        ("Money recovered, rounded to $100", "Wage discrepancy", "Money recovered"),
        ("Money recovered, rounded to $100", "All", "Money recovered"),
    ):
        old, new = before.get(figure, ""), after.get(figure, "")
        assert not (is_number(old) and is_number(new)) or old == new, figure


def test_the_page_and_the_report_are_the_same_release(client, small_union, now):
    client.sign_in("organizer@example.org")
    _page, page_csv = pull(client)
    survey_round = close_a_survey_round(small_union, now)
    report = client.get(
        f"/reports/rounds/{survey_round.id}/grievances/union/csv"
    ).get_data(as_text=True)
    page_figures, report_figures = tables_of(page_csv), tables_of(report)
    assert report_figures == page_figures
    # Subtracting one from the other leaves nothing: every cell the report
    # withholds is withheld on the page too.
    withheld = {k for k, v in report_figures.items() if not is_number(v)}
    assert withheld
    assert all(not is_number(page_figures[k]) for k in withheld)


def test_the_naive_page_undoes_the_reports_suppression(client, small_union, now):
    """The positive control for the subtraction: the report withholds small
    cells, and the naive exact page has every one of them."""
    survey_round = close_a_survey_round(small_union, now)
    client.sign_in("organizer@example.org")
    report = tables_of(
        client.get(f"/reports/rounds/{survey_round.id}/grievances/union/csv").get_data(
            as_text=True
        )
    )
    kinds = "Grievances by kind and where they stand"
    hidden = {
        (row, column)
        for (table, row, column), value in report.items()
        if table == kinds
        and column in ("Won", "Lost", "Withdrawn")
        and not is_number(value)
    }
    assert ("Wage discrepancy", "Lost") in hidden  # two cases: "fewer than 5"
    naive = naive_counts()["by_kind"]
    names = {
        "Wage discrepancy": "wage_discrepancy",
        "Scheduling": "scheduling",
    }
    recovered = {
        (row, column): naive[(names[row], column.lower())]
        for row, column in hidden
        if row in names
    }
    assert recovered[("Wage discrepancy", "Lost")] == 2
