"""Attacks by people who read the reports and know the members: each is first
shown to work against a naive reporter (exact counts, checked against the round
before only), then run against the real catalogue, where it must recover nothing
beyond what the stated guarantees allow.

The threat model these stand for is in the README ("Who the reports hold
against") and on the reports page.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from scipy.stats import beta

from tests.services import report_checks
from tests.services.test_reports import Seeder
from union.db import db
from union.models import (
    PrivacySpend,
    PublishedFigure,
    Role,
    Sector,
    SurveyAnswer,
    SurveyReceipt,
)
from union.rules.disclosure import DEFAULT_RULES, Rules
from union.services import survey
from union.services.reports import building, catalogue, noisy, registry
from union.services.reports.artifact import UNION_WIDE, Level, Place
from union.services.reports.counting import Tallies


@pytest.fixture
def organizer(make):
    return make.user("organizer@example.org", roles=(Role.ORGANIZER,))


@pytest.fixture
def seed(make, organizer):
    return Seeder(make, organizer)


def body(round_id, report, level, scope=""):
    return next(
        b
        for b in report_checks.artifacts(round_id)
        if (b["report"], b["level"], b["scope"]) == (report, level, scope)
    )


def distribution(b, question):
    return next(d for d in b["distributions"] if d["question"] == question)


def exact(d, category):
    row = next(r for r in d["rows"] if r["category"] == category)
    return row.get("n")


# Knowing who joined between two rounds ------------------------------------------


def staff_answers(seed, survey_round, workplace, job, *, yes, no):
    seed.answer(survey_round, workplace, job, yes, health_benefits=True)
    seed.answer(survey_round, workplace, job, no, health_benefits=False)


def two_rounds_with_a_joiner(seed, make, monkeypatch=None):
    shelter = make.workplace("Shelter A", sector=Sector.SHELTER)
    outreach = make.workplace("Outreach B", sector=Sector.OUTREACH)
    job = make.classification()
    first = seed.round()
    staff_answers(seed, first, shelter, job, yes=12, no=8)
    staff_answers(seed, first, outreach, job, yes=15, no=15)
    seed.close(first)
    if monkeypatch is not None:
        # A naive reporter: nothing remembers what round one published.
        monkeypatch.setattr(registry, "earlier_rounds", lambda _round: [])
    second = seed.round()
    staff_answers(seed, second, shelter, job, yes=13, no=8)  # the joiner said yes
    staff_answers(seed, second, outreach, job, yes=15, no=15)
    seed.close(second)
    return first, second


def test_the_joiner_attack_works_on_a_reporter_without_memory(seed, make, monkeypatch):
    first, second = two_rounds_with_a_joiner(seed, make, monkeypatch)
    before = distribution(
        body(first.id, "benefits", "sector", "shelter"), "health_benefits"
    )
    after = distribution(
        body(second.id, "benefits", "sector", "shelter"), "health_benefits"
    )
    # The difference is the joiner's answer.
    assert (
        exact(after, "yes") - exact(before, "yes"),
        exact(after, "no") - exact(before, "no"),
    ) == (1, 0)


def test_a_joiner_between_rounds_cannot_be_read_off(seed, make):
    first, second = two_rounds_with_a_joiner(seed, make)
    before = distribution(
        body(first.id, "benefits", "sector", "shelter"), "health_benefits"
    )
    assert exact(before, "yes") == 12
    for level, scope in (("sector", "shelter"), ("union", "")):
        d = distribution(body(second.id, "benefits", level, scope), "health_benefits")
        assert d["s"] == "too_close_to_earlier"
        assert all("n" not in row for row in d["rows"])
    # The other sector, where nobody changed, is still published.
    same = distribution(
        body(second.id, "benefits", "sector", "outreach"), "health_benefits"
    )
    assert exact(same, "yes") == 15


def three_rounds_with_a_joiner_then_a_leaver(seed, make):
    """Round one; a yes-sayer joins the shelter before round two; a no-sayer
    leaves it before round three, so rounds one and three are groups of the same
    size. Who joined and who left is what the reader knows; their answers are
    what the rounds must not give away."""
    shelter = make.workplace("Shelter E", sector=Sector.SHELTER)
    outreach = make.workplace("Outreach F", sector=Sector.OUTREACH)
    job = make.classification()
    sayers = {
        True: [make.member(shelter, classification=job) for _ in range(13)],
        False: [make.member(shelter, classification=job) for _ in range(8)],
    }
    others = [make.member(outreach, classification=job) for _ in range(30)]
    for workplace in (shelter, outreach):  # who never answer
        for _ in range(10):
            make.member(workplace, classification=job)
    joiner, leaver = sayers[True][-1], sayers[False][-1]
    rounds = []
    for number in range(3):
        survey_round = seed.round()
        for benefits, people in sayers.items():
            answering = [
                person
                for person in people
                if not (person is joiner and number == 0)
                and not (person is leaver and number == 2)
            ]
            seed.answer(
                survey_round, shelter, job, len(answering), health_benefits=benefits
            )
            for person in answering:
                db.session.add(
                    SurveyReceipt(round_id=survey_round.id, member_id=person.id)
                )
        staff_answers(seed, survey_round, outreach, job, yes=15, no=15)
        for person in others:
            db.session.add(SurveyReceipt(round_id=survey_round.id, member_id=person.id))
        seed.close(survey_round)
        rounds.append(
            distribution(
                body(survey_round.id, "benefits", "sector", "shelter"),
                "health_benefits",
            )
        )
    return rounds


def test_the_joiner_and_the_leaver_read_off_a_reporter_without_memory(
    seed, make, monkeypatch
):
    monkeypatch.setattr(registry, "earlier_rounds", lambda _round: [])
    first, second, third = three_rounds_with_a_joiner_then_a_leaver(seed, make)
    joined = (
        exact(second, "yes") - exact(first, "yes"),
        exact(second, "no") - exact(first, "no"),
    )
    left = (
        exact(second, "yes") - exact(third, "yes"),
        exact(second, "no") - exact(third, "no"),
    )
    assert (joined, left) == ((1, 0), (0, 1))


def test_a_reporter_comparing_sizes_only_lets_a_join_and_a_leave_through(
    seed, make, monkeypatch
):
    monkeypatch.setattr(registry.Earlier, "people_changed", lambda *_args: False)
    first, second, third = three_rounds_with_a_joiner_then_a_leaver(seed, make)
    assert second["s"] == "too_close_to_earlier"
    # Rounds one and three are groups of 21: by size alone nothing changed, but
    # their difference is the joiner's answer less the leaver's.
    assert (
        exact(third, "yes") - exact(first, "yes"),
        exact(third, "no") - exact(first, "no"),
    ) == (1, -1)


def test_neither_the_joiner_nor_the_leaver_can_be_read_off_three_rounds(seed, make):
    first, second, third = three_rounds_with_a_joiner_then_a_leaver(seed, make)
    assert exact(first, "yes") == 12
    for later in (second, third):
        assert later["s"] == "too_close_to_earlier"
        assert all("n" not in row for row in later["rows"])


def wage_median_after_a_swap(seed, make):
    """Fifteen answer with their wage; then one leaves the drop-in and one
    joins it, so the next round's group has the same size and other people."""
    workplace = make.workplace("Drop-in G", sector=Sector.DROP_IN)
    job = make.classification("Harm reduction worker")
    people = [make.member(workplace, classification=job) for _ in range(16)]
    for _ in range(10):  # who never answer
        make.member(workplace, classification=job)
    published = []
    for answering in (people[:15], people[1:]):
        survey_round = seed.round()
        for offset, person in enumerate(answering):
            seed.answer(
                survey_round, workplace, job, hourly_wage_cents=2200 + 53 * offset
            )
            db.session.add(SurveyReceipt(round_id=survey_round.id, member_id=person.id))
        seed.close(survey_round)
        wages = body(survey_round.id, "wages", "workplace", str(workplace.id))
        published.append("median" in wages["medians"][0])
    return published


def test_a_reporter_comparing_sizes_only_publishes_a_median_after_a_swap(
    seed, make, monkeypatch
):
    monkeypatch.setattr(registry.Earlier, "people_changed", lambda *_args: False)
    assert wage_median_after_a_swap(seed, make) == [True, True]


def test_a_median_over_a_swapped_group_is_withheld(seed, make):
    assert wage_median_after_a_swap(seed, make) == [True, False]


def test_a_figure_withheld_once_is_compared_with_every_earlier_round(seed, make):
    """The median 'waiting one round' attack: round 1 publishes a group of 12,
    round 2 (15) is withheld, round 3 (13) is one person away from round 1. A
    rule that looks only at the round before (and only at what it published)
    lets round 3 out; the registry of every publication does not."""
    workplace = make.workplace("Drop-in C", sector=Sector.DROP_IN)
    job = make.classification("Peer worker")
    medians_published = []
    for size in (12, 22, 13):
        survey_round = seed.round()
        for offset in range(size):
            seed.answer(
                survey_round, workplace, job, hourly_wage_cents=2000 + 37 * offset
            )
        seed.close(survey_round)
        wages = body(survey_round.id, "wages", "workplace", str(workplace.id))
        everyone = wages["medians"][0]
        medians_published.append("median" in everyone)
    # Round two differs from round one by 10 (allowed); round three by 1 from
    # round one and 9 from round two: withheld.
    assert medians_published == [True, True, False]


def medians_over_three_rounds(seed, make, monkeypatch=None):
    workplace = make.workplace("Drop-in D", sector=Sector.DROP_IN)
    job = make.classification("Outreach worker")
    if monkeypatch is not None:
        # A reporter that compares with what the round before published, only.
        everything_before = registry.earlier_rounds
        monkeypatch.setattr(
            registry,
            "earlier_rounds",
            lambda survey_round: sorted(
                everything_before(survey_round), key=lambda r: r.closed_on
            )[-1:],
        )
    published = []
    for size in (12, 15, 13):
        survey_round = seed.round()
        for offset in range(size):
            seed.answer(
                survey_round, workplace, job, hourly_wage_cents=2100 + 41 * offset
            )
        seed.close(survey_round)
        wages = body(survey_round.id, "wages", "workplace", str(workplace.id))
        published.append("median" in wages["medians"][0])
    return published


def test_a_reporter_that_remembers_one_round_lets_a_median_back(
    seed, make, monkeypatch
):
    # Round two (15) is 3 from round one: withheld. Compared only with what
    # round two published, round three (13) comes out, one person from 12.
    assert medians_over_three_rounds(seed, make, monkeypatch) == [
        True,
        False,
        True,
    ]


def test_the_round_before_alone_is_not_enough(seed, make):
    assert medians_over_three_rounds(seed, make) == [True, False, False]


# Whether someone answered -------------------------------------------------------


def participation(seed, make):
    everyone = make.workplace("Everyone answered", sector=Sector.HOUSING, headcount=7)
    nobody = make.workplace("Nobody answered", sector=Sector.HOUSING, headcount=6)
    others = make.workplace("Some answered", sector=Sector.HOUSING, headcount=40)
    job = make.classification()
    for workplace, members in ((everyone, 7), (nobody, 6), (others, 30)):
        for _ in range(members):
            make.member(workplace)
    survey_round = seed.round()
    seed.answer(survey_round, everyone, job, 7, health_benefits=True)
    seed.answer(survey_round, others, job, 12, health_benefits=True)
    seed.answer(survey_round, others, job, 12, health_benefits=False)
    bodies = seed.close(survey_round)
    housing = body(survey_round.id, "respondents", "sector", "housing")
    return survey_round, bodies, everyone, nobody, housing


def test_a_reporter_blind_to_member_counts_tells_who_answered(seed, make, monkeypatch):
    monkeypatch.setattr(building, "_members_by_place", lambda _density: {})
    _round, _bodies, _everyone, _nobody, housing = participation(seed, make)
    cells = {row["label"]: row.get("n") for row in housing["breakdown"]}
    # 7 answers beside the density report's 7 members; 0 beside 6.
    assert (cells["Everyone answered"], cells["Nobody answered"]) == (7, 0)


def test_respondents_beside_members_do_not_tell_who_answered(seed, make):
    survey_round, bodies, everyone, nobody, housing = participation(seed, make)
    cells = {row["label"]: row for row in housing["breakdown"]}
    assert "n" not in cells["Everyone answered"]
    assert "n" not in cells["Nobody answered"]
    assert cells["Some answered"].get("n") in (None, 24)
    # And neither can be worked out from the sector's total and the others.
    cells = report_checks.cells_by_key(bodies)
    truth = report_checks.true_counts(survey_round.id)
    hidden_whatever_their_size = {
        key
        for key, cell in cells.items()
        if key[0] == "respondents" and "n" not in cell
    }
    ranges = report_checks.feasible_ranges(
        cells,
        report_checks.public_equations(survey_round.id),
        truth={key: truth.get(key, 0) for key in cells},
        ungapped=report_checks.withheld_cells(bodies) | hidden_whatever_their_size,
    )
    for workplace in (everyone, nobody):
        key = ("respondents", "workplace", str(workplace.id))
        low, high = ranges[key]
        assert low < high, (workplace.name, low, high)


# Knowing every other answer: the sensitive questions ----------------------------


def tallies_for(question, others_yes, others_no, target_yes):
    """A round's tallies by hand: the union and one sector, everyone else known."""
    tallies = Tallies([question])
    yes = others_yes + (1 if target_yes else 0)
    no = others_no + (0 if target_yes else 1)
    counts = [yes + no, yes, no]
    tallies.by_group = {UNION_WIDE: counts, Place(Level.SECTOR, "shelter"): counts}
    return tallies


def test_an_insider_who_knows_every_other_answer_learns_little_from_a_release():
    """The positive control first: exact counts give the target away every time.
    Then the real release, drawn 4,000 times each way: the insider's best guess
    (yes when the noisy count is above what the others alone would give) is
    right no more often than e^epsilon / (1 + e^epsilon) allows, within
    Clopper-Pearson bounds at 1e-9."""
    question = next(
        q for q in catalogue.questions() if q.key == "relies_on_social_assistance"
    )
    others_yes, others_no = 17, 40
    exact_yes = tallies_for(question, others_yes, others_no, True).of(
        question, UNION_WIDE
    )["yes"]
    assert exact_yes - others_yes == 1  # the naive reporter: certain

    rules = DEFAULT_RULES
    draws = 4000
    right = 0
    for target_yes in (True, False):
        tallies = tallies_for(question, others_yes, others_no, target_yes)
        groups = noisy._groups(tallies, rules)
        for _ in range(draws):
            counts, _spread = noisy._noisy(
                question, tallies, groups, rules.epsilon_per_release
            )
            guess_yes = counts[UNION_WIDE][0] > others_yes
            right += guess_yes == target_yes
    bound = math.exp(rules.epsilon_per_release) / (
        1 + math.exp(rules.epsilon_per_release)
    )
    lowest_rate = beta.ppf(1e-9, right, 2 * draws - right + 1)
    assert lowest_rate <= bound, (right / (2 * draws), bound)
    assert right < 2 * draws  # and it is not certain


# The budget ---------------------------------------------------------------------


def close_on(seed, day: date, *, rules: Rules = DEFAULT_RULES, answers: int = 30):
    survey_round = survey.open_round(
        f"Round of {day}",
        actor=seed.organizer,
        now=datetime(day.year, day.month, day.day, 12, tzinfo=seed.make.now.tzinfo)
        - timedelta(days=20),
    )
    workplace = seed.make.workplace(sector=Sector.SHELTER)
    job = seed.make.classification()
    seed.answer(
        survey_round,
        workplace,
        job,
        answers,
        relies_on_social_assistance=True,
        discrimination_lived_experience=False,
    )
    survey.close_round(
        survey_round,
        actor=seed.organizer,
        now=datetime(day.year, day.month, day.day, 12, tzinfo=seed.make.now.tzinfo),
        rules=rules,
    )
    return survey_round


def noisy_status(round_id, question):
    b = body(round_id, question_report(question), "union")
    (found,) = [d for d in b["noisy"] if d["question"] == question]
    return found.get("s", "released")


def question_report(question):
    return {
        "relies_on_social_assistance": "social_assistance",
        "discrimination_lived_experience": "discrimination",
    }[question]


def test_the_yearly_budget_holds_across_rounds_and_the_new_year(seed):
    first = close_on(seed, date(2026, 11, 2))
    second = close_on(seed, date(2027, 1, 15))
    third = close_on(seed, date(2027, 3, 1))
    spends = db.session.execute(
        sa.select(
            PrivacySpend.round_id, sa.func.sum(PrivacySpend.epsilon_thousandths)
        ).group_by(PrivacySpend.round_id)
    ).all()
    # Two questions at epsilon 1 a round: the first two rounds spend the year's 4,
    # the calendar year changing in between does not reset it.
    assert dict(spends) == {first.id: 2000, second.id: 2000}
    for question in ("relies_on_social_assistance", "discrimination_lived_experience"):
        assert noisy_status(first.id, question) == "released"
        assert noisy_status(third.id, question) == "budget_spent"
    # 365 days after the first release, its spend no longer counts.
    fourth = close_on(seed, date(2027, 11, 3))
    assert noisy_status(fourth.id, "relies_on_social_assistance") == "released"


def test_a_tighter_budget_releases_fewer_questions(seed):
    rules = Rules(epsilon_per_release=1.0, epsilon_per_year=1.5)
    first = close_on(seed, date(2026, 6, 1), rules=rules)
    statuses = [
        noisy_status(first.id, q)
        for q in ("relies_on_social_assistance", "discrimination_lived_experience")
    ]
    assert statuses == ["released", "budget_spent"]


def test_sensitive_answers_are_never_exact_anywhere(seed, make):
    survey_round = seed.round()
    workplace = make.workplace(sector=Sector.SHELTER)
    job = make.classification()
    seed.answer(survey_round, workplace, job, 23, relies_on_social_assistance=True)
    seed.answer(survey_round, workplace, job, 31, relies_on_social_assistance=False)
    bodies = seed.close(survey_round)
    for b in bodies:
        for d in b.get("distributions", ()):
            assert d["question"] not in (
                "relies_on_social_assistance",
                "discrimination_lived_experience",
            )
    released = noisy_status(survey_round.id, "relies_on_social_assistance")
    assert released == "released"
    figures = db.session.scalars(sa.select(PublishedFigure.figure)).all()
    assert not any("social_assistance" in figure for figure in figures)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyAnswer)) == 54


def test_rounds_closed_before_the_registry_are_counted_again_from_their_answers(
    seed, make
):
    shelter = make.workplace("Shelter E", sector=Sector.SHELTER)
    job = make.classification()
    first = seed.round()
    staff_answers(seed, first, shelter, job, yes=12, no=8)
    for offset in range(12):
        seed.answer(first, shelter, job, hourly_wage_cents=2000 + 37 * offset)
    seed.close(first)
    registered = sorted(
        db.session.execute(
            sa.select(
                PublishedFigure.figure, PublishedFigure.level, PublishedFigure.size
            )
        ).all()
    )
    # As if round one closed before published_figures existed.
    db.session.execute(sa.delete(PublishedFigure))
    second = seed.round()
    staff_answers(seed, second, shelter, job, yes=13, no=8)
    for offset in range(12):
        seed.answer(second, shelter, job, hourly_wage_cents=2000 + 37 * offset)
    seed.close(second)
    recounted = sorted(
        db.session.execute(
            sa.select(
                PublishedFigure.figure, PublishedFigure.level, PublishedFigure.size
            ).where(PublishedFigure.round_id == first.id)
        ).all()
    )
    assert recounted == registered
    d = distribution(
        body(second.id, "benefits", "sector", "shelter"), "health_benefits"
    )
    assert d["s"] == "too_close_to_earlier"


def test_a_median_does_not_tell_that_nearly_everyone_at_a_small_workplace_answered(
    seed, make
):
    """A median says at least 10 answered; beside 12 members, that nearly all
    did. It is published for everyone at a workplace of 15 members or more."""
    small = make.workplace("Twelve members", sector=Sector.DROP_IN)
    large = make.workplace("Twenty members", sector=Sector.DROP_IN)
    job = make.classification()
    for workplace, people in ((small, 12), (large, 20)):
        for _ in range(people):
            make.member(workplace)
    survey_round = seed.round()
    for workplace in (small, large):
        for offset in range(11):
            seed.answer(
                survey_round, workplace, job, hourly_wage_cents=2000 + 53 * offset
            )
    seed.close(survey_round)
    small_wages = body(survey_round.id, "wages", "workplace", str(small.id))
    large_wages = body(survey_round.id, "wages", "workplace", str(large.id))
    assert "median" not in small_wages["medians"][0]
    assert "median" in large_wages["medians"][0]
