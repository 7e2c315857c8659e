from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from union.db import database_integer
from union.forms.base import (
    BaseForm,
    MoneyField,
    PlainDateField,
    SearchForm,
    SelectChoice,
    WholeNumberField,
    choices,
    strip_filter,
)
from union.forms.workplaces import CheckboxListField
from union.i18n import _l
from union.labels import label
from union.models import (
    ContactPreference,
    GrievanceCategory,
    GrievanceOutcome,
    GrievanceStep,
    Member,
    User,
    Workplace,
)
from union.rules.grievance_steps import MAX_STEP_DAYS, OPEN_STEPS
from union.services.grievances import (
    Closing,
    GrievanceDetails,
    Problem,
)

#: Who the grievance is for: named members, or a group or policy grievance.
NAMED = "named"
GROUP = "group"


def _long_text(limit: int) -> Length:
    return Length(
        max=limit,
        message=_l("Keep this under %(limit)d characters.", limit=limit),
    )


class GrievanceDetailsForm(BaseForm):
    category = SelectField(_l("What is it about?"), choices=choices(GrievanceCategory))
    title = StringField(
        _l("Short title"),
        description=_l(
            "The grievants see this title. Keep names and private details out of it."
        ),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Give the case a short title.")),
            Length(max=200, message=_l("Keep this under 200 characters.")),
        ],
    )
    what_happened = TextAreaField(
        _l("What happened"),
        description=_l("Facts, dates and the part of the contract or law broken."),
        filters=[strip_filter],
        validators=[InputRequired(_l("Say what happened.")), _long_text(20000)],
        render_kw={"rows": 6},
    )
    remedy_sought = TextAreaField(
        _l("Remedy sought (optional)"),
        description=_l("What would put it right: back pay, a schedule change ..."),
        filters=[strip_filter],
        validators=[Optional(), _long_text(5000)],
        render_kw={"rows": 3},
    )
    incident_on = PlainDateField(
        _l("When it happened (optional)"), validators=[Optional()]
    )

    def details(self) -> GrievanceDetails:
        return GrievanceDetails(
            category=GrievanceCategory(self.category.data),
            title=self.title.data or "",
            what_happened=self.what_happened.data or "",
            remedy_sought=self.remedy_sought.data or "",
            incident_on=self.incident_on.data,
        )


class OpenGrievanceForm(GrievanceDetailsForm):
    who = RadioField(
        _l("Who is grieving?"),
        choices=[
            SelectChoice(NAMED, _l("One or more members, by name")),
            SelectChoice(GROUP, _l("A group or a policy grievance, with nobody named")),
        ],
        default=NAMED,
        validators=[InputRequired(_l("Choose who is grieving."))],
    )
    grievants = CheckboxListField(
        _l("Grievants"),
        description=_l("Members who work at this workplace now."),
        coerce=int,
        validate_choice=False,
    )
    steward = SelectField(
        _l("Steward following the case"),
        validate_choice=False,
        validators=[InputRequired(_l("Choose a steward."))],
    )

    def offer(
        self,
        members: Sequence[Member],
        stewards: Sequence[User],
        default_steward: User | None,
    ) -> None:
        self.grievants.choices = [
            SelectChoice(str(m.id), f"{m.chosen_name} (#{m.member_number})")
            for m in members
        ]
        self.steward.choices = [
            SelectChoice("", _l("Choose")),
            *[SelectChoice(str(s.id), s.display_name) for s in stewards],
        ]
        if not self.steward.data and default_steward is not None:
            self.steward.data = str(default_steward.id)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        if self.who.data == NAMED and not self.grievants.data:
            self.grievants.errors = [
                *self.grievants.errors,
                _l("Choose at least one grievant, or choose a group grievance."),
            ]
            valid = False
        return valid

    def grievant_ids(self) -> tuple[int, ...]:
        if self.who.data == GROUP:
            return ()
        return tuple(self.grievants.data or ())


class RaiseProblemForm(BaseForm):
    """A member raising a problem at work. Only shapes are checked here; the
    service checks the rest, so every message shows at once."""

    what_happened = TextAreaField(
        _l("What happened?"),
        description=_l(
            "In your own words: what happened, and what you would like to change. "
            "You do not have to say anything about your health or your past."
        ),
        render_kw={"rows": 6},
    )
    incident_on = PlainDateField(
        _l("When did it happen? (optional)"), validators=[Optional()]
    )
    workplace = RadioField(_l("Which workplace is it about?"), validate_choice=False)
    contact_preference = RadioField(
        _l("How would you like a steward to reach you?"),
        choices=choices(ContactPreference),
        validate_choice=False,
    )

    def offer(
        self, workplaces: Sequence[Workplace], reach_by: ContactPreference
    ) -> None:
        self.workplace.choices = [SelectChoice(str(w.id), w.name) for w in workplaces]
        if not self.is_submitted():
            if len(workplaces) == 1:
                self.workplace.data = str(workplaces[0].id)
            self.contact_preference.data = reach_by.value

    def problem(self) -> Problem:
        """What was sent, with anything unreadable left empty for the service to
        name."""
        try:
            reach_by: ContactPreference | None = ContactPreference(
                self.contact_preference.data
            )
        except ValueError:
            reach_by = None
        return Problem(
            what_happened=self.what_happened.data or "",
            workplace_id=database_integer(self.workplace.data),
            contact_preference=reach_by,
            incident_on=self.incident_on.data,
        )


class WorkplaceChoiceForm(SearchForm):
    workplace = SelectField(
        _l("Workplace"),
        validate_choice=False,
        validators=[InputRequired(_l("Choose a workplace."))],
    )

    def offer(self, workplaces: Sequence[Workplace]) -> None:
        self.workplace.choices = [
            SelectChoice("", _l("Choose")),
            *[SelectChoice(str(w.id), w.name) for w in workplaces],
        ]


class MoveForm(BaseForm):
    step = SelectField(
        _l("Move to"),
        validate_choice=False,
        validators=[InputRequired(_l("Choose the next step."))],
    )
    deadline_on = PlainDateField(
        _l("Deadline for that step (optional)"),
        description=_l("Leave empty to count the workplace's usual days."),
        validators=[Optional()],
    )

    def offer(self, steps: Sequence[GrievanceStep]) -> None:
        self.step.choices = [SelectChoice(s.value, label(s)) for s in steps]


class CloseForm(BaseForm):
    outcome = RadioField(
        _l("Outcome"), validators=[InputRequired(_l("Choose the outcome."))]
    )
    money_recovered = MoneyField(
        _l("Money recovered, in dollars (optional)"),
        description=_l("Back pay and any other money won."),
    )
    remedy_obtained = TextAreaField(
        _l("What was won"),
        description=_l("In plain words; needed when the case was won."),
        filters=[strip_filter],
        validators=[Optional(), _long_text(5000)],
        render_kw={"rows": 3},
    )

    def offer(self, outcomes: Sequence[GrievanceOutcome]) -> None:
        self.outcome.choices = [SelectChoice(o.value, label(o)) for o in outcomes]

    def closing(self) -> Closing:
        return Closing(
            outcome=GrievanceOutcome(self.outcome.data),
            money_recovered_cents=self.money_recovered.cents,
            remedy_obtained=self.remedy_obtained.data or "",
        )


class NoteForm(BaseForm):
    body = TextAreaField(
        _l("Add a confidential note"),
        description=_l(
            "Only stewards of this workplace and admins can read notes. "
            "Notes cannot be changed afterwards."
        ),
        filters=[strip_filter],
        validators=[InputRequired(_l("Write the note first.")), _long_text(10000)],
        render_kw={"rows": 4},
    )


class DocumentForm(BaseForm):
    file = FileField(
        _l("Add a document"),
        description=_l("A letter, pay stub or photo: PDF, PNG or JPEG."),
        validators=[FileRequired(_l("Choose a file."))],
        render_kw={
            "accept": ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"
        },
    )


class StewardChoiceForm(BaseForm):
    steward = SelectField(
        _l("Hand the case to"),
        validate_choice=False,
        validators=[InputRequired(_l("Choose a steward."))],
    )

    def offer(self, stewards: Sequence[User]) -> None:
        self.steward.choices = [
            SelectChoice("", _l("Choose")),
            *[SelectChoice(str(s.id), s.display_name) for s in stewards],
        ]


class GrievantForm(BaseForm):
    member = SelectField(
        _l("Add a grievant"),
        validate_choice=False,
        validators=[InputRequired(_l("Choose a member."))],
    )

    def offer(self, members: Sequence[Member]) -> None:
        self.member.choices = [
            SelectChoice("", _l("Choose")),
            *[
                SelectChoice(str(m.id), f"{m.chosen_name} (#{m.member_number})")
                for m in members
            ],
        ]


def _days_field(step: GrievanceStep) -> WholeNumberField:
    return WholeNumberField(
        label(step),
        # The service checks the range, naming it in its message.
        validators=[InputRequired(_l("Enter a number of days."))],
        render_kw={"min": 1, "max": MAX_STEP_DAYS, "inputmode": "numeric"},
    )


class StepDaysForm(BaseForm):
    """Days each open step lasts at one workplace."""

    intake = _days_field(GrievanceStep.INTAKE)
    step_1 = _days_field(GrievanceStep.STEP_1)
    step_2 = _days_field(GrievanceStep.STEP_2)
    arbitration = _days_field(GrievanceStep.ARBITRATION)

    def days(self) -> dict[GrievanceStep, int]:
        return {step: int(self[step.value].data or 0) for step in OPEN_STEPS}


STATE_OPEN = "open"
STATE_CLOSED = "closed"


class CaseSearchForm(SearchForm):
    q = StringField(
        _l("Title or grievant"),
        description=_l(
            "Words from the case title, or a grievant's name or member number."
        ),
        filters=[strip_filter],
    )
    number = StringField(_l("Case number"), filters=[strip_filter])
    state = SelectField(
        _l("Open or closed"),
        choices=[
            SelectChoice("", _l("Open and closed")),
            SelectChoice(STATE_OPEN, _l("Open")),
            SelectChoice(STATE_CLOSED, _l("Closed")),
        ],
        validators=[Optional()],
    )
    step = SelectField(
        _l("Step"),
        choices=[SelectChoice("", _l("Any step")), *choices(GrievanceStep)],
        validators=[Optional()],
    )
    workplace = SelectField(
        _l("Workplace"), validate_choice=False, validators=[Optional()]
    )
