"""Noisy releases of the sensitive answers (relying on social assistance,
discrimination for lived experience): never an exact count, at any level.

Each is released once, when its round closes, with differential privacy: every
count gets discrete Laplace noise from OpenDP (adapters/noise.py), and the
noisy figures are frozen in the artifact, so pulling a report again cannot
average the noise away. Epsilon bounds what a release can tell about one
person's answer, even to someone who knows how everyone else answered: no
outcome is more than e^epsilon times likelier one way than the other.

Where the noise goes. The round's respondents are split into disjoint groups:
each sector with at least `min_noisy_sector` answers, and everyone else pooled.
Each group's counts get noise once. Everyone is in exactly one group, so a
question costs each member epsilon once per round (parallel composition), and
the union-wide figures are the groups' noisy counts added up: adding costs no
privacy, and the figures add up by construction.

The arithmetic, at the default epsilon of 1 (noise scale 2): one noisy count is
within 5 of the truth 9 times out of 10; a union-wide count added from 3
groups, within 8. A sector of 100 answers therefore reads, say, "about 30, give
or take 5", a share known to within 5 points; at 50 answers the same noise is
10 points, which would say little, so smaller sectors are only part of the
union-wide figure. Negative noisy counts are shown as 0 (which changes nothing
about the guarantee: it is done to the released numbers).

The budget. Each member counts as being in every release, since answers cannot
be traced to members. A round spends epsilon per released question; over any
365 days the spends may not pass `epsilon_per_year` (4 by default: both
questions in two rounds a year). A release that would pass it is not made, and
its report says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from union.adapters import noise
from union.db import db
from union.models import PrivacySpend, SurveyRound
from union.rules.disclosure import Rules
from union.services.reports.artifact import (
    UNION_WIDE,
    CellStatus,
    Level,
    NoisyDistribution,
    Place,
)
from union.services.reports.counting import Question, Tallies

#: The days the yearly cap looks back over, the release's own day included.
YEAR = timedelta(days=365)


def thousandths(epsilon: float) -> int:
    return round(epsilon * 1000)


def spent_before(closed_on: date, *, excluding_round: int | None = None) -> int:
    """Epsilon thousandths spent by releases in the 365 days up to `closed_on`."""
    statement = sa.select(
        sa.func.coalesce(sa.func.sum(PrivacySpend.epsilon_thousandths), 0)
    ).where(
        PrivacySpend.released_on > closed_on - YEAR,
        PrivacySpend.released_on <= closed_on,
    )
    if excluding_round is not None:
        statement = statement.where(PrivacySpend.round_id != excluding_round)
    return int(db.session.scalar(statement) or 0)


def renews_on(closed_on: date) -> date | None:
    """When the oldest spend within the year stops counting."""
    oldest = db.session.scalar(
        sa.select(sa.func.min(PrivacySpend.released_on)).where(
            PrivacySpend.released_on > closed_on - YEAR,
            PrivacySpend.released_on <= closed_on,
        )
    )
    return oldest + YEAR if oldest is not None else None


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """What the noisy releases have spent over the 365 days up to a day."""

    spent_thousandths: int
    cap_thousandths: int
    renews_on: date | None
    #: e^epsilon: how much likelier one release, and a year of them, can make any
    #: answer one way than the other.
    release_factor: float
    year_factor: float

    @property
    def spent(self) -> float:
        return self.spent_thousandths / 1000

    @property
    def cap(self) -> float:
        return self.cap_thousandths / 1000


def budget_status(today: date, rules: Rules) -> BudgetStatus:
    return BudgetStatus(
        spent_thousandths=spent_before(today),
        cap_thousandths=thousandths(rules.epsilon_per_year),
        renews_on=renews_on(today),
        release_factor=math.exp(rules.epsilon_per_release),
        year_factor=math.exp(rules.epsilon_per_year),
    )


@dataclass(slots=True)
class Releases:
    """The round's noisy figures, by question and place."""

    epsilon: float
    #: Noisy counts per category (in the question's order), at the union and at
    #: each sector large enough for a release of its own.
    counts: dict[str, dict[Place, list[int]]] = field(default_factory=dict)
    #: How far each place's counts may be from the truth (9 times out of 10).
    spread: dict[str, dict[Place, int]] = field(default_factory=dict)
    #: Questions not released this round because the yearly budget is spent.
    over_budget: set[str] = field(default_factory=set)
    renews_on: date | None = None

    def distribution(self, question: Question, place: Place) -> NoisyDistribution:
        if question.key in self.over_budget:
            return {"question": question.key, "s": CellStatus.BUDGET_SPENT}
        found = self.counts.get(question.key, {}).get(place)
        if found is None:
            return {"question": question.key, "s": CellStatus.COUNTED_UNION_WIDE}
        give_or_take = self.spread[question.key][place]
        return {
            "question": question.key,
            "epsilon_thousandths": thousandths(self.epsilon),
            "rows": [
                {"category": category, "about": count, "give_or_take": give_or_take}
                for category, count in zip(question.categories, found, strict=True)
            ],
        }


def release(
    survey_round: SurveyRound,
    questions: list[Question],
    tallies: Tallies,
    *,
    closed_on: date,
    rules: Rules,
) -> Releases:
    """Draws the round's noisy figures for every sensitive question the budget
    allows, and records what they spend (in the caller's transaction)."""
    epsilon = rules.epsilon_per_release
    releases = Releases(epsilon=epsilon)
    cap = thousandths(rules.epsilon_per_year)
    spent = spent_before(closed_on, excluding_round=survey_round.id)
    if UNION_WIDE not in tallies.by_group:
        # Nobody answered: the zeros are public (the round says so), nothing to hide.
        for question in questions:
            releases.counts[question.key] = {UNION_WIDE: [0] * len(question.categories)}
            releases.spread[question.key] = {UNION_WIDE: 0}
        return releases
    groups = _groups(tallies, rules)
    for question in questions:
        if spent + thousandths(epsilon) > cap:
            releases.over_budget.add(question.key)
            continue
        spent += thousandths(epsilon)
        db.session.add(
            PrivacySpend(
                round_id=survey_round.id,
                question=question.key,
                released_on=closed_on,
                epsilon_thousandths=thousandths(epsilon),
            )
        )
        releases.counts[question.key], releases.spread[question.key] = _noisy(
            question, tallies, groups, epsilon
        )
    if releases.over_budget:
        releases.renews_on = renews_on(closed_on)
    db.session.flush()
    return releases


def _groups(tallies: Tallies, rules: Rules) -> list[Place | None]:
    """The sectors with a release of their own, then None for everyone else."""
    sizes = tallies.sizes()
    large = sorted(
        place
        for place, size in sizes.items()
        if place.level is Level.SECTOR and size >= rules.min_noisy_sector
    )
    return [*large, None]


def _noisy(
    question: Question,
    tallies: Tallies,
    groups: list[Place | None],
    epsilon: float,
) -> tuple[dict[Place, list[int]], dict[Place, int]]:
    union_true = (
        tallies.of(question, UNION_WIDE) if UNION_WIDE in tallies.by_group else None
    )
    counts: dict[Place, list[int]] = {}
    union_noisy = [0] * len(question.categories)
    for group in groups:
        if group is None:
            truth = _everyone_else(question, tallies, union_true, counts_of=groups)
        else:
            tally = tallies.of(question, group)
            truth = [tally[category] for category in question.categories]
        drawn = [max(0, value) for value in noise.noisy_counts(truth, epsilon)]
        if group is not None:
            counts[group] = drawn
        union_noisy = [a + b for a, b in zip(union_noisy, drawn, strict=True)]
    counts[UNION_WIDE] = union_noisy
    spread = {
        place: noise.give_or_take(epsilon) for place in counts if place != UNION_WIDE
    }
    spread[UNION_WIDE] = noise.give_or_take(epsilon, cells=len(groups))
    return counts, spread


def _everyone_else(
    question: Question,
    tallies: Tallies,
    union_true: dict[str, int] | None,
    *,
    counts_of: list[Place | None],
) -> list[int]:
    """True counts of the answers outside the sectors released on their own."""
    if union_true is None:
        return [0] * len(question.categories)
    rest = dict(union_true)
    for group in counts_of:
        if group is not None:
            for category, count in tallies.of(question, group).items():
                rest[category] -= count
    return [rest[category] for category in question.categories]
