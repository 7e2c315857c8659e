"""Turns a stored report artifact into tables, a chart and a short reading, in the
reader's language. Only what the artifact publishes is used, so a page, its chart
and its CSV never say more than the artifact does."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from markupsafe import Markup

from union.adapters import charts
from union.i18n import _, _l
from union.labels import label
from union.models import GrievanceCategory, GrievanceOutcome, Sector
from union.money import cents_to_decimal
from union.views.helpers import disclosure_rules
from union.web.filters import local_date, money, number

REPORT_TITLES = {
    "respondents": _l("Who answered"),
    "wages": _l("Hourly wages by job"),
    "benefits": _l("Benefits, sick days and vacation"),
    "raises": _l("Time since the last raise"),
    "funding": _l("Grant funding and funding ending soon"),
    "social_assistance": _l("Relying on social assistance for benefits"),
    "discrimination": _l("Discrimination for lived experience"),
    "grievances": _l("Grievances by kind and outcome"),
    "density": _l("Membership density by workplace"),
}

LEVEL_NAMES = {
    "union": _l("Union-wide"),
    "sector": _l("By sector"),
    "workplace": _l("By workplace"),
}

QUESTION_TITLES = {
    "employment_type": _l("Kind of job"),
    "health_benefits": _l("Health benefits"),
    "dental_benefits": _l("Dental benefits"),
    "paid_sick_days": _l("Paid sick days"),
    "paid_vacation": _l("Paid vacation"),
    "last_raise": _l("Last raise"),
    "grant_funded": _l("Position paid by a grant"),
    "relies_on_social_assistance": _l("Relies on social assistance for benefits"),
    "discrimination_lived_experience": _l("Treated worse at work for lived experience"),
}

CATEGORY_NAMES = {
    "yes": _l("Yes"),
    "no": _l("No"),
    "not_sure": _l("Not sure"),
    "no_answer": _l("Did not answer"),
    "under_12": _l("Less than a year ago"),
    "12_to_23": _l("One to two years ago"),
    "24_or_more": _l("Two years ago or more"),
    "never": _l("Never had a raise there"),
    "permanent_full_time": _l("Permanent, full time"),
    "permanent_part_time": _l("Permanent, part time"),
    "casual": _l("Casual or on call"),
    "temporary": _l("Temporary or contract"),
    "open": _l("Still open"),
}


@dataclass(slots=True)
class Table:
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
    tables: list[Table]
    readings: list[str]
    chart: Markup | None
    notes: list[str]


def min_count() -> int:
    return disclosure_rules().min_count


def cell_text(cell: dict[str, Any]) -> str:
    if "n" in cell:
        return str(number(cell["n"]))
    status = cell.get("s")
    if status == "fewer_than_min":
        return str(_("fewer than %(count)s", count=min_count()))
    if status == "hidden":
        return str(_("hidden"))
    if status == "too_few_cases":
        return str(_("too few cases"))
    return str(_("not published"))


def cell_raw(cell: dict[str, Any]) -> Any:
    return cell["n"] if "n" in cell else cell_text(cell)


def sector_name(value: str) -> str:
    try:
        return label(Sector(value))
    except ValueError:
        return value


def category_name(value: str) -> str:
    if value in CATEGORY_NAMES:
        return str(CATEGORY_NAMES[value])
    for enum_class in (GrievanceCategory, GrievanceOutcome):
        try:
            return label(enum_class(value))
        except ValueError:
            continue
    if value == "all":
        return str(_("All"))
    return value


def _dollars(cents: int | None) -> str:
    return money(cents) if cents is not None else ""


def _share(rows: list[dict[str, Any]]) -> int | None:
    """Percent answering yes among those who answered, only when every cell it
    depends on is published (a share is a count in disguise)."""
    if not all("n" in row for row in rows):
        return None
    answered = sum(int(row["n"]) for row in rows if row["category"] != "no_answer")
    yes = sum(int(row["n"]) for row in rows if row["category"] == "yes")
    if not answered:
        return None
    return round(100 * yes / answered)


def _distribution_tables(body: dict[str, Any], page: Page) -> None:
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
        question = str(QUESTION_TITLES[distribution["question"]])
        rows = distribution["rows"]
        page.tables.append(
            Table(
                title=question,
                columns=[_("Answer"), _("People")],
                rows=[[category_name(r["category"]), cell_text(r)] for r in rows],
                raw_rows=[[category_name(r["category"]), cell_raw(r)] for r in rows],
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
        share = _share(rows)
        if share is not None and any(r["category"] == "yes" for r in rows):
            shares.append((question, share))
            page.readings.append(
                _(
                    "%(question)s: %(percent)s%% of those who answered said yes.",
                    question=question,
                    percent=share,
                )
            )
    if shares:
        page.chart = charts.stacked_bars(
            [name for name, _share in shares],
            [
                charts.Series(_("Yes"), [value for _name, value in shares]),
                charts.Series(_("No"), [100 - value for _name, value in shares]),
            ],
            title=_("Share answering yes, among those who answered"),
            description=_(
                "One bar per question, out of 100%; the tables have the counts."
            ),
            format_value=lambda value: f"{value}%",
        )


def _quantile_text(value: int | None, *, months: bool) -> str:
    """Months are stored in hundredths and wages in cents: both read in units."""
    if value is None:
        return ""
    return str(number(value // 100)) if months else _dollars(value)


def _median_table(body: dict[str, Any], page: Page, *, months: bool) -> None:
    rows = body.get("medians", [])
    text_rows: list[list[Any]] = []
    raw_rows: list[list[Any]] = []
    quantiles = ("median", "lower_quartile", "upper_quartile")
    for row in rows:
        name = row["classification"] or _("All jobs")
        if "s" in row:
            text_rows.append([name, "", *[_("not published")] * 3])
            raw_rows.append([name, "", *[_("not published")] * 3])
            continue
        values = [row[k] for k in quantiles]
        shown = [_quantile_text(value, months=months) for value in values]
        raw = ["" if value is None else cents_to_decimal(value) for value in values]
        text_rows.append([name, row["group"], *shown])
        raw_rows.append([name, row["group"], *raw])
    unit = _("months") if months else _("per hour")
    page.tables.append(
        Table(
            title=_("Months since the last raise") if months else _("Hourly wage"),
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
    )
    published = [r for r in rows if "s" not in r]
    if not months and published:
        best = [r for r in published if r["classification"]]
        if best:
            page.chart = charts.stacked_bars(
                [r["classification"] for r in best],
                [charts.Series(_("Middle hourly wage"), [r["median"] for r in best])],
                title=_("Middle hourly wage by job"),
                description=_(
                    "One bar per job with enough answers; the table has the numbers."
                ),
                format_value=money,
            )
    if months and published and not published[0]["classification"]:
        page.readings.append(
            _(
                "Half of those who answered had their last raise more than %(months)s months ago.",
                months=published[0]["median"] // 100,
            )
        )
    page.notes.append(
        _(
            "Only middle values (medians) are shown, for groups of at least 10 people, "
            "and quarters for at least 20; never an average, lowest or highest value."
        )
    )


def _spread_table(body: dict[str, Any], page: Page) -> None:
    spread = body.get("spread") or []
    if not spread:
        return
    rows, raw = [], []
    for item in spread:
        names = "; ".join(
            f"{w['workplace']}: {_dollars(w['median'])}" for w in item["workplaces"]
        )
        rows.append([item["classification"], _dollars(item["gap"]), names])
        raw.append([item["classification"], cents_to_decimal(item["gap"]), names])
    page.tables.append(
        Table(
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
            gap=_dollars(widest["gap"]),
            job=widest["classification"],
        )
    )


def _funding_table(body: dict[str, Any], page: Page) -> None:
    funding = body.get("funding")
    if funding is None:
        return
    rows = [
        [
            r["funder"],
            r["program"],
            local_date(date.fromisoformat(r["ends_on"])),
            number(r["positions"]),
        ]
        for r in funding["ending_soon"]
    ]
    raw = [
        [r["funder"], r["program"], r["ends_on"], r["positions"]]
        for r in funding["ending_soon"]
    ]
    page.tables.append(
        Table(
            title=_("Funding ending within six months of the round"),
            columns=[_("Funder"), _("Program"), _("Ends"), _("Positions")],
            rows=rows,
            raw_rows=raw,
            numeric=False,
        )
    )
    page.readings.append(
        _(
            "%(positions)s funded positions depend on grants that end within six months.",
            positions=number(funding["positions_ending_soon"]),
        )
    )


def _grievance_tables(body: dict[str, Any], page: Page) -> None:
    table = body.get("grievances")
    if table is None:
        return
    states = [*table["states"], "all"]
    page.tables.append(
        Table(
            title=_("Grievances by kind and where they stand"),
            columns=[_("Kind"), *(category_name(s) for s in states)],
            rows=[
                [category_name(r["category"]), *(cell_text(c) for c in r["cells"])]
                for r in table["rows"]
            ],
            raw_rows=[
                [category_name(r["category"]), *(cell_raw(c) for c in r["cells"])]
                for r in table["rows"]
            ],
        )
    )
    if table["money"]:
        page.tables.append(
            Table(
                title=_("Money recovered, rounded to $100"),
                columns=[_("Kind"), _("Money recovered")],
                rows=[
                    [
                        category_name(r["category"]),
                        _dollars(r["money"]) if "money" in r else cell_text(r),
                    ]
                    for r in [
                        *table["money"],
                        {"category": "all", **table["total_money"]},
                    ]
                ],
                raw_rows=[
                    [
                        category_name(r["category"]),
                        cents_to_decimal(r["money"]) if "money" in r else cell_text(r),
                    ]
                    for r in [
                        *table["money"],
                        {"category": "all", **table["total_money"]},
                    ]
                ],
            )
        )
        page.notes.append(
            _(
                "Money is shown only for kinds of grievance with at least 10 cases "
                "that recovered money."
            )
        )


def _density_table(body: dict[str, Any], page: Page) -> None:
    rows = body.get("density")
    if rows is None:
        return
    page.tables.append(
        Table(
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
                    number(r["members"]),
                    number(r["headcount"]) if r["headcount"] else _("unknown"),
                    f"{r['density_percent']}%"
                    if r["density_percent"] is not None
                    else "",
                ]
                for r in rows
            ],
            raw_rows=[
                [r["workplace"], r["members"], r["headcount"], r["density_percent"]]
                for r in rows
            ],
        )
    )


def _breakdown_table(body: dict[str, Any], page: Page) -> None:
    breakdown = body.get("breakdown")
    if not breakdown:
        return
    names = [
        sector_name(r["label"]) if body["level"] == "union" else r["label"]
        for r in breakdown
    ]
    page.tables.append(
        Table(
            title=_("Answers by sector")
            if body["level"] == "union"
            else _("Answers by workplace"),
            columns=[_("Where"), _("People")],
            rows=[
                [name, cell_text(r)] for name, r in zip(names, breakdown, strict=True)
            ],
            raw_rows=[
                [name, cell_raw(r)] for name, r in zip(names, breakdown, strict=True)
            ],
        )
    )


def present(body: dict[str, Any]) -> Page:
    level = body["level"]
    scope_name = body.get("scope_name") or ""
    if level == "sector":
        scope_name = sector_name(body["scope"])
    elif level == "union":
        scope_name = str(LEVEL_NAMES["union"])
    page = Page(
        title=str(REPORT_TITLES[body["report"]]),
        scope_name=scope_name,
        tables=[],
        readings=[],
        chart=None,
        notes=[],
    )
    respondents = body["respondents"]
    if "n" in respondents:
        page.readings.append(
            _(
                "%(count)s members answered this round here.",
                count=number(respondents["n"]),
            )
        )
    else:
        page.readings.append(
            _(
                "Fewer than %(count)s members answered here, so most figures are not published.",
                count=min_count(),
            )
        )
    _breakdown_table(body, page)
    _distribution_tables(body, page)
    if body["report"] == "wages":
        _median_table(body, page, months=False)
        _spread_table(body, page)
    if body["report"] == "raises":
        _median_table(body, page, months=True)
    _funding_table(body, page)
    _grievance_tables(body, page)
    _density_table(body, page)
    return page
