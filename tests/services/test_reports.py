"""The disclosure rules, checked on the stored reports of seeded rounds, and as
properties over random unions, answers and rounds."""

from __future__ import annotations

import dataclasses
import gc
import itertools
import json
import random
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.services import report_checks
from union.db import db
from union.models import (
    EmploymentType,
    ReportArtifact,
    Role,
    Sector,
    SurveyAnswer,
    YesNoUnsure,
)
from union.rules import disclosure
from union.rules.disclosure import DEFAULT_RULES
from union.services import reports, survey
from union.services.reports import OutsideCatalogue, building, catalogue
from union.services.reports import medians as median_rules
from union.services.reports.artifact import Level


@pytest.fixture
def organizer(make):
    return make.user("organizer@example.org", roles=(Role.ORGANIZER,))


class Seeder:
    """Adds anonymous answers straight to a round: these tests are about reports."""

    def __init__(self, make, organizer):
        self.make, self.organizer = make, organizer
        self.day = 0

    def round(self):
        self.day += 100
        return survey.open_round(
            f"Round {self.day}",
            actor=self.organizer,
            now=self.make.now + timedelta(days=self.day),
        )

    def answer(self, survey_round, workplace, job, count=1, **values):
        if job not in workplace.classifications:
            workplace.classifications.append(job)
        for _ in range(count):
            db.session.add(
                SurveyAnswer(
                    round_id=survey_round.id,
                    workplace_id=workplace.id,
                    classification_id=job.id,
                    **values,
                )
            )
        db.session.flush()

    def close(self, survey_round):
        survey.close_round(
            survey_round,
            actor=self.organizer,
            now=self.make.now + timedelta(days=self.day + 30),
        )
        return report_checks.artifacts(survey_round.id)


@pytest.fixture
def seed(make, organizer):
    return Seeder(make, organizer)


def body(round_id, report, level, scope=""):
    text = db.session.scalar(
        sa.select(ReportArtifact.body).where(
            ReportArtifact.round_id == round_id,
            ReportArtifact.report == report,
            ReportArtifact.level == level,
            ReportArtifact.scope == scope,
        )
    )
    return json.loads(text)


def medians(round_id, level, scope=""):
    return {
        row["classification"]: row
        for row in body(round_id, "wages", level, scope)["medians"]
    }


def test_counts_of_one_to_four_read_fewer_than_five_and_can_not_be_recovered(
    seed, make
):
    small, large = make.workplace(), make.workplace()
    job = make.classification()
    survey_round = seed.round()
    seed.answer(survey_round, small, job, 3, dental_benefits=True)
    seed.answer(survey_round, large, job, 14, dental_benefits=False)
    bodies = seed.close(survey_round)
    assert body(survey_round.id, "respondents", "workplace", str(small.id))[
        "respondents"
    ] == {"s": "fewer_than_min"}
    assert not any(1 <= n <= 4 for n in report_checks.published_counts(bodies))
    cells = report_checks.cells_by_key(bodies)
    truth = report_checks.true_counts(survey_round.id)
    ranges = report_checks.feasible_ranges(
        cells,
        report_checks.public_equations(survey_round.id),
        truth={key: truth.get(key, 0) for key in cells},
        ungapped=report_checks.agreed_cells(cells, truth)
        | report_checks.withheld_cells(bodies),
    )
    protected = report_checks.needing_protection(cells, truth)
    assert protected, "something must be hidden"
    for key in protected:
        lowest, highest = ranges[key]
        assert lowest < highest, key


EDGE_ANSWERS: tuple[dict[str, object], ...] = (
    {"months_since_raise": 11, "weekly_hours": 14},
    {"months_since_raise": 12, "weekly_hours": 15},
    {"months_since_raise": 23, "weekly_hours": 29},
    {"months_since_raise": 24, "weekly_hours": 30},
    {"months_since_raise": 5, "never_had_raise": True, "weekly_hours": 39},
    {"never_had_raise": True, "weekly_hours": 40},
    {"never_had_raise": False},
    {"paid_sick_days": 0, "vacation_days": 1},
    {"paid_sick_days": 1, "vacation_days": 0},
    {"health_benefits": True, "dental_benefits": False},
    {"health_benefits": False, "dental_benefits": True},
    {"employment_type": EmploymentType.CASUAL, "grant_funded": YesNoUnsure.NOT_SURE},
    {"employment_type": EmploymentType.TEMPORARY, "grant_funded": YesNoUnsure.YES},
    {"relies_on_social_assistance": True, "discrimination_lived_experience": False},
    {"relies_on_social_assistance": False, "discrimination_lived_experience": True},
    {},
)


def test_every_category_counts_what_the_question_says_at_its_edges(seed, make):
    workplace, job = make.workplace(), make.classification()
    survey_round = seed.round()
    for values in EDGE_ANSWERS:
        seed.answer(survey_round, workplace, job, 5, **values)
    bodies = seed.close(survey_round)
    cells = report_checks.cells_by_key(bodies)
    union_raises = {
        key[3]: cell["n"]
        for key, cell in cells.items()
        if key[:3] == ("last_raise", "union", "")
    }
    assert union_raises == {
        "under_12": 5,
        "12_to_23": 10,
        "24_or_more": 5,
        "never": 10,
        "no_answer": 50,
    }
    union_hours = {
        key[3]: cell["n"]
        for key, cell in cells.items()
        if key[:3] == ("weekly_hours", "union", "")
    }
    assert union_hours == {
        "under_15": 5,
        "15_to_29": 10,
        "30_to_39": 10,
        "40_or_more": 5,
        "no_answer": 50,
    }
    truth = report_checks.true_counts(survey_round.id)
    shown = {key: cell["n"] for key, cell in cells.items() if "n" in cell}
    assert len(shown) > 40
    assert shown == {key: truth.get(key, 0) for key in shown}


def test_medians_need_ten_people_and_quartiles_twenty(seed, make):
    nine, ten, twenty = make.workplace(), make.workplace(), make.workplace()
    job = make.classification("Peer worker")
    survey_round = seed.round()
    wages = itertools.cycle([2000, 2110, 2230, 2390, 2415, 2560, 2600, 2750, 2810])
    for workplace, count in ((nine, 9), (ten, 10), (twenty, 20)):
        for _ in range(count):
            seed.answer(survey_round, workplace, job, hourly_wage_cents=next(wages))
    seed.close(survey_round)
    assert medians(survey_round.id, "workplace", str(nine.id))["Peer worker"] == {
        "classification": "Peer worker",
        "s": "not_published",
    }
    at_ten = medians(survey_round.id, "workplace", str(ten.id))["Peer worker"]
    assert at_ten["median"] % 25 == 0 and at_ten["lower_quartile"] is None
    at_twenty = medians(survey_round.id, "workplace", str(twenty.id))["Peer worker"]
    assert at_twenty["group"] == "20-49"
    assert (
        at_twenty["lower_quartile"]
        <= at_twenty["median"]
        <= at_twenty["upper_quartile"]
    )


def test_a_median_is_rounded_to_a_quarter_dollar(seed, make):
    workplace, job = make.workplace(), make.classification("Outreach worker")
    survey_round = seed.round()
    for cents in (2001, 2003, 2007, 2011, 2013, 2109, 2111, 2113, 2117, 2119):
        seed.answer(survey_round, workplace, job, hourly_wage_cents=cents)
    seed.close(survey_round)
    # The exact median is $20.61; published as $20.50.
    row = medians(survey_round.id, "workplace", str(workplace.id))["Outreach worker"]
    assert row["median"] == 2050


def test_a_distribution_where_nearly_everyone_agrees_is_not_shown(seed, make):
    workplace, job = make.workplace(sector=Sector.SHELTER), make.classification()
    survey_round = seed.round()
    seed.answer(survey_round, workplace, job, 19, dental_benefits=False)
    seed.answer(survey_round, workplace, job, 1, dental_benefits=True)
    seed.answer(survey_round, workplace, job, 10, health_benefits=True)
    seed.answer(survey_round, workplace, job, 10, health_benefits=False)
    seed.close(survey_round)
    found = {
        d["question"]: {r["category"]: r for r in d["rows"]}
        for d in body(survey_round.id, "benefits", "sector", "shelter")["distributions"]
    }
    assert "n" not in found["dental_benefits"]["yes"]
    assert "n" not in found["dental_benefits"]["no"]
    assert found["health_benefits"]["yes"] == {"category": "yes", "n": 10}


def test_one_wage_for_nearly_everyone_is_not_published(seed, make):
    workplace, job = make.workplace(), make.classification("Kit maker")
    survey_round = seed.round()
    seed.answer(survey_round, workplace, job, 11, hourly_wage_cents=2200)
    seed.answer(survey_round, workplace, job, 1, hourly_wage_cents=2600)
    seed.close(survey_round)
    row = medians(survey_round.id, "workplace", str(workplace.id))["Kit maker"]
    assert row.get("s") == "not_published"


def test_no_two_medians_over_groups_that_differ_by_fewer_than_ten(seed, make):
    big = make.workplace(sector=Sector.DROP_IN)
    small = make.workplace(sector=Sector.DROP_IN)
    job = make.classification("Peer worker")
    survey_round = seed.round()
    for cents in range(2000, 2000 + 12 * 37, 37):
        seed.answer(survey_round, big, job, hourly_wage_cents=cents)
    for cents in (2100, 2500, 2900):
        seed.answer(survey_round, small, job, hourly_wage_cents=cents)
    seed.close(survey_round)
    workplace_row = medians(survey_round.id, "workplace", str(big.id))["Peer worker"]
    sector_row = medians(survey_round.id, "sector", "drop_in")["Peer worker"]
    union_row = medians(survey_round.id, "union")["Peer worker"]
    # Published for the workplace of 12; the sector and union (15) are withheld,
    # or subtracting would give the three others' wages.
    assert "median" in workplace_row
    assert sector_row.get("s") == "not_published"
    assert union_row.get("s") == "not_published"


def test_a_group_that_changed_by_a_few_people_is_not_updated_next_round(seed, make):
    workplace, job = make.workplace(), make.classification("Coordinator")
    first = seed.round()
    seed.answer(first, workplace, job, 12, hourly_wage_cents=2500)
    seed.answer(first, workplace, job, 1, hourly_wage_cents=3100)
    seed.answer(first, workplace, job, 1, hourly_wage_cents=2000)
    seed.close(first)
    assert "median" in medians(first.id, "workplace", str(workplace.id))["Coordinator"]
    second = seed.round()
    seed.answer(second, workplace, job, 12, hourly_wage_cents=2500)
    seed.answer(second, workplace, job, 1, hourly_wage_cents=3100)
    seed.close(second)
    # 14 then 13 answers: the difference would be one person's wage.
    assert (
        medians(second.id, "workplace", str(workplace.id))["Coordinator"].get("s")
        == "not_published"
    )
    third = seed.round()
    seed.answer(third, workplace, job, 20, hourly_wage_cents=2600)
    seed.answer(third, workplace, job, 5, hourly_wage_cents=2000)
    seed.close(third)
    # The round before published nothing for the group, so nothing to subtract.
    assert "median" in medians(third.id, "workplace", str(workplace.id))["Coordinator"]


def test_every_pull_returns_the_same_bytes(seed, make, organizer):
    workplace, job = make.workplace(), make.classification()
    survey_round = seed.round()
    seed.answer(survey_round, workplace, job, 12, hourly_wage_cents=2400)
    seed.close(survey_round)
    first = reports.pull(
        survey_round, "wages", "union", "", actor=organizer, now=make.now
    )
    second = reports.pull(
        survey_round, "wages", "union", "", actor=organizer, now=make.now
    )
    assert first.artifact.body == second.artifact.body
    assert first.artifact.digest == second.artifact.digest


@pytest.mark.parametrize(
    ("report", "level", "scope"),
    [
        ("wages", "region", ""),
        ("mean_wage", "union", ""),
        ("grievances", "workplace", "1"),
        ("wages", "union", "1"),
        ("wages", "sector", "atlantis"),
        ("wages", "workplace", "1 OR 1=1"),
    ],
)
def test_requests_outside_the_catalogue_are_refused(
    seed, organizer, make, report, level, scope
):
    survey_round = seed.round()
    seed.close(survey_round)
    with pytest.raises(OutsideCatalogue):
        reports.pull(survey_round, report, level, scope, actor=organizer, now=make.now)


def test_open_rounds_have_no_reports(seed):
    survey_round = seed.round()
    with pytest.raises(OutsideCatalogue):
        reports.closed_round(survey_round.id)


# Properties over random unions ----------------------------------------------------


@st.composite
def unions(draw):
    sectors = draw(
        st.lists(st.sampled_from(list(Sector)), min_size=1, max_size=3, unique=True)
    )
    workplaces = draw(st.lists(st.sampled_from(sectors), min_size=1, max_size=5))
    groups = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(workplaces) - 1),
                st.integers(0, 2),
                st.integers(0, 26),
            ),
            min_size=1,
            max_size=8,
        )
    )
    rounds = draw(st.integers(1, 2))
    seed_value = draw(st.integers(0, 2**32))
    return workplaces, groups, rounds, seed_value


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=unions())
def test_properties_hold_for_random_unions(seed, make, drawn):
    sector_list, groups, rounds, seed_value = drawn
    rng = random.Random(seed_value)  # noqa: S311 -- invented test data
    nested = db.session.begin_nested()
    try:
        workplaces = [make.workplace(sector=sector) for sector in sector_list]
        jobs = [make.classification() for _ in range(3)]
        for _ in range(rounds):
            survey_round = seed.round()
            for workplace_index, job_index, count in groups:
                for _ in range(max(0, count + rng.randint(-2, 2))):
                    seed.answer(
                        survey_round,
                        workplaces[workplace_index],
                        jobs[job_index],
                        hourly_wage_cents=rng.choice([None, *range(1800, 3600, 35)]),
                        dental_benefits=rng.choice([None, True, False, False]),
                        relies_on_social_assistance=rng.choice([None, True, False]),
                        months_since_raise=rng.choice([None, 1, 6, 13, 30]),
                        weekly_hours=rng.choice([None, 8, 15, 29, 30, 40]),
                    )
            bodies = seed.close(survey_round)
            check_round(survey_round.id, bodies)
    finally:
        nested.rollback()


def check_round(round_id, bodies):
    # No published count from 1 to 4.
    assert not any(1 <= n <= 4 for n in report_checks.published_counts(bodies))
    # No mean, minimum, maximum or sum anywhere; medians carry only their fields.
    for artifact in bodies:
        for key, value in report_checks.walk(artifact):
            assert key not in report_checks.FORBIDDEN_KEYS
            if key == "medians":
                for row in value:
                    assert set(row) <= report_checks.MEDIAN_FIELDS
    # Every median covers at least 10 answers, quartiles at least 20, and no two
    # published medians of the same measure cover groups 1 to 9 apart.
    figures = report_checks.published_figures(round_id)
    members = {tuple(f): report_checks.figure_members(round_id, f) for f in figures}
    for figure, covered in members.items():
        assert len(covered) >= 10, figure
    for (first, a), (second, b) in itertools.combinations(members.items(), 2):
        if first[0] == second[0]:
            assert not 1 <= len(a ^ b) <= 9, (first, second)
    for artifact in bodies:
        for row in artifact.get("medians", ()):
            if row.get("lower_quartile") is not None:
                assert row["group"] != "10-19"
    # Every small count, and every answer of a distribution where nearly everyone
    # agreed, could still be more than one value.
    cells = report_checks.cells_by_key(bodies)
    truth = report_checks.true_counts(round_id)
    ranges = report_checks.feasible_ranges(
        cells,
        report_checks.public_equations(round_id),
        truth={key: truth.get(key, 0) for key in cells},
        ungapped=report_checks.agreed_cells(cells, truth)
        | report_checks.withheld_cells(bodies),
    )
    for key in report_checks.needing_protection(cells, truth):
        lowest, highest = ranges[key]
        assert lowest < highest, key
    # Every count shown is the true count.
    for key, cell in cells.items():
        if "n" in cell:
            assert cell["n"] == truth.get(key, 0), key


def test_the_catalogue_lists_every_report_at_its_levels():
    assert {report.name for report in catalogue.CATALOGUE} == {
        "respondents",
        "wages",
        "benefits",
        "raises",
        "funding",
        "social_assistance",
        "discrimination",
        "grievances",
        "density",
        "hours",
    }
    assert all(
        report.levels and set(report.levels) <= set(Level)
        for report in catalogue.CATALOGUE
    )
    assert len(catalogue.BY_NAME) == len(catalogue.CATALOGUE)


def test_the_cycle_collector_is_paused_for_a_build_and_always_resumes(
    seed, monkeypatch
):
    survey_round = seed.round()
    paused_during_build = []

    def failing_build(*_args, **_kwargs):
        paused_during_build.append(not gc.isenabled())
        raise RuntimeError("the build failed")

    monkeypatch.setattr(building, "_figures", failing_build)
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        building.build_round(
            survey_round,
            now=seed.make.now,
            rules=DEFAULT_RULES,
        )
    assert paused_during_build == [True]
    assert gc.isenabled()


def test_quarters_too_small_to_publish_say_so_on_the_page_and_in_the_csv(app):
    from union.i18n import format_money
    from union.services.reports import presenting
    from union.services.reports.artifact import MedianRow

    row: MedianRow = {
        "classification": "",
        "group": "10 to 19",
        "median": 2500,
        "lower_quartile": None,
        "upper_quartile": None,
    }
    with app.test_request_context():
        table = presenting._median_table(
            "hourly_wage", [row], "Hourly wage", "per hour", format_money
        )
        for shown in (table.rows[0], table.raw_rows[0]):
            assert shown[3:] == ["not published", "not published"]
            assert shown[2] not in ("", "not published")


def _grievance_table(rows, *, release):
    """A grievance table as stored, each row's cells by state then "all": a
    quarter's release, or one stored before releases (no quarter, its money
    counted over every case, open ones too)."""
    table = {
        "states": ["open", "won", "partly_won", "lost", "withdrawn"],
        "rows": [{"category": kind, "cells": cells} for kind, cells in rows.items()],
        "money": [
            {"category": kind, "s": "too_few_cases"} for kind in rows if kind != "all"
        ],
        "total_money": {"s": "too_few_cases"},
    }
    if release:
        table["quarter"] = {"start": "2026-07-01", "end": "2026-09-30"}
    return table


def _money_column(app, table):
    from union.rules.disclosure import DEFAULT_RULES
    from union.services.reports import presenting

    with app.test_request_context(headers={"Accept-Language": "en-CA"}):
        page = presenting.Page(title="", scope_name="", rules=DEFAULT_RULES)
        presenting.grievance_tables(table, page)
    money = page.table("money_recovered")
    assert money is not None
    assert money.rows == money.raw_rows
    return dict(money.rows)


def test_money_reads_none_only_where_published_zeros_leave_no_case_to_recover_it(
    app,
):
    zero, few = {"n": 0}, {"s": "fewer_than_min"}
    close, hidden = {"s": "too_close_to_earlier"}, {"s": "hidden"}
    release = _grievance_table(
        {
            # Open cases only, and every closed count published as 0.
            "wage_discrepancy": [few, zero, zero, zero, zero, few],
            # Closed cases, of which none or some recovered money: withheld.
            "benefits": [zero, few, zero, zero, zero, few],
            # A closed count withheld as too close to an earlier one: unknown.
            "scheduling": [zero, zero, zero, zero, close, close],
            "other": [zero] * 6,
            "all": [few, few, zero, zero, close, hidden],
        },
        release=True,
    )
    assert _money_column(app, release) == {
        "Wage discrepancy": "none",
        "Benefits": "too few cases",
        "Scheduling": "too few cases",
        "Other": "none",
        "All": "too few cases",
    }
    before_releases = _grievance_table(
        {
            "wage_discrepancy": [few, zero, zero, zero, zero, few],
            "other": [zero] * 6,
            "all": [few, zero, zero, zero, zero, few],
        },
        release=False,
    )
    # Open cases counted for money then: only a kind with no case at all reads
    # "none".
    assert _money_column(app, before_releases) == {
        "Wage discrepancy": "too few cases",
        "Other": "none",
        "All": "too few cases",
    }


def _one_figure_run_by_run(ordered: list[int], rules) -> bool:
    """Every figure's run measured, then disclosure.homogeneous: the plain reading
    that medians._mostly_one_figure must agree with."""
    step = rules.rounding_cents
    runs = [
        len(list(run))
        for _figure, run in itertools.groupby(
            ordered, key=lambda value: (value + step // 2) // step
        )
    ]
    return disclosure.homogeneous(runs, rules)


@settings(max_examples=400, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.integers(1800, 1830), st.integers(500, 20000)), max_size=60
    ),
    percent=st.sampled_from([1, 50, 75, 89, 90]),
)
def test_mostly_one_figure_measures_only_the_runs_that_could_be_most(values, percent):
    rules = dataclasses.replace(DEFAULT_RULES, homogeneity_percent=percent)
    ordered = sorted(values)
    assert median_rules._mostly_one_figure(ordered, rules) is _one_figure_run_by_run(
        ordered, rules
    )
