"""Turns a stored report artifact into tables, a chart and a short reading, in the
reader's language. Only what the artifact publishes is used, so a page, its chart
and its CSV never say more than the artifact does.

Each catalogue entry lists the sections it shows, in order; the sections shared
by several reports are here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from union.adapters import charts
from union.i18n import _, _l, format_day, format_money, format_number
from union.labels import label
from union.models import GrievanceCategory, GrievanceOutcome, GrievanceStep, Sector
from union.money import cents_to_decimal
from union.rules.disclosure import Rules
from union.services.reports.artifact import (
    Body,
    CategoryCell,
    Cell,
    CellStatus,
    GrievanceTable,
    Level,
    MedianRow,
    MoneyRow,
)
from union.services.reports.counting import Question

if TYPE_CHECKING:
    from union.services.reports.catalogue import Report

LEVEL_NAMES = {
    Level.UNION: _l("Union-wide"),
    Level.SECTOR: _l("By sector"),
    Level.WORKPLACE: _l("By workplace"),
}

#: The states a grievance can stand in, besides its outcomes.
STATE_NAMES = {"open": _l("Still open"), "all": _l("All")}


@dataclass(slots=True)
class Table:
    #: Names the table in its own download's address (`?table=`): the same in
    #: every language, unique within a page.
    key: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    #: For the CSV: the same cells without formatting.
    raw_rows: list[list[Any]] = field(default_factory=list)
    numeric: bool = True


@dataclass(slots=True)
class Page:
    title: str
    scope_name: str
    #: The rules the figures were protected under, for wording what is withheld.
    rules: Rules
    #: The report's questions, for wording its distributions.
    questions: dict[str, Question] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    readings: list[str] = field(default_factory=list)
    chart: Markup | None = None
    notes: list[str] = field(default_factory=list)

    def cell_text(self, cell: Cell) -> str:
        if "n" in cell:
            return format_number(cell["n"])
        return self.withheld(cell.get("s"))

    def withheld(self, status: CellStatus | None) -> str:
        if status == CellStatus.FEWER_THAN_MIN:
            return str(_("fewer than %(count)s", count=self.rules.min_count))
        if status == CellStatus.HIDDEN:
            return str(_("hidden"))
        if status == CellStatus.TOO_FEW_CASES:
            return str(_("too few cases"))
        if status == CellStatus.TOO_CLOSE_TO_EARLIER:
            return str(_("changed too little to show"))
        return str(_("not published"))

    def cell_raw(self, cell: Cell) -> Any:
        return cell["n"] if "n" in cell else self.cell_text(cell)

    def table(self, key: str) -> Table | None:
        """The page's table of that key, if the page has one."""
        return next((table for table in self.tables if table.key == key), None)


#: Adds one section of a report to its page.
Section = Callable[[Body, Page], None]


def sector_name(value: str) -> str:
    try:
        return label(Sector(value))
    except ValueError:
        return value


def grievance_name(value: str) -> str:
    """A kind of grievance, an outcome, or a state (open, all) by its stored name."""
    if value in STATE_NAMES:
        return str(STATE_NAMES[value])
    for enum_class in (GrievanceCategory, GrievanceOutcome):
        try:
            return label(enum_class(value))
        except ValueError:
            continue
    return value


def step_name(value: str) -> str:
    try:
        return label(GrievanceStep(value))
    except ValueError:
        return value


def dollars(cents: int | None) -> str:
    return format_money(cents) if cents is not None else ""


def place_name(body: Body) -> str:
    if body["level"] == Level.SECTOR:
        return sector_name(body["scope"])
    if body["level"] == Level.UNION:
        return str(LEVEL_NAMES[Level.UNION])
    return body.get("scope_name") or ""


def present(body: Body, report: Report, rules: Rules) -> Page:
    page = Page(
        title=str(report.title),
        scope_name=place_name(body),
        rules=rules,
        questions={question.key: question for question in report.questions},
    )
    respondents = body["respondents"]
    if "n" in respondents:
        page.readings.append(
            _(
                "%(count)s members answered this round here.",
                count=format_number(respondents["n"]),
            )
        )
    else:
        page.readings.append(
            _(
                "Fewer than %(count)s members answered here, so most figures are not published.",
                count=rules.min_count,
            )
        )
    for section in report.sections:
        section(body, page)
    return page


# Counts ---------------------------------------------------------------------------


def breakdown(body: Body, page: Page) -> None:
    rows = body.get("breakdown")
    if not rows:
        return
    union_wide = body["level"] == Level.UNION
    names = [sector_name(r["label"]) if union_wide else r["label"] for r in rows]
    page.tables.append(
        Table(
            key="breakdown",
            title=_("Answers by sector") if union_wide else _("Answers by workplace"),
            columns=[_("Where"), _("People")],
            rows=[
                [name, page.cell_text(r)] for name, r in zip(names, rows, strict=True)
            ],
            raw_rows=[
                [name, page.cell_raw(r)] for name, r in zip(names, rows, strict=True)
            ],
        )
    )


def _share_saying_yes(rows: Sequence[CategoryCell]) -> int | None:
    """Percent answering yes among those who answered, only when every cell it
    depends on is published (a share is a count in disguise)."""
    counts = {row["category"]: row.get("n") for row in rows}
    if None in counts.values() or "yes" not in counts:
        return None
    answered = sum(n or 0 for category, n in counts.items() if category != "no_answer")
    if not answered:
        return None
    return round(100 * (counts["yes"] or 0) / answered)


def distributions(body: Body, page: Page) -> None:
    if body.get("too_few_to_show"):
        page.notes.append(
            _(
                "Too few people answered here to show their answers on their own. "
                "They are counted in the union-wide figures."
            )
        )
        return
    shares: list[tuple[str, int]] = []
    for distribution in body.get("distributions", ()):
        asked = page.questions[distribution["question"]]
        question = str(asked.title)
        rows = distribution["rows"]
        if distribution.get("s") == CellStatus.TOO_CLOSE_TO_EARLIER:
            page.notes.append(
                _(
                    "%(question)s: not shown this round. Almost the same people "
                    "answered here as for an earlier report of it (fewer than 10 "
                    "more or fewer), so comparing the two would show what those "
                    "few said.",
                    question=question,
                )
            )
            continue
        page.tables.append(
            Table(
                key=asked.key,
                title=question,
                columns=[_("Answer"), _("People")],
                rows=[[asked.label(r["category"]), page.cell_text(r)] for r in rows],
                raw_rows=[[asked.label(r["category"]), page.cell_raw(r)] for r in rows],
            )
        )
        if all("n" not in r for r in rows if r["category"] != "no_answer"):
            page.notes.append(
                _(
                    "%(question)s: not shown, because almost everyone gave the same "
                    "answer or too few answered, and showing it would tell what each "
                    "person said.",
                    question=question,
                )
            )
        share = _share_saying_yes(rows)
        if share is not None:
            shares.append((question, share))
            page.readings.append(
                _(
                    "%(question)s: %(percent)s%% of those who answered said yes.",
                    question=question,
                    percent=share,
                )
            )
    if shares:
        page.chart = _yes_chart(
            shares, _("Share answering yes, among those who answered")
        )


def _yes_chart(shares: Sequence[tuple[str, int]], title: str) -> Markup:
    """One bar per question: the percent answering yes, and the rest."""
    return charts.stacked_bars(
        [name for name, _share in shares],
        [
            charts.Series(_("Yes"), [value for _name, value in shares]),
            charts.Series(_("No"), [100 - value for _name, value in shares]),
        ],
        title=title,
        description=_("One bar per question, out of 100%; the tables have the counts."),
        format_value=lambda value: f"{value}%",
    )


def noisy_distributions(body: Body, page: Page) -> None:
    """Sensitive questions: counts with differential-privacy noise, worded as
    approximate, with how far off they may be."""
    if body.get("distributions"):
        # Stored before these answers were protected with noise: kept byte for
        # byte, but their exact counts are not shown again.
        page.notes.append(
            _(
                "This round's report was made before these answers were protected "
                "with noise. Its exact counts are no longer shown."
            )
        )
        return
    shares: list[tuple[str, int]] = []
    for distribution in body.get("noisy", ()):
        asked = page.questions[distribution["question"]]
        question = str(asked.title)
        status = distribution.get("s")
        if status == CellStatus.BUDGET_SPENT:
            page.notes.append(
                _(
                    "%(question)s: not published this round. Each release of these "
                    "answers uses some of the union's yearly privacy budget, and this "
                    "year's is spent.",
                    question=question,
                )
            )
            continue
        if status == CellStatus.COUNTED_UNION_WIDE:
            page.notes.append(
                _(
                    "%(question)s: too few people answered here for a protected "
                    "count of their own. Their answers are in the union-wide figures.",
                    question=question,
                )
            )
            continue
        rows = distribution.get("rows", [])
        page.tables.append(
            Table(
                key=asked.key,
                title=question,
                columns=[_("Answer"), _("About this many people"), _("Give or take")],
                rows=[
                    [
                        asked.label(r["category"]),
                        format_number(r["about"]),
                        format_number(r["give_or_take"]),
                    ]
                    for r in rows
                ],
                raw_rows=[
                    [asked.label(r["category"]), r["about"], r["give_or_take"]]
                    for r in rows
                ],
            )
        )
        answered = sum(r["about"] for r in rows if r["category"] != "no_answer")
        yes = sum(r["about"] for r in rows if r["category"] == "yes")
        if answered:
            share = round(100 * yes / answered)
            shares.append((question, share))
            page.readings.append(
                _(
                    "%(question)s: about %(count)s people, give or take %(spread)s, "
                    "said yes (about %(percent)s%% of those who answered).",
                    question=question,
                    count=format_number(yes),
                    spread=format_number(rows[0]["give_or_take"]),
                    percent=share,
                )
            )
    if shares:
        page.chart = _yes_chart(
            shares, _("Share answering yes, among those who answered (approximate)")
        )
    if any("rows" in d for d in body.get("noisy", ())):
        page.notes.append(
            _(
                "These answers could cost someone their job if they were known, so "
                "their counts are never exact. Random noise was added once, when the "
                "round closed, so no one's answer can be worked out from them, even by "
                "someone who knows how everyone else answered. Each count is within "
                "its give-or-take of the true one 9 times out of 10."
            )
        )


# Medians --------------------------------------------------------------------------

QUANTILES = ("median", "lower_quartile", "upper_quartile")


def _median_table(
    key: str,
    rows: Sequence[MedianRow],
    title: str,
    unit: str,
    shown: Callable[[int], str],
    raw: Callable[[int], Any] = cents_to_decimal,
) -> Table:
    text_rows: list[list[Any]] = []
    raw_rows: list[list[Any]] = []
    for row in rows:
        name = row["classification"] or _("All jobs")
        if "s" in row:
            text_rows.append([name, "", *[_("not published")] * 3])
            raw_rows.append([name, "", *[_("not published")] * 3])
            continue
        values: list[int | None] = [row.get(k) for k in QUANTILES]  # type: ignore[misc]
        # Quarters need twice the group a middle value does: say so, not blank.
        hidden = _("not published")
        text_rows.append(
            [name, row["group"], *(hidden if v is None else shown(v) for v in values)]
        )
        raw_rows.append(
            [name, row["group"], *(hidden if v is None else raw(v) for v in values)]
        )
    return Table(
        key=key,
        title=title,
        columns=[
            _("Job"),
            _("People in the group"),
            _("Middle value (%(unit)s)", unit=unit),
            _("Lower quarter"),
            _("Upper quarter"),
        ],
        rows=text_rows,
        raw_rows=raw_rows,
    )


def _medians_note(page: Page) -> None:
    page.notes.append(
        _(
            "Only middle values (medians) are shown, for groups of at least 10 people, "
            "and quarters for at least 20; never an average, lowest or highest value."
        )
    )


def wage_medians(body: Body, page: Page) -> None:
    rows = body.get("medians", [])
    page.tables.append(
        _median_table(
            "hourly_wage", rows, _("Hourly wage"), _("per hour"), format_money
        )
    )
    by_job = [r for r in rows if "s" not in r and r["classification"]]
    if by_job:
        page.chart = charts.stacked_bars(
            [r["classification"] for r in by_job],
            [charts.Series(_("Middle hourly wage"), [r["median"] for r in by_job])],
            title=_("Middle hourly wage by job"),
            description=_(
                "One bar per job with enough answers; the table has the numbers."
            ),
            format_value=dollars,
        )
    _medians_note(page)


def months(hundredths: int) -> Decimal | int:
    """Months stored in hundredths (rounded to a quarter month, as wages are to a
    quarter dollar), as the page and the CSV both show them: 22.5, or 22."""
    if hundredths % 100 == 0:
        return hundredths // 100
    return (Decimal(hundredths) / 100).normalize()


def raise_medians(body: Body, page: Page) -> None:
    rows = body.get("medians", [])
    page.tables.append(
        _median_table(
            "months_since_raise",
            rows,
            _("Months since the last raise"),
            _("months"),
            lambda hundredths: format_number(months(hundredths)),
            raw=months,
        )
    )
    everyone = rows[0] if rows else None
    if everyone is not None and "s" not in everyone and not everyone["classification"]:
        page.readings.append(
            _(
                "Half of those who answered had their last raise more than %(months)s months ago.",
                months=format_number(months(everyone["median"])),
            )
        )
    _medians_note(page)


def wage_spread(body: Body, page: Page) -> None:
    spread = body.get("spread") or []
    if not spread:
        return
    rows, raw = [], []
    for item in spread:
        names = "; ".join(
            f"{w['workplace']}: {dollars(w['median'])}" for w in item["workplaces"]
        )
        rows.append([item["classification"], dollars(item["gap"]), names])
        raw.append([item["classification"], cents_to_decimal(item["gap"]), names])
    page.tables.append(
        Table(
            key="wage_gaps",
            title=_("The same job, paid differently"),
            columns=[
                _("Job"),
                _("Gap between workplaces"),
                _("Middle wage at each workplace"),
            ],
            rows=rows,
            raw_rows=raw,
            numeric=False,
        )
    )
    widest = max(spread, key=lambda item: item["gap"])
    page.readings.append(
        _(
            "The widest gap for the same job is %(gap)s an hour, for %(job)s.",
            gap=dollars(widest["gap"]),
            job=widest["classification"],
        )
    )


# The union's own records ------------------------------------------------------------


def funding(body: Body, page: Page) -> None:
    found = body.get("funding")
    if found is None:
        return
    records = found["ending_soon"]
    page.tables.append(
        Table(
            key="funding_ending",
            title=_("Funding ending within six months of the round"),
            columns=[_("Funder"), _("Program"), _("Ends"), _("Positions")],
            rows=[
                [
                    r["funder"],
                    r["program"],
                    format_day(date.fromisoformat(r["ends_on"]))
                    if r["ends_on"]
                    else "",
                    format_number(r["positions"]),
                ]
                for r in records
            ],
            raw_rows=[
                [r["funder"], r["program"], r["ends_on"], r["positions"]]
                for r in records
            ],
            numeric=False,
        )
    )
    page.readings.append(
        _(
            "%(positions)s funded positions depend on grants that end within six months.",
            positions=format_number(found["positions_ending_soon"]),
        )
    )


def grievances(body: Body, page: Page) -> None:
    table = body.get("grievances")
    if table is not None:
        grievance_tables(table, page)


def quarter_name(table: GrievanceTable) -> str:
    """The quarter a grievance release covers, in words ("Jul 1, 2026 to Sep 30,
    2026"), or "" for a table stored before releases."""
    quarter = table.get("quarter")
    if quarter is None:
        return ""
    return str(
        _(
            "%(start)s to %(end)s",
            start=format_day(date.fromisoformat(quarter["start"])),
            end=format_day(date.fromisoformat(quarter["end"])),
        )
    )


def grievance_tables(table: GrievanceTable, page: Page) -> None:
    """Grievance figures as tables: the organizers' grievance page, its CSV and
    the survey reports' grievance report all show a release through this, so
    they say the same thing figure for figure."""
    quarter = quarter_name(table)
    if quarter:
        page.readings.append(
            _(
                "These are the grievance figures as they stood at the end of the "
                "quarter from %(quarter)s. They are worked out once, after the "
                "quarter ends, and stay the same until the next quarter ends: a "
                "case that opens or closes now shows only then.",
                quarter=quarter,
            )
        )
    states = [*table["states"], "all"]
    page.tables.append(
        Table(
            key="grievances",
            title=_("Grievances by kind and where they stand"),
            columns=[_("Kind"), *(grievance_name(s) for s in states)],
            rows=[
                [
                    grievance_name(r["category"]),
                    *(page.cell_text(c) for c in r["cells"]),
                ]
                for r in table["rows"]
            ],
            raw_rows=[
                [grievance_name(r["category"]), *(page.cell_raw(c) for c in r["cells"])]
                for r in table["rows"]
            ],
        )
    )
    steps = table.get("steps")
    if steps is not None:
        page.tables.append(
            Table(
                key="open_by_step",
                title=_("Open cases by step"),
                columns=[_("Step"), _("Cases")],
                rows=[[step_name(r["step"]), page.cell_text(r)] for r in steps],
                raw_rows=[[step_name(r["step"]), page.cell_raw(r)] for r in steps],
            )
        )
    sectors = table.get("sectors")
    if sectors is not None:
        page.tables.append(
            Table(
                key="cases_by_sector",
                title=_("Cases by sector"),
                columns=[_("Sector"), _("Open"), _("Closed")],
                rows=[
                    [
                        sector_name(r["sector"]),
                        page.cell_text(r["open"]),
                        page.cell_text(r["closed"]),
                    ]
                    for r in sectors
                ],
                raw_rows=[
                    [
                        sector_name(r["sector"]),
                        page.cell_raw(r["open"]),
                        page.cell_raw(r["closed"]),
                    ]
                    for r in sectors
                ],
            )
        )
    if table["money"]:
        total: MoneyRow = {"category": "all", **(table["total_money"] or {})}
        money_rows = [*table["money"], total]
        without_cases = _kinds_without_money_cases(table)

        def money_text(row: MoneyRow, amount: Callable[[int], Any]) -> Any:
            if "money" in row:
                return amount(row["money"])
            if row["category"] in without_cases:
                return str(_("none"))
            return page.withheld(row.get("s"))

        page.tables.append(
            Table(
                key="money_recovered",
                title=_("Money recovered, rounded to $100"),
                columns=[_("Kind"), _("Money recovered")],
                rows=[
                    [grievance_name(r["category"]), money_text(r, dollars)]
                    for r in money_rows
                ],
                raw_rows=[
                    [grievance_name(r["category"]), money_text(r, cents_to_decimal)]
                    for r in money_rows
                ],
            )
        )
    if quarter:
        page.notes.extend(
            [
                _(
                    "“Fewer than %(count)s”: a count from 1 to %(most)s, which could "
                    "point at the people who filed.",
                    count=page.rules.min_count,
                    most=page.rules.min_count - 1,
                ),
                _(
                    "“Hidden”: a count that would let a smaller one be worked out "
                    "from the totals."
                ),
                _(
                    "“Changed too little to show”: a figure that differs by 1 to "
                    "%(most)s cases from an earlier quarter's figure, so comparing "
                    "the two would tell how those few cases went.",
                    most=page.rules.min_group_difference - 1,
                ),
                _(
                    "Money recovered counts closed cases only. It is shown, rounded "
                    "to $100, only for groups of at least 10 closed cases that "
                    "recovered money, and never by workplace, so no one's back pay "
                    "can be read off."
                ),
            ]
        )
    elif table["money"]:
        page.notes.append(
            _(
                "Money is shown only for kinds of grievance with at least 10 cases "
                "that recovered money."
            )
        )


def _kinds_without_money_cases(table: GrievanceTable) -> set[str]:
    """Kinds (and "all") whose every case that could have recovered money is
    published as exactly 0, so that "none recovered" repeats what the counts
    already say. The money rules never publish a zero themselves: a kind with
    closed cases of which none recovered money reads like any other withheld
    amount, or "none" would tell that 1 to 9 of its cases did."""
    states = [*table["states"], "all"]
    # A release counts money over closed cases only; older tables over all.
    sources = (
        [s for s in table["states"] if s != "open"] if "quarter" in table else ["all"]
    )
    without: set[str] = set()
    for row in table["rows"]:
        cells = dict(zip(states, row["cells"], strict=True))
        if all(cells[state].get("n") == 0 for state in sources):
            without.add(row["category"])
    return without


def density(body: Body, page: Page) -> None:
    rows = body.get("density")
    if rows is None:
        return
    page.tables.append(
        Table(
            key="density",
            title=_("Members and estimated workers"),
            columns=[
                _("Workplace"),
                _("Members"),
                _("Estimated workers"),
                _("Density"),
            ],
            rows=[
                [
                    r["workplace"],
                    format_number(r["members"]),
                    format_number(r["headcount"]) if r["headcount"] else _("unknown"),
                    f"{r['density_percent']}%"
                    if r["density_percent"] is not None
                    else "",
                ]
                for r in rows
            ],
            raw_rows=[
                [
                    r["workplace"],
                    r["members"],
                    r["headcount"] or _("unknown"),
                    r["density_percent"],
                ]
                for r in rows
            ],
        )
    )
