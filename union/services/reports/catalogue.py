"""The report catalogue: one entry per report, saying where it is published, what
it counts, what it adds to an artifact and how its page shows it.

Adding a report is adding an entry here (and its wording in French). Everything
an entry publishes goes through the round's protection in building.py: the
counts of its questions are protected together with every other count of the
round, and its medians against every other median.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import LazyString

from union.i18n import _l
from union.models import EmploymentType, SurveyAnswer, YesNoUnsure
from union.services.reports import presenting
from union.services.reports.artifact import (
    LEVELS,
    Level,
    Place,
    Sections,
)
from union.services.reports.counting import (
    Answer,
    Question,
    one_of,
    some_days,
    yes_no,
)
from union.services.reports.medians import MedianColumn, median_rows, spread

if TYPE_CHECKING:
    from union.services.reports.building import RoundFigures


class ReportName(enum.StrEnum):
    """Every report's name, as artifacts store it and its address reads."""

    RESPONDENTS = "respondents"
    WAGES = "wages"
    BENEFITS = "benefits"
    RAISES = "raises"
    FUNDING = "funding"
    SOCIAL_ASSISTANCE = "social_assistance"
    DISCRIMINATION = "discrimination"
    GRIEVANCES = "grievances"
    DENSITY = "density"
    HOURS = "hours"


#: Adds a report's own sections to the body of one place's artifact.
Builder = Callable[["RoundFigures", Place], Sections]


def _nothing(_figures: RoundFigures, _place: Place) -> Sections:
    return {}


@dataclass(frozen=True, slots=True)
class Report:
    name: ReportName
    title: LazyString
    levels: tuple[Level, ...]
    #: Its survey questions, counted by category (see counting.COUNT_LEVELS).
    questions: tuple[Question, ...] = ()
    #: The answer column whose medians it publishes.
    medians: MedianColumn | None = None
    build: Builder = _nothing
    #: The sections of its page, in order.
    sections: tuple[presenting.Section, ...] = ()


HOURLY_WAGE = MedianColumn(3, SurveyAnswer.hourly_wage_cents, by_job=True)
MONTHS_SINCE_RAISE = MedianColumn(
    9, SurveyAnswer.months_since_raise, by_job=False, scale=100
)


def _raise_bands() -> tuple[Answer, ...]:
    months = SurveyAnswer.months_since_raise
    never = SurveyAnswer.never_had_raise
    had_one = sa.or_(never.is_(None), never.is_(False))
    return (
        Answer("under_12", _l("Less than a year ago"), sa.and_(had_one, months < 12)),
        Answer(
            "12_to_23",
            _l("One to two years ago"),
            sa.and_(had_one, months >= 12, months < 24),
        ),
        Answer(
            "24_or_more", _l("Two years ago or more"), sa.and_(had_one, months >= 24)
        ),
        Answer("never", _l("Never had a raise there"), never.is_(True)),
    )


def _breakdown(figures: RoundFigures, place: Place) -> Sections:
    if place.level is Level.WORKPLACE:
        return {}
    return {"breakdown": figures.breakdown(place)}


def _wages(figures: RoundFigures, place: Place) -> Sections:
    published = figures.median_figures[HOURLY_WAGE.number]
    sections: Sections = {
        "medians": median_rows(
            published,
            HOURLY_WAGE,
            place,
            figures.job_names,
            jobs=figures.jobs_shown.get(place, ()),
        )
    }
    if place.level is Level.UNION:
        sections["spread"] = spread(
            published, figures.classifications, figures.workplace_names
        )
    return sections


def _raises(figures: RoundFigures, place: Place) -> Sections:
    published = figures.median_figures[MONTHS_SINCE_RAISE.number]
    return {"medians": median_rows(published, MONTHS_SINCE_RAISE, place, {})}


def _funding(figures: RoundFigures, place: Place) -> Sections:
    return {"funding": figures.funding[place]}


def _grievances(figures: RoundFigures, _place: Place) -> Sections:
    return {"grievances": figures.grievances}


def _density(figures: RoundFigures, place: Place) -> Sections:
    return {
        "density": [
            row
            for row in figures.density
            if place.level is Level.UNION or row["sector"] == place.scope
        ]
    }


def _dangerous(name: ReportName, title: LazyString, question: Question) -> Report:
    """A report of one answer that could cost a member their job: released only
    with differential privacy (noisy.py), union-wide and by sector."""
    return Report(
        name,
        title,
        (Level.UNION, Level.SECTOR),
        questions=(question,),
        sections=(presenting.noisy_distributions,),
    )


CATALOGUE: tuple[Report, ...] = (
    Report(
        ReportName.RESPONDENTS,
        _l("Who answered"),
        LEVELS,
        questions=(
            Question(
                "employment_type",
                _l("Kind of job"),
                one_of(
                    SurveyAnswer.employment_type,
                    {
                        EmploymentType.PERMANENT_FULL_TIME: _l("Permanent, full time"),
                        EmploymentType.PERMANENT_PART_TIME: _l("Permanent, part time"),
                        EmploymentType.CASUAL: _l("Casual or on call"),
                        EmploymentType.TEMPORARY: _l("Temporary or contract"),
                    },
                ),
            ),
        ),
        build=_breakdown,
        sections=(presenting.breakdown, presenting.distributions),
    ),
    Report(
        ReportName.WAGES,
        _l("Hourly wages by job"),
        LEVELS,
        medians=HOURLY_WAGE,
        build=_wages,
        sections=(presenting.wage_medians, presenting.wage_spread),
    ),
    Report(
        ReportName.BENEFITS,
        _l("Benefits, sick days and vacation"),
        (Level.UNION, Level.SECTOR),
        questions=(
            Question(
                "health_benefits",
                _l("Health benefits"),
                yes_no(SurveyAnswer.health_benefits),
            ),
            Question(
                "dental_benefits",
                _l("Dental benefits"),
                yes_no(SurveyAnswer.dental_benefits),
            ),
            Question(
                "paid_sick_days",
                _l("Paid sick days"),
                some_days(SurveyAnswer.paid_sick_days),
            ),
            Question(
                "paid_vacation",
                _l("Paid vacation"),
                some_days(SurveyAnswer.vacation_days),
            ),
        ),
        sections=(presenting.distributions,),
    ),
    Report(
        ReportName.HOURS,
        _l("Hours of work"),
        (Level.UNION, Level.SECTOR),
        questions=(
            Question(
                "weekly_hours",
                _l("Hours in a usual week"),
                (
                    Answer(
                        "under_15", _l("Fewer than 15"), SurveyAnswer.weekly_hours < 15
                    ),
                    # Under 30 hours is part time, as Statistics Canada counts it.
                    Answer(
                        "15_to_29",
                        _l("15 to 29"),
                        SurveyAnswer.weekly_hours.between(15, 29),
                    ),
                    Answer(
                        "30_to_39",
                        _l("30 to 39"),
                        SurveyAnswer.weekly_hours.between(30, 39),
                    ),
                    Answer(
                        "40_or_more", _l("40 or more"), SurveyAnswer.weekly_hours >= 40
                    ),
                ),
            ),
        ),
        sections=(presenting.distributions,),
    ),
    Report(
        ReportName.RAISES,
        _l("Time since the last raise"),
        LEVELS,
        questions=(Question("last_raise", _l("Last raise"), _raise_bands()),),
        medians=MONTHS_SINCE_RAISE,
        build=_raises,
        sections=(presenting.distributions, presenting.raise_medians),
    ),
    Report(
        ReportName.FUNDING,
        _l("Grant funding and funding ending soon"),
        LEVELS,
        questions=(
            Question(
                "grant_funded",
                _l("Position paid by a grant"),
                one_of(
                    SurveyAnswer.grant_funded,
                    {
                        YesNoUnsure.YES: _l("Yes"),
                        YesNoUnsure.NO: _l("No"),
                        YesNoUnsure.NOT_SURE: _l("Not sure"),
                    },
                ),
            ),
        ),
        build=_funding,
        sections=(presenting.distributions, presenting.funding),
    ),
    _dangerous(
        ReportName.SOCIAL_ASSISTANCE,
        _l("Relying on social assistance for benefits"),
        Question(
            "relies_on_social_assistance",
            _l("Relies on social assistance for benefits"),
            yes_no(SurveyAnswer.relies_on_social_assistance),
            sensitive=True,
        ),
    ),
    _dangerous(
        ReportName.DISCRIMINATION,
        _l("Discrimination for lived experience"),
        Question(
            "discrimination_lived_experience",
            _l("Treated worse at work for lived experience"),
            yes_no(SurveyAnswer.discrimination_lived_experience),
            sensitive=True,
        ),
    ),
    Report(
        ReportName.GRIEVANCES,
        _l("Grievances by kind and outcome"),
        # Per sector or workplace, small counts could point at the people who
        # filed, and would suppress one another across three dimensions.
        (Level.UNION,),
        build=_grievances,
        sections=(presenting.grievances,),
    ),
    Report(
        ReportName.DENSITY,
        _l("Membership density by workplace"),
        (Level.UNION, Level.SECTOR),
        build=_density,
        sections=(presenting.density,),
    ),
)

BY_NAME = {report.name: report for report in CATALOGUE}


def entry(name: str) -> Report | None:
    try:
        return BY_NAME[ReportName(name)]
    except ValueError:
        return None


def questions() -> list[Question]:
    return [question for report in CATALOGUE for question in report.questions]


def sensitive_questions() -> list[Question]:
    return [question for question in questions() if question.sensitive]


def median_columns() -> dict[int, MedianColumn]:
    return {r.medians.number: r.medians for r in CATALOGUE if r.medians is not None}


def reports_with_medians() -> list[str]:
    return [r.name.value for r in CATALOGUE if r.medians is not None]
