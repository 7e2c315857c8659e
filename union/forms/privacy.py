"""Forms for members' privacy rights, the breach register and the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wtforms import (
    BooleanField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from union.forms.base import (
    BaseForm,
    PlainDateField,
    SearchForm,
    SelectChoice,
    WholeNumberField,
    strip_filter,
)
from union.i18n import _, _l
from union.models import CorrectionStatus
from union.services.audit import SUBJECT_TYPES


class CorrectionForm(BaseForm):
    details = TextAreaField(
        _l("What is wrong, and what should it say?"),
        description=_l(
            "For example: \u201cMy job is listed as kit maker; I am an outreach "
            "worker.\u201d An admin answers within 30 days."
        ),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Tell us what is wrong and what it should say.")),
            Length(max=2000, message=_l("Keep this under 2,000 characters.")),
        ],
        render_kw={"rows": 4},
    )


class ResolveCorrectionForm(BaseForm):
    status = RadioField(
        _l("Answer"),
        choices=[
            SelectChoice(CorrectionStatus.CORRECTED.value, _l("Corrected as asked")),
            SelectChoice(
                CorrectionStatus.DECLINED.value, _l("Not changed (say why below)")
            ),
        ],
        validators=[InputRequired(_l("Choose an answer."))],
    )
    response = TextAreaField(
        _l("Message to the member"),
        description=_l("They see this on their page. Needed when nothing changes."),
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=2000, message=_l("Keep this under 2,000 characters.")),
        ],
        render_kw={"rows": 3},
    )


class LeaveForm(BaseForm):
    password = PasswordField(
        _l("Your password"),
        description=_l("To be sure it is you."),
        validators=[InputRequired(_l("Enter your password."))],
    )
    understood = BooleanField(
        _l("I understand this cannot be undone."),
        validators=[InputRequired(_l("Tick the box to say you understand."))],
    )


class EraseMemberForm(BaseForm):
    understood = BooleanField(
        _l("The member asked for this, and I understand it cannot be undone."),
        validators=[InputRequired(_l("Tick the box to confirm."))],
    )


class BreachForm(BaseForm):
    discovered_on = PlainDateField(
        _l("Found on"), validators=[InputRequired(_l("Enter the date it was found."))]
    )
    occurred_on = PlainDateField(_l("Happened on (if known)"), validators=[Optional()])
    description = TextAreaField(
        _l("What happened"),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Describe what happened.")),
            Length(max=10000, message=_l("Keep this under 10,000 characters.")),
        ],
        render_kw={"rows": 5},
    )
    data_affected = TextAreaField(
        _l("Personal information involved"),
        description=_l(
            "Kinds of information, e.g. names and phone numbers of members."
        ),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Say which kinds of personal information were involved.")),
            Length(max=5000, message=_l("Keep this under 5,000 characters.")),
        ],
        render_kw={"rows": 3},
    )
    people_affected = WholeNumberField(
        _l("How many people"),
        description=_l("An estimate if the exact number is not known."),
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(min=0, max=10_000_000, message=_l("Enter 0 or more.")),
        ],
    )
    real_risk_of_significant_harm = BooleanField(
        _l("It creates a real risk of significant harm"),
        description=_l(
            "Then the Privacy Commissioner must be told, and so must the people "
            "affected, as soon as possible."
        ),
    )
    individuals_notified_on = PlainDateField(
        _l("People affected told on"), validators=[Optional()]
    )
    commissioner_reported_on = PlainDateField(
        _l("Reported to the Privacy Commissioner on"), validators=[Optional()]
    )
    measures = TextAreaField(
        _l("What was done about it"),
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=10000, message=_l("Keep this under 10,000 characters.")),
        ],
        render_kw={"rows": 4},
    )


class AuditFilterForm(SearchForm):
    """The audit log's filters. Whose lines and what they are about are set by
    following a link in the log, so they travel as hidden fields. The view gives
    `action` its choices, which are worded for the reader."""

    action = SelectField(_l("What happened"), validators=[Optional()])
    member = WholeNumberField(
        _l("About member number"),
        validators=[
            Optional(),
            NumberRange(
                min=1,
                max=2**31 - 1,
                message=_l("Member numbers are whole numbers, like 1061."),
            ),
        ],
    )
    from_day = PlainDateField(_l("From"), validators=[Optional()])
    to_day = PlainDateField(_l("To"), validators=[Optional()])
    actor = WholeNumberField(
        widget=HiddenInput(),
        validators=[Optional(), NumberRange(min=1, max=2**31 - 1)],
    )
    subject_type = StringField(
        widget=HiddenInput(),
        filters=[strip_filter],
        validators=[Optional(), AnyOf(SUBJECT_TYPES)],
    )
    subject_id = StringField(
        widget=HiddenInput(),
        filters=[strip_filter],
        validators=[Optional(), Length(max=64)],
    )

    def validate(self, extra_validators: Mapping[str, Any] | None = None) -> bool:
        valid = bool(super().validate(extra_validators))
        if self.action.errors:
            self.action.errors = [_("Choose from the list.")]
        if (
            self.from_day.data
            and self.to_day.data
            and not self.from_day.errors
            and not self.to_day.errors
            and self.to_day.data < self.from_day.data
        ):
            self.to_day.errors = [_("This day is before the first day.")]
            valid = False
        return valid

    def link_problems(self) -> list[str]:
        """What was wrong with the hidden filters, in plain words: they come from
        a link, so there is no field to show the problem beside."""
        problems = []
        if self.actor.errors:
            problems.append(
                _("The link named no account we know, so everyone's lines are shown.")
            )
        if self.subject_type.errors or self.subject_id.errors:
            problems.append(
                _(
                    "The link named nothing the log knows, so lines about "
                    "everything are shown."
                )
            )
        return problems
