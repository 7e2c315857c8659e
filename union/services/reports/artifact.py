"""What a stored report artifact holds: the contract between building a report when
a round closes and reading it on every pull.

An artifact's body is canonical JSON (sorted keys, no spaces), fingerprinted with
SHA-256 when it is stored and never changed afterwards. The names and values
below are that stored form: renaming one would break every artifact already kept.
"""

from __future__ import annotations

import enum
import json
from typing import TYPE_CHECKING, Any, NamedTuple, Required, TypedDict

from union.rules.disclosure import Status

if TYPE_CHECKING:
    from union.services.reports.catalogue import ReportName

#: Stored in every body; bumped when the body's shape changes. Version 2: the
#: sensitive questions are noisy releases, never exact distributions. Version 3:
#: the grievance table is the grievance release of the latest closed quarter.
CATALOGUE_VERSION = 3


class Level(enum.StrEnum):
    UNION = "union"
    SECTOR = "sector"
    WORKPLACE = "workplace"


LEVELS = tuple(Level)


class Place(NamedTuple):
    """A group a report describes: the union (scope ""), a sector (its value) or
    a workplace (its id, as text)."""

    level: Level
    scope: str

    @property
    def plain(self) -> tuple[str, str]:
        """(level, scope) as plain strings, for the keys of figures: the disclosure
        rules order keys by their repr, which an enum member would change."""
        return (self.level.value, self.scope)


UNION_WIDE = Place(Level.UNION, "")


class CellStatus(enum.StrEnum):
    """Why a cell shows no number."""

    FEWER_THAN_MIN = Status.FEWER_THAN_MIN.value
    HIDDEN = Status.HIDDEN.value
    #: A median or quartile the rules do not let out.
    NOT_PUBLISHED = "not_published"
    #: Money recovered over too few cases to show without pointing at one.
    TOO_FEW_CASES = "too_few_cases"
    #: A noisy release the yearly privacy budget had no room for.
    BUDGET_SPENT = "budget_spent"
    #: A sector too small for a noisy release of its own: its answers are in the
    #: union-wide figures.
    COUNTED_UNION_WIDE = "counted_union_wide"
    #: The group differs from an earlier published group of the same figure by
    #: too few people: the difference would be their answers.
    TOO_CLOSE_TO_EARLIER = "too_close_to_earlier"


class Cell(TypedDict, total=False):
    """A count: `n` when it is shown, otherwise `s`, why it is not."""

    n: int
    s: CellStatus


def cell(value: int, status: Status) -> Cell:
    if status is Status.SHOWN:
        return {"n": value}
    return {"s": CellStatus(status.value)}


class RoundInfo(TypedDict):
    id: int
    name: str
    opened_on: str
    closed_on: str


class CategoryCell(Cell, total=False):
    category: Required[str]


class Distribution(TypedDict, total=False):
    question: Required[str]
    rows: Required[list[CategoryCell]]
    #: Why the whole table is withheld, when it is.
    s: CellStatus


class NoisyRow(TypedDict):
    category: str
    #: The count with differential-privacy noise, never below 0.
    about: int
    #: The noise is within this of zero 9 times out of 10.
    give_or_take: int


class NoisyDistribution(TypedDict, total=False):
    question: Required[str]
    epsilon_thousandths: int
    rows: list[NoisyRow]
    #: Why there are no rows.
    s: CellStatus


class BreakdownRow(Cell, total=False):
    label: Required[str]
    key: Required[str]


class MedianRow(TypedDict, total=False):
    #: The job's name, or "" for every job together.
    classification: Required[str]
    s: CellStatus
    #: The group's size as a band ("10-19"): sizes would add up to counts.
    group: str
    median: int
    lower_quartile: int | None
    upper_quartile: int | None


class SpreadAt(TypedDict):
    workplace: str
    median: int


class SpreadRow(TypedDict):
    classification: str
    workplaces: list[SpreadAt]
    gap: int


class FundingRecord(TypedDict):
    workplace_id: int
    funder: str
    program: str
    ends_on: str | None
    positions: int


class Funding(TypedDict):
    ending_soon: list[FundingRecord]
    positions_ending_soon: int


class GrievanceRow(TypedDict):
    category: str
    cells: list[Cell]


class MoneyCell(TypedDict, total=False):
    money: int
    s: CellStatus


class MoneyRow(MoneyCell, total=False):
    category: Required[str]


class QuarterInfo(TypedDict):
    start: str
    end: str


class StepCell(Cell, total=False):
    step: Required[str]


class SectorCases(TypedDict):
    sector: str
    open: Cell
    closed: Cell


class GrievanceTable(TypedDict, total=False):
    """Grievances by kind and where they stand, and money recovered. From catalogue
    version 3 on, a quarter's grievance release (union.services.grievance_releases)
    as stored, which also has its quarter, the open cases by step and the cases
    by sector."""

    states: Required[list[str]]
    rows: Required[list[GrievanceRow]]
    money: Required[list[MoneyRow]]
    total_money: Required[MoneyCell | None]
    version: int
    quarter: QuarterInfo
    steps: list[StepCell]
    sectors: list[SectorCases]


class DensityRow(TypedDict):
    workplace: str
    workplace_id: int
    sector: str
    members: int
    headcount: int | None
    density_percent: int | None


#: A published median: (answer column number, level, scope, job id or None).
FigureKey = tuple[int, str, str, int | None]


class Sections(TypedDict, total=False):
    """The parts of a body that only some reports have."""

    distributions: list[Distribution]
    #: Sensitive questions: counts with differential-privacy noise, never exact.
    noisy: list[NoisyDistribution]
    #: The place has too few answers to show its own; they count in larger groups.
    too_few_to_show: bool
    breakdown: list[BreakdownRow]
    medians: list[MedianRow]
    spread: list[SpreadRow]
    funding: Funding
    grievances: GrievanceTable
    density: list[DensityRow]


class Body(Sections, total=False):
    catalogue_version: Required[int]
    report: Required[ReportName]
    level: Required[Level]
    scope: Required[str]
    #: A workplace's name, a sector's value, "" union-wide.
    scope_name: Required[str]
    round: Required[RoundInfo]
    respondents: Required[Cell]
    #: The medians it publishes (never their sizes), for later rounds' checks.
    published_figures: Required[list[list[Any]]]


def canonical(body: Body) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def read(text: str) -> Body:
    body: Body = json.loads(text)
    return body
