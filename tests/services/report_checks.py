"""Independent checks of stored report artifacts, used by the report tests.

They read the artifacts as an organizer would, and know only the public shape of
the catalogue (which counts add up to which), never the code's own decisions.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Collection, Iterator
from typing import Any

import numpy as np
import sqlalchemy as sa
from scipy.optimize import Bounds, LinearConstraint, milp

from union.db import db
from union.models import ReportArtifact, Sector, SurveyAnswer, Workplace
from union.rules.disclosure import homogeneous
from union.services.reports import catalogue
from union.services.reports.artifact import Level
from union.services.reports.counting import COUNT_LEVELS, NO_ANSWER

UNION, SECTOR, WORKPLACE = (level.value for level in Level)
QUESTIONS = catalogue.questions()

FORBIDDEN_KEYS = {"mean", "average", "min", "minimum", "max", "maximum", "sum"}
MEDIAN_FIELDS = {
    "classification",
    "group",
    "median",
    "lower_quartile",
    "upper_quartile",
    "s",
}


def artifacts(round_id: int) -> list[dict[str, Any]]:
    return [
        json.loads(body)
        for body in db.session.scalars(
            sa.select(ReportArtifact.body).where(ReportArtifact.round_id == round_id)
        )
    ]


def walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair anywhere in a JSON body."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key, inner
            yield from walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from walk(inner)


def published_counts(bodies: list[dict[str, Any]]) -> Iterator[int]:
    for body in bodies:
        for key, value in walk(body):
            if key == "n":
                yield value


def cells_by_key(bodies: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """The published survey count cells, under the keys of the public structure:
    ("respondents", level, scope) and (question, level, scope, category)."""
    cells: dict[Any, dict[str, Any]] = {}
    for body in bodies:
        level, scope = body["level"], body["scope"]
        cells[("respondents", level, scope)] = body["respondents"]
        for child in body.get("breakdown", ()):
            child_level = SECTOR if level == UNION else WORKPLACE
            cells[("respondents", child_level, child["key"])] = {
                k: v for k, v in child.items() if k in ("n", "s")
            }
        for distribution in body.get("distributions", ()):
            for row in distribution["rows"]:
                cells[(distribution["question"], level, scope, row["category"])] = {
                    k: v for k, v in row.items() if k in ("n", "s")
                }
    return cells


def public_equations(round_id: int) -> list[tuple[Any, tuple[Any, ...]]]:
    """What adds up to what, as anyone reading the reports knows it."""
    with_reports = set(
        db.session.scalars(
            sa.select(ReportArtifact.scope).where(
                ReportArtifact.round_id == round_id,
                ReportArtifact.level == WORKPLACE,
                ReportArtifact.report == "respondents",
            )
        )
    )
    workplaces = [
        w for w in db.session.scalars(sa.select(Workplace)) if str(w.id) in with_reports
    ]
    scopes = [(UNION, "")] + [(SECTOR, s.value) for s in Sector]
    scopes += [(WORKPLACE, str(w.id)) for w in workplaces]
    equations: list[tuple[Any, tuple[Any, ...]]] = []
    sectors = [s.value for s in Sector]
    equations.append(
        (("respondents", UNION, ""), tuple(("respondents", SECTOR, s) for s in sectors))
    )
    for sector in sectors:
        equations.append(
            (
                ("respondents", SECTOR, sector),
                tuple(
                    ("respondents", WORKPLACE, str(w.id))
                    for w in workplaces
                    if w.sector.value == sector
                ),
            )
        )
    for question in QUESTIONS:
        levels = COUNT_LEVELS
        for level, scope in scopes:
            if level not in levels:
                continue
            equations.append(
                (
                    ("respondents", level, scope),
                    tuple((question.key, level, scope, c) for c in question.categories),
                )
            )
        for category in question.categories:
            equations.append(
                (
                    (question.key, UNION, "", category),
                    tuple((question.key, SECTOR, s, category) for s in sectors),
                )
            )
            if WORKPLACE not in levels:
                continue
            for sector in sectors:
                equations.append(
                    (
                        (question.key, SECTOR, sector, category),
                        tuple(
                            (question.key, WORKPLACE, str(w.id), category)
                            for w in workplaces
                            if w.sector.value == sector
                        ),
                    )
                )
    return equations


def feasible_ranges(
    cells: dict[Any, dict[str, Any]],
    equations: list[tuple[Any, tuple[Any, ...]]],
    *,
    truth: dict[Any, int] | None = None,
    ungapped: Collection[Any] = frozenset(),
    min_count: int = 5,
) -> dict[Any, tuple[int, int]]:
    """For each hidden cell, the smallest and largest whole value consistent with
    every published figure and every equation (an exact integer program).

    The reader knows "fewer than 5" means 1 to 4, and that any other hidden count
    is 0 or at least 5 unless it was hidden whatever its size (`ungapped`: a
    distribution where nearly everyone agreed, a group too small to show): with
    `truth`, the program gives the other hidden cells that really are 0 or at
    least 5 that gap, the strongest reader whose reasoning is right."""
    hidden = sorted((k for k, c in cells.items() if "n" not in c), key=repr)
    if not hidden:
        return {}
    count = len(hidden)
    index = {key: i for i, key in enumerate(hidden)}
    published = [c["n"] for c in cells.values() if "n" in c]
    largest = max([*published, *(truth or {}).values(), min_count])
    primary = [cells[k].get("s") == "fewer_than_min" for k in hidden]
    gapped = [
        not is_primary
        and k not in ungapped
        and truth is not None
        and not 1 <= truth[k] < min_count
        for k, is_primary in zip(hidden, primary, strict=True)
    ]
    # Variables: the hidden counts, then one switch per gapped cell (0: the count
    # is 0; 1: it is min_count or more).
    switches = [i for i, gap in enumerate(gapped) if gap]
    width = count + len(switches)
    lower = np.array([1.0 if p else 0.0 for p in primary] + [0.0] * len(switches))
    upper = np.array(
        [float(min_count - 1 if p else largest) for p in primary]
        + [1.0] * len(switches)
    )
    rows, low_rhs, high_rhs = [], [], []
    for total, parts in equations:
        if total not in cells or any(p not in cells for p in parts):
            continue
        row = np.zeros(width)
        constant = 0.0
        for key, sign in [(total, -1.0)] + [(p, 1.0) for p in parts]:
            if key in index:
                row[index[key]] += sign
            else:
                constant += sign * cells[key]["n"]
        if row.any():
            rows.append(row)
            low_rhs.append(-constant)
            high_rhs.append(-constant)
    for number, cell in enumerate(switches):
        at_least = np.zeros(width)  # count - min_count * switch >= 0
        at_least[cell], at_least[count + number] = 1.0, -float(min_count)
        at_most = np.zeros(width)  # count - largest * switch <= 0
        at_most[cell], at_most[count + number] = 1.0, -float(largest)
        rows += [at_least, at_most]
        low_rhs += [0.0, -np.inf]
        high_rhs += [np.inf, 0.0]
    constraints = (
        [LinearConstraint(np.array(rows), np.array(low_rhs), np.array(high_rhs))]
        if rows
        else []
    )
    integrality = np.ones(width)
    ranges: dict[Any, tuple[int, int]] = {}
    for key, i in index.items():
        found = []
        for direction in (1.0, -1.0):
            objective = np.zeros(width)
            objective[i] = direction
            result = milp(
                objective,
                constraints=constraints,
                integrality=integrality,
                bounds=Bounds(lower, upper),
            )
            assert result.success, f"the published figures contradict each other: {key}"
            found.append(round(result.x[i]))
        ranges[key] = (found[0], found[1])
    return ranges


def agreed_cells(cells: dict[Any, dict[str, Any]], truth: dict[Any, int]) -> set[Any]:
    """The answers of every distribution where nearly everyone gave one answer."""
    distributions: dict[Any, dict[str, int]] = {}
    for key in cells:
        if key[0] != "respondents":
            distributions.setdefault(key[:3], {})[key[3]] = truth.get(key, 0)
    return {
        (*group, category)
        for group, answers in distributions.items()
        if homogeneous([n for c, n in answers.items() if c != "no_answer"])
        for category in answers
        if category != "no_answer"
    }


def withheld_cells(bodies: list[dict[str, Any]]) -> set[Any]:
    """The answer counts of groups the reports say are too small to show."""
    return {
        (distribution["question"], body["level"], body["scope"], row["category"])
        for body in bodies
        if body.get("too_few_to_show")
        for distribution in body.get("distributions", ())
        for row in distribution["rows"]
    }


def needing_protection(
    cells: dict[Any, dict[str, Any]], truth: dict[Any, int], *, min_count: int = 5
) -> set[Any]:
    """The hidden cells that must stay uncertain: every small count, and every
    answer of a distribution where nearly everyone agreed. Other hidden cells are
    hidden only to protect these; they hold counts that could have been shown."""
    agreed = agreed_cells(cells, truth)
    return {
        key
        for key, cell in cells.items()
        if "n" not in cell and (1 <= truth.get(key, 0) < min_count or key in agreed)
    }


def _yes_no(value: bool | None) -> str:
    return NO_ANSWER if value is None else ("yes" if value else "no")


def _some_days(value: int | None) -> str:
    return NO_ANSWER if value is None else ("yes" if value > 0 else "no")


def _raise_band(answer: SurveyAnswer) -> str:
    if answer.never_had_raise:
        return "never"
    months = answer.months_since_raise
    if months is None:
        return NO_ANSWER
    if months < 12:
        return "under_12"
    return "12_to_23" if months < 24 else "24_or_more"


def _hours_band(hours: int | None) -> str:
    if hours is None:
        return NO_ANSWER
    if hours < 15:
        return "under_15"
    if hours < 30:
        return "15_to_29"
    return "30_to_39" if hours < 40 else "40_or_more"


def _choice(value: enum.StrEnum | None) -> str:
    return NO_ANSWER if value is None else value.value


#: Each question's category for one answer, written out plainly in Python: the
#: service counts with SQL conditions, and these check it.
CATEGORY_OF: dict[str, Callable[[SurveyAnswer], str]] = {
    "employment_type": lambda a: _choice(a.employment_type),
    "health_benefits": lambda a: _yes_no(a.health_benefits),
    "dental_benefits": lambda a: _yes_no(a.dental_benefits),
    "paid_sick_days": lambda a: _some_days(a.paid_sick_days),
    "paid_vacation": lambda a: _some_days(a.vacation_days),
    "last_raise": _raise_band,
    "weekly_hours": lambda a: _hours_band(a.weekly_hours),
    "grant_funded": lambda a: _choice(a.grant_funded),
    "relies_on_social_assistance": lambda a: _yes_no(a.relies_on_social_assistance),
    "discrimination_lived_experience": lambda a: _yes_no(
        a.discrimination_lived_experience
    ),
}


def true_counts(round_id: int) -> dict[Any, int]:
    """Every survey count of a closed round, tallied straight from its answers."""
    workplaces = list(db.session.scalars(sa.select(Workplace)))
    sector_of = {w.id: w.sector.value for w in workplaces}
    answers = db.session.scalars(
        sa.select(SurveyAnswer).where(SurveyAnswer.round_id == round_id)
    ).all()
    counts: dict[Any, int] = {}
    for answer in answers:
        workplace = answer.workplace_id
        places = [
            (UNION, ""),
            (SECTOR, sector_of[workplace]),
            (WORKPLACE, str(workplace)),
        ]
        for level, scope in places:
            key = ("respondents", level, scope)
            counts[key] = counts.get(key, 0) + 1
            for question in QUESTIONS:
                if level in COUNT_LEVELS:
                    category = CATEGORY_OF[question.key](answer)
                    assert category in question.categories
                    cell = (question.key, level, scope, category)
                    counts[cell] = counts.get(cell, 0) + 1
    return counts


def figure_members(round_id: int, figure: list[Any]) -> frozenset[str]:
    """The answers a published median covers, from its key (column, level, scope,
    classification), read back from the database."""
    column_index, level, scope, classification = figure
    column = catalogue.median_columns()[column_index].column
    statement = sa.select(SurveyAnswer.id).where(
        SurveyAnswer.round_id == round_id, column.is_not(None)
    )
    if level == SECTOR:
        statement = statement.join(
            Workplace, Workplace.id == SurveyAnswer.workplace_id
        ).where(Workplace.sector == Sector(scope))
    elif level == WORKPLACE:
        statement = statement.where(SurveyAnswer.workplace_id == int(scope))
    if classification is not None:
        statement = statement.where(SurveyAnswer.classification_id == classification)
    return frozenset(db.session.scalars(statement))


def published_figures(round_id: int) -> list[list[Any]]:
    figures = []
    for body in artifacts(round_id):
        figures.extend(body.get("published_figures", ()))
    return figures


def reports_and_levels() -> list[tuple[str, str]]:
    return [
        (report.name.value, level.value)
        for report in catalogue.CATALOGUE
        for level in report.levels
    ]
