"""Building a closed round's catalogue: every report for every place it is
published at, computed once when the round closes and stored as immutable
artifacts.

This is the only code that reads survey answers. The database counts them by
workplace and category in one query, and hands over the wages and months since a
raise of each (workplace, job) cell in another (sorted arrays on PostgreSQL, four
numbers an answer on SQLite). Then the disclosure rules (union.rules.disclosure)
apply to everything the catalogue publishes:

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

import gc
import hashlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from union import clock
from union.adapters.bulk import BulkWriter, table
from union.db import db
from union.i18n import _
from union.models import (
    JobClassification,
    ReportArtifact,
    SurveyRound,
    Workplace,
    WorkplaceStatus,
)
from union.rules import disclosure
from union.rules.disclosure import Rules, Status
from union.services import grievance_releases
from union.services.reports import (
    catalogue,
    counting,
    medians,
    noisy,
    records,
    registry,
)
from union.services.reports.artifact import (
    CATALOGUE_VERSION,
    UNION_WIDE,
    Body,
    BreakdownRow,
    Cell,
    CellStatus,
    DensityRow,
    Distribution,
    Funding,
    GrievanceTable,
    Level,
    NoisyDistribution,
    Place,
    canonical,
    cell,
)
from union.services.reports.catalogue import Report
from union.services.reports.counting import (
    COUNT_LEVELS,
    CountSystem,
    Question,
    Tallies,
)


@dataclass(slots=True)
class RoundFigures:
    """Everything a round publishes, protected together, for the catalogue's
    entries to lay out place by place."""

    survey_round: SurveyRound
    closed_on: date
    workplaces: list[Workplace]
    classifications: list[JobClassification]
    #: Every place that has reports, in the order the artifacts are written.
    places: list[Place]
    children: counting.Children
    counts: CountSystem
    statuses: dict[Any, Status]
    #: The published medians of each median column, by its number.
    median_figures: dict[int, medians.Published]
    jobs_shown: dict[Place, set[int]]
    grievances: GrievanceTable
    funding: dict[Place, Funding]
    density: list[DensityRow]
    releases: noisy.Releases
    job_names: dict[int, str] = field(init=False)
    workplace_names: dict[str, str] = field(init=False)
    #: The keys of the published medians, by (column number, level, scope).
    figures_at: dict[tuple[int, str, str], list[list[Any]]] = field(init=False)

    def __post_init__(self) -> None:
        self.job_names = {c.id: c.name for c in self.classifications}
        self.workplace_names = {str(w.id): w.name for w in self.workplaces}
        self.figures_at = defaultdict(list)
        for number, published in self.median_figures.items():
            for key in published:
                self.figures_at[(number, key[1], key[2])].append(list(key))

    def cell(self, key: Any) -> Cell:
        if key not in self.counts.counts:
            if key[0] == "respondents" and Place(Level(key[1]), key[2]) in (
                self.counts.participation
            ):
                # Nobody answered, beside a published number of members.
                return {"s": CellStatus.HIDDEN}
            return {"n": 0}  # nobody in the group answered
        return cell(self.counts.counts[key], self.statuses[key])

    def noisy_distributions(
        self, report: Report, place: Place
    ) -> list[NoisyDistribution]:
        if place.level not in COUNT_LEVELS:
            return []
        return [
            self.releases.distribution(question, place)
            for question in report.questions
            if question.sensitive
        ]

    def distributions(self, report: Report, place: Place) -> list[Distribution]:
        if place.level not in COUNT_LEVELS:
            return []
        return [
            self._distribution(question, place)
            for question in report.questions
            if not question.sensitive
        ]

    def _distribution(self, question: Question, place: Place) -> Distribution:
        distribution: Distribution = {
            "question": question.key,
            "rows": [
                {
                    "category": category,
                    **self.cell((question.key, *place.plain, category)),
                }
                for category in question.categories
            ],
        }
        if (question.key, place) in self.counts.too_close:
            distribution["s"] = CellStatus.TOO_CLOSE_TO_EARLIER
        return distribution

    def breakdown(self, place: Place) -> list[BreakdownRow]:
        names = self.workplace_names
        return [
            {
                "label": names.get(child.scope, child.scope),
                "key": child.scope,
                **self.cell(("respondents", *child.plain)),
            }
            for child in self.children[place]
        ]

    def published_figures(self, report: Report, place: Place) -> list[list[Any]]:
        """The medians a report publishes at a place, as figure keys."""
        if report.medians is None:
            return []
        return self.figures_at.get((report.medians.number, *place.plain), [])


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Building a catalogue makes hundreds of thousands of lists, tuples and dicts
    in a few seconds, none of them in a reference cycle. Python's cycle collector
    would walk them, and everything else in the process, several times over: a
    quarter of a second at 200,000 answers, measured. Reference counting still
    frees all of it; the collector resumes as soon as the build is done. Closing a
    round pauses it while opening the answers too (services.survey)."""
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
    with cycle_collector_paused():
        figures = _figures(survey_round, now=now, rules=rules, say=progress)
        if progress:
            progress(_("Writing the reports"))
        # Thousands of rows nothing reads back in this session: loaded in bulk
        # (COPY on PostgreSQL), in the session's transaction.
        return BulkWriter(db.session.connection()).write(
            table(ReportArtifact), ARTIFACT_COLUMNS, _artifacts(figures, now)
        )


def _figures(
    survey_round: SurveyRound,
    *,
    now: datetime,
    rules: Rules,
    say: Callable[[str], None] | None,
) -> RoundFigures:
    say = say or (lambda _message: None)
    say(_("Counting the answers"))
    cells = medians.median_cells(
        survey_round.id, list(catalogue.median_columns().values())
    )
    workplaces = _workplaces(answered_at=cells.workplaces)
    sector_of = {w.id: w.sector.value for w in workplaces}
    places = counting.every_place(workplaces)
    closed_on = survey_round.closed_on or clock.today(now)
    every_sector_of = registry.every_sector_of()
    earlier = registry.load(survey_round, reach=rules.min_group_difference)
    children = counting.children_of(workplaces)
    density = records.density_rows(workplaces)
    members = _members_by_place(density)

    tallies = Tallies(catalogue.questions())
    # The database counts the answers while this process works out the medians,
    # which read nothing from it until the people check.
    with tallies.counting(survey_round.id):
        say(_("Working out medians"))
        by_size = _medians_by_size(
            cells, sector_of, every_sector_of, earlier, rules, members
        )
    columns = catalogue.median_columns()
    published = {
        number: medians.without_people_changed(figures, columns[number], earlier)
        for number, figures in by_size.items()
    }
    if not cells.workplaces.issuperset(tallies.by_workplace):
        raise RuntimeError("the answers changed while the round was being closed")
    tallies.sum_groups(sector_of)

    say(_("Protecting small counts"))
    system = counting.survey_counts(
        tallies,
        places,
        children,
        rules,
        members=members,
        too_close=lambda question, place, size: earlier.clashes(
            registry.question_figure(question.key), place, size, every_sector_of
        ),
    )
    statuses = disclosure.protect_counts(
        system.counts,
        system.equations,
        rules,
        forced=system.forced,
        withheld=system.withheld,
        # The round's number of answers is on its page and in every report.
        public=[("respondents", *UNION_WIDE.plain)],
    )

    wages = published.get(catalogue.HOURLY_WAGE.number, {})
    registry.record(
        survey_round.id,
        [
            *_published_tables(tallies, system, statuses),
            *_published_medians(published),
        ],
    )

    say(_("Adding noise to the sensitive answers"))
    releases = noisy.release(
        survey_round,
        catalogue.sensitive_questions(),
        tallies,
        closed_on=closed_on,
        rules=rules,
    )

    say(_("Reading grievances, funding and membership"))
    return RoundFigures(
        survey_round=survey_round,
        closed_on=closed_on,
        workplaces=workplaces,
        classifications=list(
            db.session.scalars(
                sa.select(JobClassification).order_by(JobClassification.name)
            )
        ),
        places=places,
        children=children,
        counts=system,
        statuses=statuses,
        median_figures=published,
        jobs_shown=medians.jobs_shown(workplaces, wages),
        grievances=grievance_releases.for_report(closed_on, rules=rules, now=now),
        funding=records.funding_by_place(closed_on),
        density=density,
        releases=releases,
    )


def _workplaces(*, answered_at: Collection[int]) -> list[Workplace]:
    """The confirmed workplaces, and any other that someone answered from."""
    return list(
        db.session.scalars(
            sa.select(Workplace)
            .where(
                sa.or_(
                    Workplace.status == WorkplaceStatus.CONFIRMED,
                    Workplace.id.in_(list(answered_at)),
                )
            )
            .order_by(Workplace.employer, Workplace.site, Workplace.id)
        )
    )


def _members_by_place(density: list[DensityRow]) -> dict[Place, int]:
    """The members the density report publishes, added up by sector and union."""
    members: dict[Place, int] = defaultdict(int)
    for row in density:
        for place in (
            Place(Level.WORKPLACE, str(row["workplace_id"])),
            Place(Level.SECTOR, row["sector"]),
            UNION_WIDE,
        ):
            members[place] += row["members"]
    return dict(members)


def _medians_by_size(
    cells: medians.RoundCells,
    sector_of: dict[int, str],
    every_sector_of: dict[int, str],
    earlier: registry.Earlier,
    rules: Rules,
    members: dict[Place, int],
) -> dict[int, medians.Published]:
    return {
        number: medians.medians_by_size(
            cells.by_column[number],
            sector_of,
            spec,
            earlier=earlier,
            every_sector_of=every_sector_of,
            rules=rules,
            member_counts=members,
        )
        for number, spec in catalogue.median_columns().items()
    }


def _published_tables(
    tallies: Tallies, system: CountSystem, statuses: dict[Any, Status]
) -> Iterator[tuple[str, Place, int]]:
    """The question tables published with at least one exact count, with the
    number of answers behind each."""
    sizes = tallies.sizes()
    for question in tallies.questions:
        for place, size in sizes.items():
            keys = [(question.key, *place.plain, c) for c in question.categories]
            if question.sensitive or keys[0] not in system.counts:
                continue
            if any(
                statuses[key] is Status.SHOWN and key not in system.withheld
                for key in keys
            ):
                yield registry.question_figure(question.key), place, size


def _published_medians(
    published: dict[int, medians.Published],
) -> Iterator[tuple[str, Place, int]]:
    for number, figures in published.items():
        for (_number, level, scope, job), (size, _quantiles) in figures.items():
            yield registry.median_figure(number, job), Place(Level(level), scope), size


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


def _artifacts(figures: RoundFigures, now: datetime) -> list[tuple[Any, ...]]:
    rows = []
    for report in catalogue.CATALOGUE:
        for place in figures.places:
            if place.level not in report.levels:
                continue
            text = canonical(_body(figures, report, place))
            rows.append(
                (
                    figures.survey_round.id,
                    report.name.value,
                    place.level.value,
                    place.scope,
                    CATALOGUE_VERSION,
                    text,
                    hashlib.sha256(text.encode()).hexdigest(),
                    now,
                )
            )
    return rows


def _body(figures: RoundFigures, report: Report, place: Place) -> Body:
    survey_round = figures.survey_round
    sections = report.build(figures, place)
    distributions = figures.distributions(report, place)
    if distributions:
        sections["distributions"] = distributions
        if place in figures.counts.withheld_groups:
            sections["too_few_to_show"] = True
    noisy_distributions = figures.noisy_distributions(report, place)
    if noisy_distributions:
        sections["noisy"] = noisy_distributions
    return {
        **sections,
        "catalogue_version": CATALOGUE_VERSION,
        "report": report.name,
        "level": place.level,
        "scope": place.scope,
        "scope_name": figures.workplace_names.get(place.scope, place.scope)
        if place.level is Level.WORKPLACE
        else place.scope,
        "round": {
            "id": survey_round.id,
            "name": survey_round.name,
            "opened_on": survey_round.opened_on.isoformat(),
            "closed_on": figures.closed_on.isoformat(),
        },
        "respondents": figures.cell(("respondents", *place.plain)),
        "published_figures": figures.published_figures(report, place),
    }
