"""Forms for members' privacy rights, the breach register and the audit log."""

from __future__ import annotations

from wtforms import BooleanField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from union.forms.base import (
    BaseForm,
    PlainDateField,
    SearchForm,
    SelectChoice,
    WholeNumberField,
    strip_filter,
)
from union.i18n import _l
from union.models import CorrectionStatus


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
    action = StringField(
        _l("Action"),
        description=_l("Or its start, e.g. \u201cgrievance.\u201d"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=64)],
    )
    actor = WholeNumberField(
        _l("Account number"),
        validators=[Optional(), NumberRange(min=1, max=2**31 - 1)],
    )
    subject_type = StringField(
        _l("About (kind)"),
        description=_l("e.g. member, grievance, user"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=32)],
    )
    subject_id = StringField(
        _l("About (number)"),
        filters=[strip_filter],
        validators=[Optional(), Length(max=64)],
    )
    from_day = PlainDateField(_l("From"), validators=[Optional()])
    to_day = PlainDateField(_l("To"), validators=[Optional()])
