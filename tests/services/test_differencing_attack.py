"""A differencing (tracker) attack: first against a deliberately naive reporter, to
show the attack works, then against the real catalogue, where it must fail."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.services import report_checks
from union.db import db
from union.models import Role, Sector, SurveyAnswer
from union.services import reports, survey
from union.services.reports import OutsideCatalogue

TARGET_WAGE = 3137  # not a multiple of 25: no rounded figure can ever equal it


@dataclass(frozen=True)
class Record:
    """What a naive system keeps: answers linked to people."""

    name: str
    workplace: str
    job: str
    wage_cents: int


def naive_mean_wage(records, keep, *, threshold=11):
    """A reporter with a free filter and a minimum group size: the kind of report
    builder many tools offer."""
    chosen = [r.wage_cents for r in records if keep(r)]
    if len(chosen) < threshold:
        raise ValueError("group too small")
    return sum(chosen) / len(chosen), len(chosen)


def peer_workers():
    others = [
        Record(f"Worker {i}", "Site A", "Peer worker", 2200 + 41 * i) for i in range(11)
    ]
    return [*others, Record("Target", "Site A", "Peer worker", TARGET_WAGE)]


def test_the_attack_recovers_one_wage_from_a_naive_reporter():
    records = peer_workers()
    everyone, twelve = naive_mean_wage(records, lambda r: r.job == "Peer worker")
    but_one, eleven = naive_mean_wage(
        records, lambda r: r.job == "Peer worker" and r.name != "Target"
    )
    assert (twelve, eleven) == (12, 11)  # both pass the size threshold
    recovered = round(everyone * twelve - but_one * eleven)
    assert recovered == TARGET_WAGE


@pytest.fixture
def two_rounds(make):
    """Round 1: the target and 11 co-workers answer; round 2: the target has left.
    A second site in the same sector has 11 peer workers, one fewer than the first."""
    organizer = make.user("organizer@example.org", roles=(Role.ORGANIZER,))
    site_a = make.workplace("Site A", sector=Sector.PEER_PROGRAM)
    site_b = make.workplace("Site B", sector=Sector.PEER_PROGRAM)
    job = make.classification("Peer worker")
    for site in (site_a, site_b):
        site.classifications.append(job)
    rounds = []
    for number, with_target in ((1, True), (2, False)):
        opened = make.now + timedelta(days=100 * number)
        survey_round = survey.open_round(f"Round {number}", actor=organizer, now=opened)
        wages = [
            r.wage_cents for r in peer_workers() if with_target or r.name != "Target"
        ]
        for wage in wages:
            db.session.add(
                SurveyAnswer(
                    round_id=survey_round.id,
                    workplace_id=site_a.id,
                    classification_id=job.id,
                    hourly_wage_cents=wage,
                )
            )
        for i in range(11):
            db.session.add(
                SurveyAnswer(
                    round_id=survey_round.id,
                    workplace_id=site_b.id,
                    classification_id=job.id,
                    hourly_wage_cents=2150 + 53 * i,
                )
            )
        db.session.flush()
        survey.close_round(
            survey_round, actor=organizer, now=opened + timedelta(days=30)
        )
        rounds.append(survey_round)
    return organizer, site_a, rounds


def test_a_filter_can_not_even_be_asked(two_rounds, make):
    organizer, site_a, rounds = two_rounds
    for report, level, scope in (
        ("wages", "workplace", f"{site_a.id}&exclude=Target"),
        ("mean_wage", "union", ""),
        ("wages", "members", "Target"),
    ):
        with pytest.raises(OutsideCatalogue):
            reports.pull(rounds[0], report, level, scope, actor=organizer, now=make.now)


def test_no_two_published_figures_differ_by_a_few_people(two_rounds):
    _organizer, _site_a, rounds = two_rounds
    published = []
    for survey_round in rounds:
        for figure in report_checks.published_figures(survey_round.id):
            members = report_checks.figure_members(survey_round.id, figure)
            published.append((survey_round.id, tuple(figure), members))
    assert published, "the fixture must publish something to attack"
    for (round_a, key_a, a), (round_b, key_b, b) in itertools.combinations(
        published, 2
    ):
        if key_a[0] != key_b[0]:
            continue  # a wage and a months-since-raise figure do not subtract
        if round_a == round_b:
            assert not 1 <= len(a ^ b) <= 9, (key_a, key_b)
        elif key_a[1:] == key_b[1:]:
            # Across rounds answers are not linked, so compare group sizes: the
            # least number of people who came or went.
            assert not 1 <= abs(len(a) - len(b)) <= 9, (key_a, key_b)


def test_the_targets_wage_appears_nowhere(two_rounds):
    _organizer, _site_a, rounds = two_rounds
    for survey_round in rounds:
        for body in report_checks.artifacts(survey_round.id):
            numbers = [
                value
                for _key, value in report_checks.walk(body)
                if isinstance(value, int)
            ]
            assert TARGET_WAGE not in numbers
