"""Counting a round's answers by category, and the equations a reader could use
on the counts: the input of the small-count protection, which every count table of
a round goes through together.

The database counts each question's categories by workplace in one query; the
sums for each sector and the union are made here from those.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import LazyString

from union.adapters.meanwhile import Meanwhile
from union.db import db
from union.i18n import _l
from union.models import Sector, SurveyAnswer, Workplace
from union.rules import disclosure
from union.rules.disclosure import Equation, Rules
from union.services.reports.artifact import UNION_WIDE, Level, Place

NO_ANSWER = "no_answer"

#: Where answers are counted: union-wide and by sector, never per workplace. A
#: workplace's own counts would mostly be small, each table would repeat its
#: total, and the tables suppressing one another would leave little to read; its
#: wage and raise medians, and its funding, are published.
COUNT_LEVELS = (Level.UNION, Level.SECTOR)


@dataclass(frozen=True, slots=True)
class Answer:
    """One category of a question: its stored name, how a page words it, and the
    condition an answer meets to be in it."""

    name: str
    label: LazyString = field(compare=False)
    condition: Any = field(compare=False)


def yes_no(column: Any) -> tuple[Answer, ...]:
    return (
        Answer("yes", _l("Yes"), column.is_(True)),
        Answer("no", _l("No"), column.is_(False)),
    )


def some_days(column: Any) -> tuple[Answer, ...]:
    return (
        Answer("yes", _l("Yes"), column > 0),
        Answer("no", _l("No"), column <= 0),
    )


def one_of(
    column: Any, choices: Mapping[enum.StrEnum, LazyString]
) -> tuple[Answer, ...]:
    return tuple(
        Answer(choice.value, label, column == choice)
        for choice, label in choices.items()
    )


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    title: LazyString = field(compare=False)
    #: Every category but NO_ANSWER. The conditions exclude one another; an answer
    #: meeting none of them (the question left blank) is NO_ANSWER. The database
    #: counts with them.
    answers: tuple[Answer, ...] = field(compare=False)
    #: Dangerous to a member if known: never published as exact counts, only as
    #: noisy ones with differential privacy (see noisy.py).
    sensitive: bool = field(default=False, compare=False)

    @property
    def categories(self) -> tuple[str, ...]:
        return (*(answer.name for answer in self.answers), NO_ANSWER)

    def label(self, category: str) -> str:
        for answer in self.answers:
            if answer.name == category:
                return str(answer.label)
        return str(_l("Did not answer"))


def places(workplace_id: int, sector_of: dict[int, str]) -> tuple[Place, ...]:
    """The workplace, its sector and the union: every group an answer counts in."""
    return (
        Place(Level.WORKPLACE, str(workplace_id)),
        Place(Level.SECTOR, sector_of[workplace_id]),
        UNION_WIDE,
    )


def every_place(workplaces: Sequence[Workplace]) -> list[Place]:
    return [
        UNION_WIDE,
        *(Place(Level.SECTOR, sector.value) for sector in Sector),
        *(Place(Level.WORKPLACE, str(w.id)) for w in workplaces),
    ]


#: The groups each group is made of: the union of its sectors, a sector of its
#: workplaces. Workplaces have none.
Children = dict[Place, list[Place]]


def children_of(workplaces: Sequence[Workplace]) -> Children:
    children: Children = {UNION_WIDE: [Place(Level.SECTOR, s.value) for s in Sector]}
    for sector in Sector:
        children[Place(Level.SECTOR, sector.value)] = []
    for workplace in workplaces:
        children[Place(Level.SECTOR, workplace.sector.value)].append(
            Place(Level.WORKPLACE, str(workplace.id))
        )
    return children


class Tallies:
    """How many answered in each group, and how many picked each category of each
    question: counted by workplace in the database, summed here over each group
    an answer counts in (see `places`)."""

    def __init__(self, questions: Sequence[Question]) -> None:
        self.questions = questions
        self.by_group: dict[Place, list[int]] = {}
        self.by_workplace: dict[int, tuple[int, ...]] = {}
        # Where each question's counts start in a tally, after the number of answers.
        self._offsets: dict[str, int] = {}
        position = 1
        for question in questions:
            self._offsets[question.key] = position
            position += len(question.answers)

    def _statement(self, round_id: int) -> sa.Executable:
        picked = [
            sa.func.count().filter(answer.condition)
            for question in self.questions
            for answer in question.answers
        ]
        return (
            sa.select(SurveyAnswer.workplace_id, sa.func.count(), *picked)
            .where(SurveyAnswer.round_id == round_id)
            .group_by(SurveyAnswer.workplace_id)
        )

    def count(self, round_id: int) -> None:
        """One pass over the round's answers, counted by the database: a round's
        answers are never brought into Python to be tallied."""
        with self.counting(round_id):
            pass

    @contextmanager
    def counting(self, round_id: int) -> Iterator[None]:
        """Counts while the block runs (on PostgreSQL the server counts while this
        process works: the block must not use the database); the tallies are
        there after it."""
        with Meanwhile(db.session.connection(), self._statement(round_id)) as query:
            yield
        self.by_workplace = {row[0]: tuple(row[1:]) for row in query.rows}

    def sum_groups(self, sector_of: dict[int, str]) -> None:
        for workplace_id, counts in self.by_workplace.items():
            for place in places(workplace_id, sector_of):
                sums = self.by_group.get(place)
                self.by_group[place] = (
                    list(counts)
                    if sums is None
                    else [a + b for a, b in zip(sums, counts, strict=True)]
                )

    def sizes(self) -> dict[Place, int]:
        """How many answered in each group anyone answered in."""
        return {place: counts[0] for place, counts in self.by_group.items()}

    def of(self, question: Question, place: Place) -> dict[str, int]:
        """How many in a group picked each of a question's categories."""
        counts = self.by_group[place]
        start = self._offsets[question.key]
        picked = counts[start : start + len(question.answers)]
        tally = dict(zip(question.categories[:-1], picked, strict=True))
        tally[NO_ANSWER] = counts[0] - sum(picked)
        return tally


@dataclass(slots=True)
class CountSystem:
    """Every count the round publishes, keyed, with the equations a reader could use."""

    counts: dict[Any, int] = field(default_factory=dict)
    equations: list[Equation] = field(default_factory=list)
    forced: set[Any] = field(default_factory=set)
    #: Answer counts of groups too small to publish on their own.
    withheld: set[Any] = field(default_factory=set)
    #: Those groups.
    withheld_groups: set[Place] = field(default_factory=set)
    #: Question tables whose group is 1 to 9 people away from an earlier
    #: publication of the same question (registry.py).
    too_close: set[tuple[str, Place]] = field(default_factory=set)
    #: Places whose number of answers, beside their published number of members,
    #: would tell that nobody, or everyone but a few, answered.
    participation: set[Place] = field(default_factory=set)

    def add_sum(self, total: Any, parts: Iterable[Any]) -> None:
        self.equations.append(Equation(total, tuple(parts)))


def survey_counts(
    tallies: Tallies,
    places_in_order: Sequence[Place],
    made_of: Children,
    rules: Rules,
    *,
    members: Mapping[Place, int] | None = None,
    too_close: Callable[[Question, Place, int], bool] = lambda *_: False,
) -> CountSystem:
    """Every survey count of the round and what adds up to what.

    Groups nobody answered from and with no members are left out: their zeros
    say nothing and add nothing. Where the density report publishes a number of
    members, the number who answered is hidden (and kept from being worked out)
    when it is 0 or within min_count of all of them: beside the member count it
    would say that nobody, or everyone, answered. A question's table is withheld
    at a place where `too_close` says its group is too near an earlier
    publication of the same question."""
    sizes = tallies.sizes()
    answered = [place for place in places_in_order if sizes.get(place)]
    present = set(answered)
    system = CountSystem(withheld_groups=_groups_too_small(sizes, rules))
    _count_respondents(system, sizes, places_in_order, made_of, members or {}, rules)
    for question in tallies.questions:
        if question.sensitive:
            continue
        for place in answered:
            if place.level not in COUNT_LEVELS:
                continue
            children = [c for c in made_of.get(place, ()) if c in present]
            _count_question(system, tallies, question, place, rules)
            _add_child_sums(system, question, place, children)
            if too_close(question, place, sizes[place]):
                system.too_close.add((question.key, place))
                system.withheld.update(
                    (question.key, *place.plain, category)
                    for category in question.categories
                )
    return system


def _count_respondents(
    system: CountSystem,
    sizes: Mapping[Place, int],
    places_in_order: Sequence[Place],
    made_of: Children,
    members: Mapping[Place, int],
    rules: Rules,
) -> None:
    """How many answered at every place anyone answered from, and what adds up to
    what. A workplace or sector whose number of answers would tell, beside its
    published number of members, that nobody or nearly everybody answered has
    that number withheld (a sector: its answers too); so that the others at its
    level cannot be subtracted down to it, the smallest place shown beside it is
    withheld with it while the withheld ones add up to fewer than
    min_median_group answers."""
    answered = [place for place in places_in_order if sizes.get(place)]
    present = set(answered)
    for place in answered:
        key = ("respondents", *place.plain)
        system.counts[key] = sizes[place]
        children = [c for c in made_of.get(place, ()) if c in present]
        if children:
            system.add_sum(key, (("respondents", *c.plain) for c in children))
    for place in places_in_order:
        answers, people = sizes.get(place, 0), members.get(place, 0)
        if (
            place.level is not Level.UNION
            and people
            and (answers == 0 or people - answers < rules.min_count)
        ):
            system.participation.add(place)
    for children in made_of.values():
        risky = [c for c in children if c in system.participation]
        if not risky:
            continue
        hidden = set(risky)
        shown = sorted(
            (sizes[c], c) for c in children if c in present and c not in hidden
        )
        while sum(sizes.get(c, 0) for c in hidden) < rules.min_median_group and shown:
            hidden.add(shown.pop(0)[1])
        for place in hidden:
            if place.level is Level.SECTOR:
                system.withheld_groups.add(place)
            if place in present:
                system.withheld.add(("respondents", *place.plain))


def _count_question(
    system: CountSystem,
    tallies: Tallies,
    question: Question,
    place: Place,
    rules: Rules,
) -> None:
    tally = tallies.of(question, place)
    keys = tuple(
        (question.key, *place.plain, category) for category in question.categories
    )
    for key, category in zip(keys, question.categories, strict=True):
        system.counts[key] = tally[category]
    system.add_sum(("respondents", *place.plain), keys)
    if place in system.withheld_groups:
        system.withheld.update(keys)
    answered = [tally[c] for c in question.categories if c != NO_ANSWER]
    if disclosure.homogeneous(answered, rules):
        system.forced.update(key for key in keys if key[3] != NO_ANSWER)


def _add_child_sums(
    system: CountSystem, question: Question, place: Place, children: list[Place]
) -> None:
    if not children or any(child.level not in COUNT_LEVELS for child in children):
        return
    for category in question.categories:
        system.add_sum(
            (question.key, *place.plain, category),
            ((question.key, *child.plain, category) for child in children),
        )


def _groups_too_small(sizes: dict[Place, int], rules: Rules) -> set[Place]:
    """Groups whose answers are not shown on their own: under min_median_group
    people. So that the union minus the sectors shown is not itself such a group,
    the smallest shown sector joins them when they add up to 1 to 9 people."""
    sectors = {
        place.scope: size
        for place, size in sizes.items()
        if place.level is Level.SECTOR
    }
    small = {s for s, size in sectors.items() if size < rules.min_median_group}
    shown = sorted((size, s) for s, size in sectors.items() if s not in small)
    if 0 < sum(sectors[s] for s in small) < rules.min_median_group and shown:
        small.add(shown[0][1])
    withheld = {Place(Level.SECTOR, s) for s in small}
    if sizes.get(UNION_WIDE, 0) < rules.min_median_group:
        withheld.add(UNION_WIDE)
    return withheld
