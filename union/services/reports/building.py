"""The report catalogue: every report for every level, computed once when a round
closes and stored as immutable artifacts.

This is the only code that reads survey answers. The database counts them by
workplace and category in one query, and hands over the wages and months since a
raise of each (workplace, job) cell in another (sorted arrays on PostgreSQL, four
numbers an answer on SQLite). Then the disclosure rules (union.rules.disclosure) apply
to everything it publishes:

- counts of 1 to 4 become "fewer than 5", and more cells are hidden wherever a
  total, a sector or the union as a whole would let someone subtract their way to
  a hidden one (all count tables of a round are protected as one system);
- a distribution where one answer holds 90% or more is not shown at all;
- wages and months since a raise are published only as medians (groups of 10 or
  more) and quartiles (20 or more), rounded, never as a mean, minimum, maximum or
  sum; group sizes next to them are bands, not counts;
- no two published medians cover groups that differ by 1 to 9 people, within the
  round (across levels) or against the round before.
"""

from __future__ import annotations

import enum
import gc
import hashlib
import json
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from union import clock
from union.adapters.bulk import BulkWriter, table
from union.db import db
from union.i18n import _
from union.models import (
    EmploymentType,
    FundingSource,
    Grievance,
    GrievanceCategory,
    JobClassification,
    MemberStatus,
    ReportArtifact,
    RoundStatus,
    Sector,
    SurveyAnswer,
    SurveyRound,
    Workplace,
    WorkplaceStatus,
    YesNoUnsure,
    workplace_classifications,
)
from union.rules import disclosure
from union.rules.disclosure import Equation, Figure, Rules, Status
from union.services.workplaces import density, member_counts, precarious_until

CATALOGUE_VERSION = 1

UNION, SECTOR, WORKPLACE = "union", "sector", "workplace"
LEVELS = (UNION, SECTOR, WORKPLACE)

#: Each report and the levels it is published at. Grievance and density numbers
#: come from the union's own records, not the survey; grievances are published
#: union-wide only: per sector or workplace, their small counts could point at the
#: people who filed, and would suppress one another across three dimensions.
REPORTS: dict[str, tuple[str, ...]] = {
    "respondents": LEVELS,
    "wages": LEVELS,
    "benefits": (UNION, SECTOR),
    "raises": LEVELS,
    "funding": LEVELS,
    "social_assistance": (UNION, SECTOR),
    "discrimination": (UNION, SECTOR),
    "grievances": (UNION,),
    "density": (UNION, SECTOR),
}

NO_ANSWER = "no_answer"


def _yes_no(column: Any) -> tuple[tuple[str, Any], ...]:
    return (("yes", column.is_(True)), ("no", column.is_(False)))


def _some_days(column: Any) -> tuple[tuple[str, Any], ...]:
    return (("yes", column > 0), ("no", column <= 0))


def _choices(column: Any, choices: type[enum.StrEnum]) -> tuple[tuple[str, Any], ...]:
    return tuple((choice.value, column == choice) for choice in choices)


def _raise_bands() -> tuple[tuple[str, Any], ...]:
    months = SurveyAnswer.months_since_raise
    never = SurveyAnswer.never_had_raise
    had_one = sa.or_(never.is_(None), never.is_(False))
    return (
        ("under_12", sa.and_(had_one, months < 12)),
        ("12_to_23", sa.and_(had_one, months >= 12, months < 24)),
        ("24_or_more", sa.and_(had_one, months >= 24)),
        ("never", never.is_(True)),
    )


#: The answer columns medians are published for, under the numbers the published
#: figures of every stored median artifact carry (once their positions in a tuple
#: of all the answer columns): never renumber.
_WAGE, _MONTHS = 3, 9
_MEDIAN_COLUMNS = {
    _WAGE: SurveyAnswer.hourly_wage_cents,
    _MONTHS: SurveyAnswer.months_since_raise,
}


@dataclass(frozen=True, slots=True)
class Question:
    report: str
    key: str
    #: Each category but NO_ANSWER, with the condition an answer meets to be in
    #: it. The conditions exclude one another; an answer meeting none of them (the
    #: question left blank) is NO_ANSWER. The database counts with them.
    answered: tuple[tuple[str, Any], ...] = field(compare=False)

    @property
    def categories(self) -> tuple[str, ...]:
        return (*(name for name, _condition in self.answered), NO_ANSWER)


QUESTIONS: tuple[Question, ...] = (
    Question(
        "respondents",
        "employment_type",
        _choices(SurveyAnswer.employment_type, EmploymentType),
    ),
    Question("benefits", "health_benefits", _yes_no(SurveyAnswer.health_benefits)),
    Question("benefits", "dental_benefits", _yes_no(SurveyAnswer.dental_benefits)),
    Question("benefits", "paid_sick_days", _some_days(SurveyAnswer.paid_sick_days)),
    Question("benefits", "paid_vacation", _some_days(SurveyAnswer.vacation_days)),
    Question("raises", "last_raise", _raise_bands()),
    Question(
        "funding", "grant_funded", _choices(SurveyAnswer.grant_funded, YesNoUnsure)
    ),
    Question(
        "social_assistance",
        "relies_on_social_assistance",
        _yes_no(SurveyAnswer.relies_on_social_assistance),
    ),
    Question(
        "discrimination",
        "discrimination_lived_experience",
        _yes_no(SurveyAnswer.discrimination_lived_experience),
    ),
)

GRIEVANCE_STATES = ("open", "won", "partly_won", "lost", "withdrawn")


def group_band(size: int) -> str:
    """Group sizes next to medians are bands: exact sizes would add up to counts."""
    if size < 20:
        return "10-19"
    if size < 50:
        return "20-49"
    if size < 100:
        return "50-99"
    return "100+"


# The round's data ---------------------------------------------------------------

#: How many answered in each (level, scope) where anyone did.
Sizes = dict[tuple[str, str], int]


def _scopes(workplaces: Sequence[Workplace]) -> list[tuple[str, str]]:
    scopes = [(UNION, "")]
    scopes += [(SECTOR, sector.value) for sector in Sector]
    scopes += [(WORKPLACE, str(w.id)) for w in workplaces]
    return scopes


def _places(
    workplace_id: int, sector_of: dict[int, str]
) -> tuple[tuple[str, str], ...]:
    """The workplace, its sector and the union: every group an answer counts in."""
    return (
        (WORKPLACE, str(workplace_id)),
        (SECTOR, sector_of[workplace_id]),
        (UNION, ""),
    )


#: Per workplace anyone answered from: its number of answers, then how many picked
#: each category of each question but NO_ANSWER, in the order of QUESTIONS.
WorkplaceTallies = dict[int, tuple[int, ...]]
#: The same, summed over each group an answer counts in (see _places).
GroupTallies = dict[tuple[str, str], list[int]]


def _workplace_tallies(round_id: int) -> WorkplaceTallies:
    """One pass over the round's answers, counted by the database: a round's
    answers are never brought into Python to be tallied."""
    picked = [
        sa.func.count(sa.case((condition, 1)))
        for question in QUESTIONS
        for _name, condition in question.answered
    ]
    statement = (
        sa.select(SurveyAnswer.workplace_id, sa.func.count(), *picked)
        .where(SurveyAnswer.round_id == round_id)
        .group_by(SurveyAnswer.workplace_id)
    )
    return {
        row[0]: tuple(row[1:]) for row in db.session.connection().execute(statement)
    }


def _group_tallies(
    by_workplace: WorkplaceTallies, sector_of: dict[int, str]
) -> GroupTallies:
    groups: GroupTallies = {}
    for workplace_id, counts in by_workplace.items():
        for place in _places(workplace_id, sector_of):
            sums = groups.get(place)
            groups[place] = (
                list(counts)
                if sums is None
                else [a + b for a, b in zip(sums, counts, strict=True)]
            )
    return groups


def _question_offsets() -> dict[str, int]:
    offsets, position = {}, 1
    for question in QUESTIONS:
        offsets[question.key] = position
        position += len(question.answered)
    return offsets


#: Where each question's counts start in a tally (after the number of answers).
_OFFSETS = _question_offsets()


def _tally(question: Question, counts: Sequence[int]) -> dict[str, int]:
    """How many in a group picked each of a question's categories."""
    start = _OFFSETS[question.key]
    picked = counts[start : start + len(question.answered)]
    tally = dict(zip(question.categories[:-1], picked, strict=True))
    tally[NO_ANSWER] = counts[0] - sum(picked)
    return tally


def _cell(value: int, status: Status) -> dict[str, Any]:
    if status is Status.SHOWN:
        return {"n": value}
    return {"s": status.value}


#: The groups each group is made of: the union of its sectors, a sector of its
#: workplaces. Workplaces have none.
Children = dict[tuple[str, str], list[tuple[str, str]]]


def _children(workplaces: Sequence[Workplace]) -> Children:
    children: Children = {(UNION, ""): [(SECTOR, s.value) for s in Sector]}
    for sector in Sector:
        children[(SECTOR, sector.value)] = []
    for workplace in workplaces:
        children[(SECTOR, workplace.sector.value)].append(
            (WORKPLACE, str(workplace.id))
        )
    return children


@dataclass(slots=True)
class CountSystem:
    """Every count the round publishes, keyed, with the equations a reader could use."""

    counts: dict[Any, int] = field(default_factory=dict)
    equations: list[Equation] = field(default_factory=list)
    forced: set[Any] = field(default_factory=set)
    #: Answer counts of groups too small to publish on their own.
    withheld: set[Any] = field(default_factory=set)
    #: Those groups, as (level, scope).
    withheld_groups: set[tuple[str, str]] = field(default_factory=set)


def question_levels(question: Question) -> tuple[str, ...]:
    """Where a question's answers are counted: union-wide and by sector, never per
    workplace. A workplace's own answer counts would mostly be small, each table
    would repeat its total, and the tables suppressing one another would leave
    little to read; its wage and raise medians, and its funding, are published."""
    del question
    return (UNION, SECTOR)


def _survey_counts(
    tallies: GroupTallies,
    sizes: Sizes,
    scopes: Sequence[tuple[str, str]],
    made_of: Children,
    rules: Rules,
) -> CountSystem:
    """Every survey count of the round and what adds up to what. Groups nobody
    from answered are left out: their zeros are shown as such and add nothing."""
    system = CountSystem()
    answered_scopes = [s for s in scopes if sizes.get(s)]
    present = set(answered_scopes)

    def children_of(level: str, scope: str) -> list[tuple[str, str]]:
        return [c for c in made_of.get((level, scope), ()) if c in present]

    for level, scope in answered_scopes:
        system.counts[("respondents", level, scope)] = sizes[(level, scope)]
        children = children_of(level, scope)
        if children:
            system.equations.append(
                Equation(
                    ("respondents", level, scope),
                    tuple(("respondents", *child) for child in children),
                )
            )
    system.withheld_groups = _groups_too_small(sizes, rules)
    for question in QUESTIONS:
        levels = question_levels(question)
        for level, scope in answered_scopes:
            if level not in levels:
                continue
            tally = _tally(question, tallies[(level, scope)])
            keys = tuple((question.key, level, scope, c) for c in question.categories)
            for key, category in zip(keys, question.categories, strict=True):
                system.counts[key] = tally[category]
            system.equations.append(Equation(("respondents", level, scope), keys))
            if (level, scope) in system.withheld_groups:
                system.withheld.update(keys)
            answered = [tally[c] for c in question.categories if c != NO_ANSWER]
            if disclosure.homogeneous(answered, rules):
                system.forced.update(k for k in keys if k[3] != NO_ANSWER)
            children = children_of(level, scope)
            if children and all(child[0] in levels for child in children):
                for category in question.categories:
                    system.equations.append(
                        Equation(
                            (question.key, level, scope, category),
                            tuple(
                                (question.key, *child, category) for child in children
                            ),
                        )
                    )
    return system


def _groups_too_small(sizes: Sizes, rules: Rules) -> set[tuple[str, str]]:
    """Groups whose answers are not shown on their own: under min_median_group
    people. So that the union minus the sectors shown is not itself such a group,
    the smallest shown sector joins them when they add up to 1 to 9 people."""
    sectors = {scope: size for (level, scope), size in sizes.items() if level == SECTOR}
    small = {s for s, size in sectors.items() if size < rules.min_median_group}
    shown = sorted((size, s) for s, size in sectors.items() if s not in small)
    if 0 < sum(sectors[s] for s in small) < rules.min_median_group and shown:
        small.add(shown[0][1])
    withheld = {(SECTOR, s) for s in small}
    if sizes.get((UNION, ""), 0) < rules.min_median_group:
        withheld.add((UNION, ""))
    return withheld


# Medians ----------------------------------------------------------------------

PRIORITY = {WORKPLACE: 0, SECTOR: 1, UNION: 2}

#: The answers of one column split by (workplace, job), each part sorted: every
#: group a median is published for is a union of these cells.
Cells = dict[tuple[int, int], list[int]]


def _median_cells(round_id: int) -> dict[int, Cells]:
    """The wages and the months since a raise (in hundredths, so they round to a
    quarter month as wages round to a quarter dollar), each split into cells."""
    if db.session.get_bind().dialect.name == "postgresql":
        return _median_cells_sorted_by_database(round_id)
    statement = sa.select(
        SurveyAnswer.workplace_id,
        SurveyAnswer.classification_id,
        SurveyAnswer.hourly_wage_cents,
        SurveyAnswer.months_since_raise,
    ).where(SurveyAnswer.round_id == round_id)
    wages: Cells = defaultdict(list)
    months: Cells = defaultdict(list)
    for workplace_id, classification_id, wage, month in _plain_rows(statement):
        if wage is not None:
            wages[(workplace_id, classification_id)].append(wage)
        if month is not None:
            months[(workplace_id, classification_id)].append(month * 100)
    for cells in (wages, months):
        for values in cells.values():
            values.sort()
    return {_WAGE: dict(sorted(wages.items())), _MONTHS: dict(sorted(months.items()))}


def _median_cells_sorted_by_database(round_id: int) -> dict[int, Cells]:
    """PostgreSQL hands each cell's values over as one sorted array."""
    wage = SurveyAnswer.hourly_wage_cents
    months = SurveyAnswer.months_since_raise * 100
    statement = (
        sa.select(
            SurveyAnswer.workplace_id,
            SurveyAnswer.classification_id,
            sa.func.array_agg(postgresql.aggregate_order_by(wage, wage)).filter(
                wage.is_not(None)
            ),
            sa.func.array_agg(postgresql.aggregate_order_by(months, months)).filter(
                months.is_not(None)
            ),
        )
        .where(SurveyAnswer.round_id == round_id)
        .group_by(SurveyAnswer.workplace_id, SurveyAnswer.classification_id)
        .order_by(SurveyAnswer.workplace_id, SurveyAnswer.classification_id)
    )
    found: dict[int, Cells] = {_WAGE: {}, _MONTHS: {}}
    for workplace_id, classification_id, wages, months_found in _plain_rows(statement):
        if wages:
            found[_WAGE][(workplace_id, classification_id)] = wages
        if months_found:
            found[_MONTHS][(workplace_id, classification_id)] = months_found
    return found


def _plain_rows(statement: sa.Executable) -> Sequence[Any]:
    """Rows as the driver gives them (integers and lists of them): SQLAlchemy's
    row objects would cost more than the query at 200,000 answers."""
    result = db.session.connection().execute(statement)
    rows = result.cursor.fetchall()
    result.close()
    return rows


def _median_candidates(
    cells: Cells,
    sector_of: dict[int, str],
    column: int,
    *,
    by_classification: bool,
    rules: Rules,
) -> dict[Any, list[tuple[int, int]]]:
    """Every group big enough for a median of `column`, as the cells it is made of."""
    groups: dict[Any, list[tuple[int, int]]] = defaultdict(list)
    sizes: dict[Any, int] = defaultdict(int)
    for cell, values in cells.items():
        workplace_id, classification_id = cell
        for level, scope in _places(workplace_id, sector_of):
            keys: list[tuple[int, str, str, int | None]] = [
                (column, level, scope, None)
            ]
            if by_classification:
                keys.append((column, level, scope, classification_id))
            for key in keys:
                groups[key].append(cell)
                sizes[key] += len(values)
    return {
        key: members
        for key, members in groups.items()
        if sizes[key] >= rules.min_median_group
    }


def _mostly_one_figure(ordered: Sequence[int], rules: Rules) -> bool:
    """Whether nearly everyone's value rounds to the same figure: the median would
    then be each person's own. The values are sorted, so each figure is one run."""
    step = rules.rounding_cents
    runs = []
    start = 0
    while start < len(ordered):
        figure = (ordered[start] + step // 2) // step
        end = bisect_left(ordered, (figure + 1) * step - step // 2, start)
        runs.append(end - start)
        start = end
    return disclosure.homogeneous(runs, rules)


#: The reports whose artifacts list the medians they publish.
MEDIAN_REPORTS = ("wages", "raises")


def _previous_sizes(survey_round: SurveyRound) -> dict[Any, int]:
    """Group sizes of the medians the round before published, recomputed from its
    answers and its stored artifacts (sizes are never stored, only bands), keyed
    like the figures: (column, level, scope, classification)."""
    previous = db.session.scalar(
        sa.select(SurveyRound)
        .where(
            SurveyRound.status == RoundStatus.CLOSED,
            SurveyRound.id != survey_round.id,
            SurveyRound.closed_on <= survey_round.closed_on,
        )
        .order_by(SurveyRound.closed_on.desc(), SurveyRound.id.desc())
        .limit(1)
    )
    if previous is None:
        return {}
    published = {
        tuple(figure)
        for body in db.session.scalars(
            sa.select(ReportArtifact.body).where(
                ReportArtifact.round_id == previous.id,
                ReportArtifact.report.in_(MEDIAN_REPORTS),
            )
        )
        for figure in json.loads(body)["published_figures"]
    }
    if not published:
        return {}
    wanted = sorted({figure[0] for figure in published})
    counted = db.session.execute(
        sa.select(
            SurveyAnswer.workplace_id,
            SurveyAnswer.classification_id,
            *(sa.func.count(_MEDIAN_COLUMNS[column]) for column in wanted),
        )
        .where(SurveyAnswer.round_id == previous.id)
        .group_by(SurveyAnswer.workplace_id, SurveyAnswer.classification_id)
    ).all()
    sector_of = _sector_of()
    sizes: dict[Any, int] = defaultdict(int)
    for workplace_id, classification_id, *counts in counted:
        for column, count in zip(wanted, counts, strict=True):
            for level, scope in _places(workplace_id, sector_of):
                for key in (
                    (column, level, scope, None),
                    (column, level, scope, classification_id),
                ):
                    if key in published:
                        sizes[key] += count
    return dict(sizes)


class _GroupValues:
    """The sorted values of a group, merged from the groups it is made of: a
    sector's from its jobs, the union's from its sectors. Merging a few sorted
    lists costs far less than sorting all of a large group's values again."""

    def __init__(self, cells: Cells, sector_of: dict[int, str]) -> None:
        self.cells = cells
        self.by_workplace: dict[int, list[tuple[int, int]]] = defaultdict(list)
        self.by_sector_job: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(
            list
        )
        self.jobs_of_sector: dict[str, set[int]] = defaultdict(set)
        for cell in cells:
            workplace_id, classification_id = cell
            sector = sector_of[workplace_id]
            self.by_workplace[workplace_id].append(cell)
            self.by_sector_job[(sector, classification_id)].append(cell)
            self.jobs_of_sector[sector].add(classification_id)
        self.merged: dict[tuple[str, str, int | None], list[int]] = {}

    def __call__(self, level: str, scope: str, job: int | None) -> list[int]:
        key = (level, scope, job)
        found = self.merged.get(key)
        if found is not None:
            return found
        if level == WORKPLACE:
            # Not kept: nothing larger is merged from a workplace's values.
            return _merge([self.cells[c] for c in self.by_workplace[int(scope)]])
        if level == SECTOR and job is not None:
            parts = [self.cells[c] for c in self.by_sector_job[(scope, job)]]
        elif level == SECTOR:
            parts = [self(SECTOR, scope, j) for j in sorted(self.jobs_of_sector[scope])]
        else:
            parts = [
                self(SECTOR, sector, job)
                for sector, jobs in sorted(self.jobs_of_sector.items())
                if job is None or job in jobs
            ]
        found = self.merged[key] = _merge(parts)
        return found


def _merge(parts: list[list[int]]) -> list[int]:
    # Timsort finds the sorted runs and merges them.
    return parts[0] if len(parts) == 1 else sorted(chain.from_iterable(parts))


def _published_medians(
    cells: Cells,
    sector_of: dict[int, str],
    column: int,
    *,
    by_classification: bool,
    previous_sizes: dict[Any, int],
    rules: Rules,
) -> dict[Any, tuple[int, disclosure.Quantiles]]:
    candidates = _median_candidates(
        cells, sector_of, column, by_classification=by_classification, rules=rules
    )
    # The overlap rule compares groups cell by cell, each cell weighing its answers.
    number = {cell: position for position, cell in enumerate(cells)}
    weights = [len(values) for values in cells.values()]
    figures = [
        Figure(
            key=key,
            members=frozenset(number[cell] for cell in members),
            priority=PRIORITY[key[1]],
        )
        for key, members in candidates.items()
    ]
    withheld = disclosure.protect_overlaps(figures, previous_sizes, rules, weights)
    values_of = _GroupValues(cells, sector_of)
    published: dict[Any, tuple[int, disclosure.Quantiles]] = {}
    for key, members in candidates.items():
        if key in withheld:
            continue
        values = cells[members[0]] if len(members) == 1 else values_of(*key[1:])
        # Nearly everyone on one figure: the median would be each person's own.
        if _mostly_one_figure(values, rules):
            continue
        result = disclosure.quantiles(values, rules)
        if result is not None:
            published[key] = (len(values), result)
    return published


# Building the artifacts ---------------------------------------------------------


def _sector_of() -> dict[int, str]:
    return {
        workplace_id: sector.value
        for workplace_id, sector in db.session.execute(
            sa.select(Workplace.id, Workplace.sector)
        )
    }


def _canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _median_rows(
    published: dict[Any, tuple[int, disclosure.Quantiles]],
    column: int,
    level: str,
    scope: str,
    classifications: Sequence[JobClassification],
    *,
    offered: Iterable[int] | None,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    wanted: list[tuple[int | None, str]] = [(None, "")]
    if offered is not None:
        names = {c.id: c.name for c in classifications}
        wanted += [(cid, names[cid]) for cid in sorted(offered, key=lambda i: names[i])]
    for classification, name in wanted:
        found = published.get((column, level, scope, classification))
        row: dict[str, Any] = {"classification": name}
        if found is None:
            row["s"] = "not_published"
        else:
            size, result = found
            row.update(
                group=group_band(size),
                median=result.median_cents,
                lower_quartile=result.lower_quartile_cents,
                upper_quartile=result.upper_quartile_cents,
            )
        rows.append(row)
    return rows


ARTIFACT_COLUMNS = (
    "round_id",
    "report",
    "level",
    "scope",
    "catalogue_version",
    "body",
    "digest",
    "computed_at",
)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Building a catalogue makes hundreds of thousands of lists, tuples and dicts
    in a few seconds, none of them in a reference cycle. Python's cycle collector
    would walk them, and everything else in the process, several times over: a
    quarter of a second at 200,000 answers, measured. Reference counting still
    frees all of it; the collector resumes as soon as the build is done."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_round(
    survey_round: SurveyRound,
    *,
    now: datetime,
    rules: Rules,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Computes and stores the whole catalogue for a round that has just closed;
    returns how many reports it stored."""
    with _cycle_collector_paused():
        return _build_round(survey_round, now=now, rules=rules, progress=progress)


def _build_round(
    survey_round: SurveyRound,
    *,
    now: datetime,
    rules: Rules,
    progress: Callable[[str], None] | None,
) -> int:
    say = progress or (lambda _message: None)
    say(_("Counting the answers"))
    by_workplace = _workplace_tallies(survey_round.id)
    workplaces = list(
        db.session.scalars(
            sa.select(Workplace)
            .where(
                sa.or_(
                    Workplace.status == WorkplaceStatus.CONFIRMED,
                    Workplace.id.in_(by_workplace),
                )
            )
            .order_by(Workplace.employer, Workplace.site, Workplace.id)
        )
    )
    classifications = list(
        db.session.scalars(
            sa.select(JobClassification).order_by(JobClassification.name)
        )
    )
    sector_of = {w.id: w.sector.value for w in workplaces}
    tallies = _group_tallies(by_workplace, sector_of)
    sizes = {place: counts[0] for place, counts in tallies.items()}
    scopes = _scopes(workplaces)
    closed_on = survey_round.closed_on or clock.today(now)

    say(_("Protecting small counts"))
    children = _children(workplaces)
    system = _survey_counts(tallies, sizes, scopes, children, rules)
    statuses = disclosure.protect_counts(
        system.counts,
        system.equations,
        rules,
        forced=system.forced,
        withheld=system.withheld,
        # The round's number of answers is on its page and in every report.
        public=[("respondents", UNION, "")],
    )

    say(_("Working out medians"))
    previous_sizes = _previous_sizes(survey_round)
    median_cells = _median_cells(survey_round.id)
    wages = _published_medians(
        median_cells[_WAGE],
        sector_of,
        _WAGE,
        by_classification=True,
        previous_sizes=previous_sizes,
        rules=rules,
    )
    raises = _published_medians(
        median_cells[_MONTHS],
        sector_of,
        _MONTHS,
        by_classification=False,
        previous_sizes=previous_sizes,
        rules=rules,
    )
    # Each median artifact lists the figures it publishes (never their sizes),
    # for the next round's tracker check.
    figures: dict[tuple[str, str, str], list[list[Any]]] = defaultdict(list)
    for report, published in (("wages", wages), ("raises", raises)):
        for key in published:
            figures[(report, key[1], key[2])].append(list(key))
    offered_by_scope = _offered_classifications(workplaces, wages)

    say(_("Reading grievances, funding and membership"))
    grievance_tables = _grievance_tables(closed_on, rules)
    funding = _funding_by_scope(closed_on)
    density = _density_rows(workplaces)
    workplace_names = {str(w.id): w.name for w in workplaces}

    def cell(key: Any) -> dict[str, Any]:
        if key not in system.counts:
            return {"n": 0}  # nobody in the group answered
        return _cell(system.counts[key], statuses[key])

    def distribution(question: Question, level: str, scope: str) -> dict[str, Any]:
        rows_out = [
            {"category": c, **cell((question.key, level, scope, c))}
            for c in question.categories
        ]
        return {"question": question.key, "rows": rows_out}

    say(_("Writing the reports"))
    artifacts: list[tuple[Any, ...]] = []
    for report, levels in REPORTS.items():
        for level, scope in scopes:
            if level not in levels:
                continue
            body: dict[str, Any] = {
                "catalogue_version": CATALOGUE_VERSION,
                "report": report,
                "level": level,
                "scope": scope,
                "scope_name": workplace_names.get(scope, scope)
                if level == WORKPLACE
                else scope,
                "round": {
                    "id": survey_round.id,
                    "name": survey_round.name,
                    "opened_on": survey_round.opened_on.isoformat(),
                    "closed_on": closed_on.isoformat(),
                },
                "respondents": cell(("respondents", level, scope)),
            }
            distributions = [
                distribution(q, level, scope)
                for q in QUESTIONS
                if q.report == report and level in question_levels(q)
            ]
            if distributions:
                body["distributions"] = distributions
                if (level, scope) in system.withheld_groups:
                    body["too_few_to_show"] = True
            if report == "respondents" and level != WORKPLACE:
                body["breakdown"] = [
                    {
                        "label": workplace_names.get(child[1], child[1]),
                        "key": child[1],
                        **cell(("respondents", *child)),
                    }
                    for child in children[(level, scope)]
                ]
            if report == "wages":
                body["medians"] = _median_rows(
                    wages,
                    _WAGE,
                    level,
                    scope,
                    classifications,
                    offered=offered_by_scope.get((level, scope), set()),
                )
                if level == UNION:
                    body["spread"] = _wage_spread(
                        wages, classifications, workplace_names
                    )
            if report == "raises":
                body["medians"] = _median_rows(
                    raises, _MONTHS, level, scope, classifications, offered=None
                )
            if report == "funding":
                body["funding"] = funding[(level, scope)]
            if report == "grievances":
                body["grievances"] = grievance_tables[(level, scope)]
            if report == "density":
                body["density"] = [
                    row for row in density if level == UNION or row["sector"] == scope
                ]
            body["published_figures"] = figures.get((report, level, scope), [])
            text = _canonical(body)
            artifacts.append(
                (
                    survey_round.id,
                    report,
                    level,
                    scope,
                    CATALOGUE_VERSION,
                    text,
                    hashlib.sha256(text.encode()).hexdigest(),
                    now,
                )
            )
    # Thousands of rows nothing reads back in this session: loaded in bulk (COPY
    # on PostgreSQL), in the session's transaction.
    return BulkWriter(db.session.connection()).write(
        table(ReportArtifact), ARTIFACT_COLUMNS, artifacts
    )


def _offered_classifications(
    workplaces: Sequence[Workplace],
    wages: dict[Any, tuple[int, disclosure.Quantiles]],
) -> dict[tuple[str, str], set[int]]:
    """The job rows of each wage table: the jobs a workplace lists (and those of a
    sector, or the union, taken together), plus any job with a published median.
    Never the jobs someone answered with: a row would say one of them answered."""
    listed = db.session.execute(
        sa.select(
            workplace_classifications.c.workplace_id,
            workplace_classifications.c.classification_id,
        )
    ).all()
    sector_of = {w.id: w.sector.value for w in workplaces}
    offered: dict[tuple[str, str], set[int]] = defaultdict(set)
    for workplace_id, classification_id in listed:
        if workplace_id not in sector_of:
            continue
        offered[(UNION, "")].add(classification_id)
        offered[(SECTOR, sector_of[workplace_id])].add(classification_id)
        offered[(WORKPLACE, str(workplace_id))].add(classification_id)
    for column, level, scope, classification_id in wages:
        if column == _WAGE and classification_id is not None:
            offered[(level, scope)].add(classification_id)
    return offered


def _wage_spread(
    wages: dict[Any, tuple[int, disclosure.Quantiles]],
    classifications: Sequence[JobClassification],
    workplace_names: dict[str, str],
) -> list[dict[str, Any]]:
    """The wage discrepancy: for each job, the published workplace medians side by
    side and the gap between the highest and the lowest of them."""
    by_job: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for (column, level, scope, job), (_size, result) in wages.items():
        if column == _WAGE and level == WORKPLACE and job is not None:
            by_job[job].append((result.median_cents, workplace_names.get(scope, scope)))
    spread = []
    for classification in classifications:
        medians = sorted(by_job.get(classification.id, ()))
        if len(medians) < 2:
            continue
        spread.append(
            {
                "classification": classification.name,
                "workplaces": [
                    {"workplace": name, "median": cents} for cents, name in medians
                ],
                "gap": medians[-1][0] - medians[0][0],
            }
        )
    return spread


def _grievance_tables(
    closed_on: date, rules: Rules
) -> dict[tuple[str, str], dict[str, Any]]:
    """Grievances opened by the end of the round, union-wide, by kind and where
    they stand, protected as one table with its margins."""
    state = sa.case(
        (Grievance.closed_on.is_(None), "open"),
        else_=sa.func.coalesce(Grievance.outcome, "withdrawn"),
    )
    grouped = db.session.execute(
        sa.select(
            Grievance.category,
            state,
            sa.func.count(),
            sa.func.count(sa.case((Grievance.money_recovered_cents > 0, 1))),
            sa.func.coalesce(sa.func.sum(Grievance.money_recovered_cents), 0),
        )
        .where(Grievance.opened_on <= closed_on)
        .group_by(Grievance.category, state)
    ).all()
    scopes = [(UNION, "")]
    counts: dict[Any, int] = {}
    for level, scope in scopes:
        for category in GrievanceCategory:
            for state_name in GRIEVANCE_STATES:
                counts[(level, scope, category.value, state_name)] = 0
            counts[(level, scope, category.value, "all")] = 0
        for state_name in [*GRIEVANCE_STATES, "all"]:
            counts[(level, scope, "all", state_name)] = 0
    money: dict[str, list[int]] = {c.value: [0, 0] for c in GrievanceCategory}
    for category, state_name, count, with_money, recovered in grouped:
        state_name = str(state_name)
        for c in (category.value, "all"):
            for s in (state_name, "all"):
                counts[(UNION, "", c, s)] += count
        money[category.value][0] += with_money
        money[category.value][1] += int(recovered)
    equations: list[Equation] = []
    categories = [c.value for c in GrievanceCategory]
    for level, scope in scopes:
        for c in [*categories, "all"]:
            equations.append(
                Equation(
                    (level, scope, c, "all"),
                    tuple((level, scope, c, s) for s in GRIEVANCE_STATES),
                )
            )
        for s in [*GRIEVANCE_STATES, "all"]:
            equations.append(
                Equation(
                    (level, scope, "all", s),
                    tuple((level, scope, c, s) for c in categories),
                )
            )
    statuses = disclosure.protect_counts(counts, equations, rules)
    protected = disclosure.protect_money(
        {c: (money[c][0], money[c][1]) for c in categories if money[c][0]}
    )
    money_rows: list[dict[str, Any]] = [
        {"category": c, "money": cents}
        if cents is not None
        else {"category": c, "s": "too_few_cases"}
        for c, cents in protected.by_key.items()
    ]
    total_money: dict[str, Any] = (
        {"money": protected.total}
        if protected.total is not None
        else {"s": "too_few_cases"}
    )
    tables: dict[tuple[str, str], dict[str, Any]] = {}
    for level, scope in scopes:
        tables[(level, scope)] = {
            "states": list(GRIEVANCE_STATES),
            "rows": [
                {
                    "category": c,
                    "cells": [
                        _cell(
                            counts[(level, scope, c, s)], statuses[(level, scope, c, s)]
                        )
                        for s in [*GRIEVANCE_STATES, "all"]
                    ],
                }
                for c in [*categories, "all"]
            ],
            "money": money_rows if level == UNION else [],
            "total_money": total_money if level == UNION else None,
        }
    return tables


def _funding_by_scope(closed_on: date) -> dict[tuple[str, str], dict[str, Any]]:
    """Grants ending within the precarity window after the round's end, for the
    union, each sector and each workplace: the workplaces' own funding records,
    which name funders and programs, never people."""
    found = db.session.execute(
        sa.select(FundingSource, Workplace.sector)
        .join(Workplace, Workplace.id == FundingSource.workplace_id)
        .where(
            FundingSource.ends_on.is_not(None),
            FundingSource.ends_on >= closed_on,
            FundingSource.ends_on <= precarious_until(closed_on),
        )
        .order_by(FundingSource.ends_on, FundingSource.id)
    ).all()
    by_scope: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"ending_soon": [], "positions_ending_soon": 0}
    )
    for funding, sector in found:
        record = {
            "workplace_id": funding.workplace_id,
            "funder": funding.funder,
            "program": funding.program,
            "ends_on": funding.ends_on.isoformat() if funding.ends_on else None,
            "positions": funding.positions_funded,
        }
        for scope in (
            (UNION, ""),
            (SECTOR, sector.value),
            (WORKPLACE, str(funding.workplace_id)),
        ):
            by_scope[scope]["ending_soon"].append(record)
            by_scope[scope]["positions_ending_soon"] += funding.positions_funded
    return by_scope


def _density_rows(found: Sequence[Workplace]) -> list[dict[str, Any]]:
    confirmed = [w for w in found if w.status is WorkplaceStatus.CONFIRMED]
    counts = member_counts([w.id for w in confirmed])
    rows = []
    for workplace in confirmed:
        members = counts.get((workplace.id, MemberStatus.ACTIVE), 0)
        share = density(members, workplace.estimated_headcount)
        rows.append(
            {
                "workplace": workplace.name,
                "workplace_id": workplace.id,
                "sector": workplace.sector.value,
                "members": members,
                "headcount": workplace.estimated_headcount,
                "density_percent": None if share is None else round(100 * share),
            }
        )
    return rows
