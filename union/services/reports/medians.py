"""Medians and quartiles of wages and months since a raise, and which of them may
be published.

Values are published only as medians (groups of 10 or more) and quartiles (20 or
more), rounded, never as a mean, minimum, maximum or sum; group sizes next to them
are bands. No two published medians cover groups that differ by 1 to 9 people,
within the round (across levels) or against the round before.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from union.db import db
from union.models import (
    JobClassification,
    SurveyAnswer,
    Workplace,
    workplace_classifications,
)
from union.rules import disclosure
from union.rules.disclosure import Figure, Quantiles, Rules
from union.services.reports import registry
from union.services.reports.artifact import (
    CellStatus,
    FigureKey,
    Level,
    MedianRow,
    Place,
    SpreadRow,
)
from union.services.reports.counting import places


@dataclass(frozen=True, slots=True)
class MedianColumn:
    """An answer column whose medians a report publishes."""

    #: The column's number in every stored figure key: never renumber.
    number: int
    column: Any
    #: Also published per job, not only for everyone in a group.
    by_job: bool
    #: Values are kept multiplied by this: months in hundredths round to a quarter
    #: month as wages in cents round to a quarter dollar.
    scale: int = 1

    def expression(self) -> Any:
        return self.column * self.scale if self.scale != 1 else self.column


PRIORITY = {Level.WORKPLACE: 0, Level.SECTOR: 1, Level.UNION: 2}

#: The answers of one column split by (workplace, job), each part sorted: every
#: group a median is published for is a union of these cells.
Cells = dict[tuple[int, int], list[int]]

#: Each published median: the group's size and its quantiles.
Published = dict[FigureKey, tuple[int, Quantiles]]


def group_band(size: int) -> str:
    """Group sizes next to medians are bands: exact sizes would add up to counts."""
    if size < 20:
        return "10-19"
    if size < 50:
        return "20-49"
    if size < 100:
        return "50-99"
    return "100+"


@dataclass(frozen=True, slots=True)
class RoundCells:
    """Each median column's values split into cells, keyed by the column's
    number, and every workplace someone answered from (with or without a value)."""

    by_column: dict[int, Cells]
    workplaces: frozenset[int]


def median_cells(round_id: int, columns: Sequence[MedianColumn]) -> RoundCells:
    if db.session.get_bind().dialect.name == "postgresql":
        return _cells_sorted_by_database(round_id, columns)
    statement = sa.select(
        SurveyAnswer.workplace_id,
        SurveyAnswer.classification_id,
        *(spec.column for spec in columns),
    ).where(SurveyAnswer.round_id == round_id)
    found: dict[int, Cells] = {spec.number: defaultdict(list) for spec in columns}
    workplaces = set()
    for workplace_id, classification_id, *values in _plain_rows(statement):
        workplaces.add(workplace_id)
        for spec, value in zip(columns, values, strict=True):
            if value is not None:
                found[spec.number][(workplace_id, classification_id)].append(
                    value * spec.scale
                )
    for cells in found.values():
        for values in cells.values():
            values.sort()
    return RoundCells(
        {number: dict(sorted(cells.items())) for number, cells in found.items()},
        frozenset(workplaces),
    )


def _cells_sorted_by_database(
    round_id: int, columns: Sequence[MedianColumn]
) -> RoundCells:
    """PostgreSQL hands each cell's values over as one sorted array."""
    arrays = []
    for spec in columns:
        value = spec.expression()
        arrays.append(
            sa.func.array_agg(postgresql.aggregate_order_by(value, value)).filter(
                value.is_not(None)
            )
        )
    statement = (
        sa.select(SurveyAnswer.workplace_id, SurveyAnswer.classification_id, *arrays)
        .where(SurveyAnswer.round_id == round_id)
        .group_by(SurveyAnswer.workplace_id, SurveyAnswer.classification_id)
        .order_by(SurveyAnswer.workplace_id, SurveyAnswer.classification_id)
    )
    found: dict[int, Cells] = {spec.number: {} for spec in columns}
    workplaces = set()
    for workplace_id, classification_id, *values in _plain_rows(statement):
        workplaces.add(workplace_id)
        for spec, sorted_values in zip(columns, values, strict=True):
            if sorted_values:
                found[spec.number][(workplace_id, classification_id)] = sorted_values
    return RoundCells(found, frozenset(workplaces))


def _plain_rows(statement: sa.Executable) -> Sequence[Any]:
    """Rows as the driver gives them (integers and lists of them): SQLAlchemy's
    row objects would cost more than the query at 200,000 answers."""
    result = db.session.connection().execute(statement)
    rows = result.cursor.fetchall()
    result.close()
    return rows


def _candidates(
    cells: Cells, sector_of: dict[int, str], spec: MedianColumn, rules: Rules
) -> dict[FigureKey, list[tuple[int, int]]]:
    """Every group big enough for a median of the column, as the cells it is made
    of: each workplace, sector and the union, and with spec.by_job each job at
    each of them (a job at a workplace is one cell)."""
    number, smallest = spec.number, rules.min_median_group
    workplace, sector_level, union = (
        Level.WORKPLACE.value,
        Level.SECTOR.value,
        Level.UNION.value,
    )
    by_workplace: dict[int, list[tuple[int, int]]] = defaultdict(list)
    by_sector_job: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    by_union_job: dict[int, list[tuple[int, int]]] = defaultdict(list)
    sizes = {cell: len(values) for cell, values in cells.items()}
    groups: dict[FigureKey, list[tuple[int, int]]] = {}
    for cell in cells:
        workplace_id, job = cell
        by_workplace[workplace_id].append(cell)
        if spec.by_job:
            by_sector_job[(sector_of[workplace_id], job)].append(cell)
            by_union_job[job].append(cell)
            if sizes[cell] >= smallest:
                groups[(number, workplace, str(workplace_id), job)] = [cell]
    by_sector: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for workplace_id, members in by_workplace.items():
        groups[(number, workplace, str(workplace_id), None)] = members
        by_sector[sector_of[workplace_id]] += members
    for sector, members in by_sector.items():
        groups[(number, sector_level, sector, None)] = members
    for (sector, job), members in by_sector_job.items():
        groups[(number, sector_level, sector, job)] = members
    groups[(number, union, "", None)] = list(cells)
    for job, members in by_union_job.items():
        groups[(number, union, "", job)] = members
    return {
        key: members
        for key, members in groups.items()
        if sum(map(sizes.__getitem__, members)) >= smallest
    }


def _mostly_one_figure(ordered: Sequence[int], rules: Rules) -> bool:
    """Whether nearly everyone's value rounds to the same figure (what
    disclosure.homogeneous says of the counts of each figure): the median would
    then be each person's own. The values are sorted, so each figure is one run,
    and a run of `needed` values or more takes in one of the values every
    `needed` places: only the runs through those are measured."""
    if not ordered:
        return False
    step, half = rules.rounding_cents, rules.rounding_cents // 2
    needed = max(1, -(-rules.homogeneity_percent * len(ordered) // 100))
    for checkpoint in range(needed - 1, len(ordered), needed):
        figure = (ordered[checkpoint] + half) // step
        first = bisect_left(ordered, figure * step - half)
        if (
            bisect_left(ordered, (figure + 1) * step - half, checkpoint) - first
            >= needed
        ):
            return True
    return False


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
        if level == Level.WORKPLACE:
            # Not kept: nothing larger is merged from a workplace's values.
            return _merge([self.cells[c] for c in self.by_workplace[int(scope)]])
        if level == Level.SECTOR and job is not None:
            parts = [self.cells[c] for c in self.by_sector_job[(scope, job)]]
        elif level == Level.SECTOR:
            parts = [
                self(Level.SECTOR.value, scope, j)
                for j in sorted(self.jobs_of_sector[scope])
            ]
        else:
            parts = [
                self(Level.SECTOR.value, sector, job)
                for sector, jobs in sorted(self.jobs_of_sector.items())
                if job is None or job in jobs
            ]
        found = self.merged[key] = _merge(parts)
        return found


def _merge(parts: list[list[int]]) -> list[int]:
    # Timsort finds the sorted runs and merges them.
    return parts[0] if len(parts) == 1 else sorted(chain.from_iterable(parts))


def medians_by_size(
    cells: Cells,
    sector_of: dict[int, str],
    spec: MedianColumn,
    *,
    earlier: registry.Earlier,
    every_sector_of: dict[int, str],
    rules: Rules,
    member_counts: Mapping[Place, int] | None = None,
) -> Published:
    """The medians of a column that every rule but the people check allows
    (without_people_changed applies it): it needs nothing from the database, so
    closing a round runs it while the database counts.

    A median says at least min_median_group people answered; at a workplace
    whose published number of members is within min_count of that, it would say
    that nearly everybody there answered, so none is published there."""
    candidates = _candidates(cells, sector_of, spec, rules)
    if member_counts:
        too_few = rules.min_median_group + rules.min_count
        candidates = {
            key: found
            for key, found in candidates.items()
            if key[1] != Level.WORKPLACE
            or not 0 < member_counts.get(Place(Level.WORKPLACE, key[2]), 0) < too_few
        }
    earlier_sizes = {
        key: earlier.related_sizes(
            registry.median_figure(spec.number, key[3]),
            Place(Level(key[1]), key[2]),
            every_sector_of,
        )
        for key in candidates
    }
    # The overlap rule compares groups cell by cell, each cell weighing its answers.
    number = {cell: position for position, cell in enumerate(cells)}
    weights = [len(values) for values in cells.values()]
    figures = [
        Figure(
            key=key,
            members=frozenset(number[cell] for cell in members),
            priority=PRIORITY[Level(key[1])],
        )
        for key, members in candidates.items()
    ]
    withheld = disclosure.protect_overlaps(figures, earlier_sizes, rules, weights)
    values_of = _GroupValues(cells, sector_of)
    published: Published = {}
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


def without_people_changed(
    published: Published, spec: MedianColumn, earlier: registry.Earlier
) -> Published:
    """Leaves out each median whose group is 1 to 9 people away from the group of
    an earlier publication of the same figure, in people rather than in size
    (one joined and one left, say). It may read who answered earlier rounds."""
    return {
        key: found
        for key, found in published.items()
        if not earlier.people_changed(
            registry.median_figure(spec.number, key[3]),
            Place(Level(key[1]), key[2]),
            found[0],
            key[3],
        )
    }


def median_rows(
    published: Published,
    spec: MedianColumn,
    place: Place,
    job_names: Mapping[int, str],
    *,
    jobs: Iterable[int] = (),
) -> list[MedianRow]:
    """Everyone in the place first, then each of `jobs` by name."""
    level, scope = place.plain
    wanted: list[tuple[int | None, str]] = [(None, "")]
    wanted += [(job, job_names[job]) for job in sorted(jobs, key=job_names.__getitem__)]
    rows: list[MedianRow] = []
    for job, name in wanted:
        found = published.get((spec.number, level, scope, job))
        if found is None:
            rows.append({"classification": name, "s": CellStatus.NOT_PUBLISHED})
            continue
        size, result = found
        rows.append(
            {
                "classification": name,
                "group": group_band(size),
                "median": result.median_cents,
                "lower_quartile": result.lower_quartile_cents,
                "upper_quartile": result.upper_quartile_cents,
            }
        )
    return rows


def jobs_shown(
    workplaces: Sequence[Workplace], published: Published
) -> dict[Place, set[int]]:
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
    shown: dict[Place, set[int]] = defaultdict(set)
    for workplace_id, classification_id in listed:
        if workplace_id in sector_of:
            for place in places(workplace_id, sector_of):
                shown[place].add(classification_id)
    for _number, level, scope, classification_id in published:
        if classification_id is not None:
            shown[Place(Level(level), scope)].add(classification_id)
    return shown


def spread(
    published: Published,
    classifications: Sequence[JobClassification],
    workplace_names: Mapping[str, str],
) -> list[SpreadRow]:
    """The wage discrepancy: for each job, the published workplace medians side by
    side and the gap between the highest and the lowest of them."""
    by_job: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for (_number, level, scope, job), (_size, result) in published.items():
        if level == Level.WORKPLACE and job is not None:
            by_job[job].append((result.median_cents, workplace_names.get(scope, scope)))
    rows: list[SpreadRow] = []
    for classification in classifications:
        medians = sorted(by_job.get(classification.id, ()))
        if len(medians) < 2:
            continue
        rows.append(
            {
                "classification": classification.name,
                "workplaces": [
                    {"workplace": name, "median": cents} for cents, name in medians
                ],
                "gap": medians[-1][0] - medians[0][0],
            }
        )
    return rows
