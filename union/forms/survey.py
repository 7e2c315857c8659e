"""The working-conditions survey form and the organizers' round form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wtforms import RadioField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from union.db import database_integer
from union.forms.base import (
    BaseForm,
    MoneyField,
    SelectChoice,
    WholeNumberField,
    chosen,
    strip_filter,
)
from union.forms.workplaces import job_choices
from union.i18n import _l
from union.models import EmploymentType, JobClassification, Workplace, YesNoUnsure
from union.services.survey import Answers

YES_NO = [SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))]
SKIP = SelectChoice("", _l("I'd rather not say"))
WAGE_MESSAGE = _l("Enter an hourly wage between $5.00 and $200.00, or leave it empty.")


class WageField(MoneyField):
    """An hourly wage: anything that is not one gets the same plain range message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValidationError as error:
            raise ValidationError(WAGE_MESSAGE) from error


def yes_no(label: str, description: str = "") -> RadioField:
    return RadioField(
        label,
        choices=[*YES_NO, SKIP],
        default="",
        validators=[Optional()],
        description=description,
    )


def days_field(label: str) -> WholeNumberField:
    return WholeNumberField(
        label,
        description=_l("A number of days a year. Leave empty to skip."),
        validators=[Optional()],
    )


class SurveyForm(BaseForm):
    workplace_id = SelectField(
        _l("Where do you work?"),
        validators=[InputRequired(_l("Choose the workplace you work at."))],
    )
    classification_id = SelectField(
        _l("Which job is closest to yours?"),
        validators=[InputRequired(_l("Choose the job closest to yours."))],
    )
    employment_type = RadioField(
        _l("What kind of job is it?"),
        choices=[
            SelectChoice(
                EmploymentType.PERMANENT_FULL_TIME.value, _l("Permanent, full time")
            ),
            SelectChoice(
                EmploymentType.PERMANENT_PART_TIME.value, _l("Permanent, part time")
            ),
            SelectChoice(EmploymentType.CASUAL.value, _l("Casual or on call")),
            SelectChoice(EmploymentType.TEMPORARY.value, _l("Temporary or contract")),
            SKIP,
        ],
        default="",
        validators=[Optional()],
    )
    hourly_wage = WageField(
        _l("Your hourly wage before deductions"),
        description=_l("In dollars, like 24.50. Leave empty to skip."),
        validators=[Optional()],
    )
    weekly_hours = WholeNumberField(
        _l("Hours you usually work in a week"),
        description=_l("Leave empty to skip."),
        validators=[Optional()],
    )
    health_benefits = yes_no(_l("Do you get health benefits through this job?"))
    dental_benefits = yes_no(_l("Do you get dental benefits through this job?"))
    paid_sick_days = days_field(_l("Paid sick days a year"))
    vacation_days = days_field(_l("Paid vacation days a year"))
    months_since_raise = WholeNumberField(
        _l("Months since your last raise there"),
        description=_l("Leave empty to skip, or if you have never had one there."),
        validators=[Optional()],
    )
    never_had_raise = yes_no(_l("Have you ever had a raise there?"))
    grant_funded = RadioField(
        _l("Is your position paid for by a grant?"),
        description=_l("A grant or project funding that ends on a set date."),
        choices=[
            SelectChoice(YesNoUnsure.YES.value, _l("Yes")),
            SelectChoice(YesNoUnsure.NO.value, _l("No")),
            SelectChoice(YesNoUnsure.NOT_SURE.value, _l("Not sure")),
            SKIP,
        ],
        default="",
        validators=[Optional()],
    )
    relies_on_social_assistance = yes_no(
        _l("Do you rely on social assistance for health or drug benefits?"),
        _l("For example, because this job's benefits do not cover you."),
    )
    discrimination_lived_experience = yes_no(
        _l("Have you been treated worse at work because of your lived experience?"),
        _l("For example, passed over, paid less or disciplined more."),
    )

    def answers(self) -> Answers:
        """The answers as typed. A value a field refused counts as skipped, so the
        service can check the rest even when the form found problems."""
        had_raise = _yes_no(self.never_had_raise.data)
        return Answers(
            workplace_id=_chosen_id(self.workplace_id.data),
            classification_id=_chosen_id(self.classification_id.data),
            employment_type=chosen(EmploymentType, self.employment_type.data),
            hourly_wage_cents=self.hourly_wage.cents,
            weekly_hours=self.weekly_hours.data,
            health_benefits=_yes_no(self.health_benefits.data),
            dental_benefits=_yes_no(self.dental_benefits.data),
            paid_sick_days=self.paid_sick_days.data,
            vacation_days=self.vacation_days.data,
            months_since_raise=self.months_since_raise.data,
            never_had_raise=None if had_raise is None else not had_raise,
            grant_funded=chosen(YesNoUnsure, self.grant_funded.data),
            relies_on_social_assistance=_yes_no(self.relies_on_social_assistance.data),
            discrimination_lived_experience=_yes_no(
                self.discrimination_lived_experience.data
            ),
        )

    def offer(
        self,
        workplaces: Sequence[Workplace],
        classifications: Sequence[JobClassification],
    ) -> None:
        self.workplace_id.choices = [SelectChoice("", _l("Choose a workplace"))] + [
            SelectChoice(str(w.id), w.name) for w in workplaces
        ]
        self.classification_id.choices = [
            SelectChoice("", _l("Choose a job")),
            *job_choices(classifications),
        ]


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def _chosen_id(value: str | None) -> int | None:
    """A select box's id, or None for no choice or anything that is not an id."""
    return database_integer(value)


class RoundForm(BaseForm):
    name = StringField(
        _l("Name of the round"),
        description=_l("Members see it, for example: Spring 2027."),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Give the round a name, such as Spring 2027.")),
            Length(max=120, message=_l("Keep this under 120 characters.")),
        ],
    )
