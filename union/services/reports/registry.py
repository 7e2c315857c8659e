"""Every figure the reports have published exactly, with the size of the group
behind it, so each new round is checked against all of them, not only the round
before (a median withheld in one round must not come back in the next over a
group one person away from the first).

A figure is a count table of one question, or the median of one answer column
for everyone or for one job. Two publications of the same figure clash when
their groups are related (the same place, or one inside the other: a workplace
in its sector, a sector in the union) and differ in size by 1 to
min_group_difference - 1 people: someone who knows who joined, left or answered
in between could subtract one from the other. A size difference is the smallest
number of people the two groups can differ by.

Two groups of one size can still differ by a few people: one joined and one
left. Answers are never linked to people, but receipts say who answered each
round, and employments where each of them worked then; so at the same place,
groups whose sizes are within reach are also compared by who answered there,
and a figure whose people changed by 1 to min_group_difference - 1 is withheld
too. A member who answered for a workplace other than their own is counted at
their own here; the size rule still holds for them.

Sizes are kept in published_figures and never shown.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from union.adapters.bulk import BulkWriter, table
from union.db import db
from union.models import (
    Employment,
    PublishedFigure,
    ReportArtifact,
    RoundStatus,
    SurveyAnswer,
    SurveyReceipt,
    SurveyRound,
    Workplace,
)
from union.services.reports.artifact import UNION_WIDE, Level, Place, read
from union.services.reports.counting import COUNT_LEVELS, places

#: (figure, level, scope)
Entry = tuple[str, str, str]
#: Who answered a round at each place, everyone (None) or in one job: member ids.
People = dict[tuple[Place, int | None], frozenset[int]]


def question_figure(key: str) -> str:
    return f"question:{key}"


def median_figure(number: int, job: int | None) -> str:
    return f"median:{number}" if job is None else f"median:{number}:{job}"


@dataclass(slots=True)
class Earlier:
    """The sizes earlier rounds published each figure over, by place."""

    #: figure -> (level, scope) -> sorted sizes
    by_figure: dict[str, dict[tuple[str, str], list[int]]] = field(default_factory=dict)
    reach: int = 10
    #: figure -> (level, scope) -> (round id, size) of each earlier publication
    rounds_of: dict[str, dict[tuple[str, str], list[tuple[int, int]]]] = field(
        default_factory=dict
    )
    #: Who answered the round being closed, by place.
    people_now: People = field(default_factory=dict)
    #: Who answered each earlier round, by place, read when first needed.
    people_then: dict[int, People] = field(default_factory=dict)
    every_sector_of: dict[int, str] = field(default_factory=dict)

    def related_sizes(
        self, figure: str, place: Place, sector_of: dict[int, str]
    ) -> list[int]:
        """Earlier sizes of `figure` at `place` and at the places it is in or
        that are in it: the union holds everything; a sector, its workplaces."""
        found = self.by_figure.get(figure)
        if not found:
            return []
        if place.level is Level.UNION:
            return [size for sizes in found.values() for size in sizes]
        if place.level is Level.SECTOR:
            return [
                size
                for (level, scope), sizes in found.items()
                if level == Level.UNION
                or (scope == place.scope and level == Level.SECTOR)
                or (
                    level == Level.WORKPLACE
                    and sector_of.get(int(scope)) == place.scope
                )
                for size in sizes
            ]
        sector = sector_of.get(int(place.scope), "")
        return [
            *found.get((Level.UNION.value, ""), ()),
            *found.get((Level.SECTOR.value, sector), ()),
            *found.get(place.plain, ()),
        ]

    def clashes(
        self, figure: str, place: Place, size: int, sector_of: dict[int, str]
    ) -> bool:
        """Whether a group of `size` for `figure` at `place` is 1 to reach - 1
        people away from an earlier published group it is related to."""
        sizes = sorted(self.related_sizes(figure, place, sector_of))
        return _near(sizes, size, self.reach) or self.people_changed(
            figure, place, size
        )

    def people_changed(
        self, figure: str, place: Place, size: int, job: int | None = None
    ) -> bool:
        """Whether an earlier publication of `figure` at `place`, over a group of
        nearly the same size, was answered by people 1 to reach - 1 of whom
        are not the same as now (one joined and one left, say). `job` narrows
        the people to one job's, for a median by job."""
        now = self.people_now.get((place, job), frozenset())
        for round_id, earlier_size in self.rounds_of.get(figure, {}).get(
            place.plain, ()
        ):
            if abs(earlier_size - size) >= self.reach:
                continue
            then = self._people_of(round_id).get((place, job), frozenset())
            if 0 < len(now ^ then) < self.reach:
                return True
        return False

    def _people_of(self, round_id: int) -> People:
        if round_id not in self.people_then:
            self.people_then[round_id] = respondents_by_place(
                round_id, self.every_sector_of
            )
        return self.people_then[round_id]


def respondents_by_place(round_id: int, sector_of: dict[int, str]) -> People:
    """The members who answered a round, at the workplaces they worked at while
    it was open, their sectors and the union, everyone and by job."""
    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None:
        return {}
    ended = survey_round.closed_on or survey_round.opened_on
    rows = db.session.execute(
        sa.select(
            SurveyReceipt.member_id,
            Employment.workplace_id,
            Employment.classification_id,
        )
        .outerjoin(
            Employment,
            sa.and_(
                Employment.member_id == SurveyReceipt.member_id,
                sa.or_(Employment.started_on.is_(None), Employment.started_on <= ended),
                sa.or_(
                    Employment.ended_on.is_(None),
                    Employment.ended_on >= survey_round.opened_on,
                ),
            ),
        )
        .where(SurveyReceipt.round_id == round_id)
    )
    people: dict[tuple[Place, int | None], set[int]] = defaultdict(set)
    for member_id, workplace_id, job in rows:
        people[(UNION_WIDE, None)].add(member_id)
        if workplace_id in sector_of:
            for place in places(workplace_id, sector_of):
                people[(place, None)].add(member_id)
                if job is not None:
                    people[(place, job)].add(member_id)
    return {key: frozenset(members) for key, members in people.items()}


def _near(sorted_sizes: Sequence[int], size: int, reach: int) -> bool:
    for low, high in ((size - reach + 1, size - 1), (size + 1, size + reach - 1)):
        at = bisect_left(sorted_sizes, low)
        if at < len(sorted_sizes) and sorted_sizes[at] <= high:
            return True
    return False


def every_sector_of() -> dict[int, str]:
    """Every workplace's sector, those of earlier rounds included."""
    return {
        workplace_id: sector.value
        for workplace_id, sector in db.session.execute(
            sa.select(Workplace.id, Workplace.sector)
        )
    }


def earlier_rounds(survey_round: SurveyRound) -> list[SurveyRound]:
    """Rounds closed before this one (on an earlier day, or the same day first)."""
    closed_on = survey_round.closed_on
    return list(
        db.session.scalars(
            sa.select(SurveyRound).where(
                SurveyRound.status == RoundStatus.CLOSED,
                SurveyRound.id != survey_round.id,
                sa.or_(
                    SurveyRound.closed_on < closed_on,
                    sa.and_(
                        SurveyRound.closed_on == closed_on,
                        SurveyRound.id < survey_round.id,
                    ),
                ),
            )
        )
    )


def load(survey_round: SurveyRound, *, reach: int) -> Earlier:
    """Every size published before this round, registering rounds closed before
    the registry existed first."""
    earlier = earlier_rounds(survey_round)
    if not earlier:
        return Earlier(reach=reach)
    sector_of = every_sector_of()
    registered = set(
        db.session.scalars(
            sa.select(PublishedFigure.round_id)
            .where(PublishedFigure.round_id.in_([r.id for r in earlier]))
            .distinct()
        )
    )
    for missing in (r for r in earlier if r.id not in registered):
        record(missing.id, _recounted(missing))
    rows = db.session.execute(
        sa.select(
            PublishedFigure.figure,
            PublishedFigure.level,
            PublishedFigure.scope,
            PublishedFigure.size,
            PublishedFigure.round_id,
        ).where(PublishedFigure.round_id.in_([r.id for r in earlier]))
    )
    by_figure: dict[str, dict[tuple[str, str], list[int]]] = defaultdict(dict)
    rounds_of: dict[str, dict[tuple[str, str], list[tuple[int, int]]]] = defaultdict(
        dict
    )
    for figure, level, scope, size, round_id in rows:
        by_figure[figure].setdefault((level, scope), []).append(size)
        rounds_of[figure].setdefault((level, scope), []).append((round_id, size))
    return Earlier(
        by_figure=dict(by_figure),
        reach=reach,
        rounds_of=dict(rounds_of),
        people_now=respondents_by_place(survey_round.id, sector_of),
        every_sector_of=sector_of,
    )


def record(round_id: int, published: Iterable[tuple[str, Place, int]]) -> None:
    """Keeps what a round published exactly; thousands of rows at a large round's
    close, so in bulk (COPY on PostgreSQL), in the session's transaction."""
    BulkWriter(db.session.connection()).write(
        table(PublishedFigure),
        ("round_id", "figure", "level", "scope", "size"),
        (
            (round_id, figure, place.level.value, place.scope, size)
            for figure, place, size in published
        ),
        stored_values=True,
    )


def _recounted(survey_round: SurveyRound) -> list[tuple[str, Place, int]]:
    """What a round closed before the registry existed published, read from its
    artifacts, with its group sizes counted again from its answers."""
    from union.services.reports import catalogue

    sector_of = every_sector_of()
    columns = catalogue.median_columns()
    counted = db.session.execute(
        sa.select(
            SurveyAnswer.workplace_id,
            SurveyAnswer.classification_id,
            sa.func.count(),
            *(sa.func.count(spec.column) for spec in columns.values()),
        )
        .where(SurveyAnswer.round_id == survey_round.id)
        .group_by(SurveyAnswer.workplace_id, SurveyAnswer.classification_id)
    ).all()
    answers: dict[Place, int] = defaultdict(int)
    values: dict[Entry, int] = defaultdict(int)
    for workplace_id, job, count, *with_value in counted:
        if workplace_id not in sector_of:
            continue
        for place in places(workplace_id, sector_of):
            answers[place] += count
            for number, found in zip(columns, with_value, strict=True):
                values[(median_figure(number, None), *place.plain)] += found
                values[(median_figure(number, job), *place.plain)] += found
    published: list[tuple[str, Place, int]] = []
    for text in db.session.scalars(
        sa.select(ReportArtifact.body).where(ReportArtifact.round_id == survey_round.id)
    ):
        body = read(text)
        place = Place(Level(body["level"]), body["scope"])
        if (
            place.level in COUNT_LEVELS
            and answers.get(place)
            and not body.get("too_few_to_show")
        ):
            for distribution in body.get("distributions", ()):
                if any("n" in row for row in distribution["rows"]):
                    figure = question_figure(distribution["question"])
                    published.append((figure, place, answers.get(place, 0)))
        for key in body["published_figures"]:
            number, level, scope, job = key
            figure = median_figure(number, job)
            size = values.get((figure, level, scope), 0)
            published.append((figure, Place(Level(level), scope), size))
    return _unique(published)


def _unique(
    published: Collection[tuple[str, Place, int]],
) -> list[tuple[str, Place, int]]:
    seen: dict[tuple[str, Place], int] = {}
    for figure, place, size in published:
        seen.setdefault((figure, place), size)
    return [(figure, place, size) for (figure, place), size in seen.items()]
