from __future__ import annotations

from collections.abc import Sequence

from wtforms import (
    BooleanField,
    EmailField,
    RadioField,
    SelectField,
    StringField,
    TelField,
)
from wtforms.validators import Email, InputRequired, Length, Optional

from union.db import database_integer
from union.forms.base import (
    BaseForm,
    OrderLabels,
    PlainDateField,
    SearchForm,
    SelectChoice,
    SortField,
    choices,
    chosen,
    strip_filter,
)
from union.forms.dues import level_choices
from union.forms.workplaces import job_choices
from union.i18n import _l
from union.models import (
    ContactPreference,
    JobClassification,
    MembershipClass,
    MemberStatus,
    Workplace,
)
from union.services.dues import LevelOffer
from union.services.members import JoinApplication, NewWorkplace, PersonalDetails

NOT_LISTED = "not-listed"


class PersonalDetailsForm(BaseForm):
    chosen_name = StringField(
        _l("Your name"),
        description=_l("The name you go by. It does not have to be your legal name."),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Tell us what to call you.")),
            Length(max=100, message=_l("Keep this under 100 characters.")),
        ],
    )
    legal_name = StringField(
        _l("Legal name (optional)"),
        description=_l("Only if it differs and you want the union to have it."),
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=200, message=_l("Keep this under 200 characters.")),
        ],
    )
    pronouns = StringField(
        _l("Pronouns (optional)"),
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=40, message=_l("Keep this under 40 characters.")),
        ],
    )
    phone = TelField(
        _l("Phone (optional)"),
        description=_l("Needed only if you want texts or calls."),
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=30, message=_l("Keep this under 30 characters.")),
        ],
    )
    contact_preference = RadioField(
        _l("How should the union reach you?"),
        choices=choices(ContactPreference),
        default=ContactPreference.EMAIL.value,
        validators=[InputRequired(_l("Choose how we should reach you."))],
    )
    membership_class = RadioField(
        _l("Right now, are you"),
        choices=choices(MembershipClass),
        default=MembershipClass.EMPLOYED.value,
        validators=[InputRequired(_l("Choose one."))],
    )

    def details(self) -> PersonalDetails:
        # A choice the field refused stands in as its default: the field already
        # says what is wrong, and the service can still check everything else.
        return PersonalDetails(
            chosen_name=self.chosen_name.data or "",
            legal_name=self.legal_name.data,
            pronouns=self.pronouns.data,
            phone=self.phone.data,
            contact_preference=chosen(ContactPreference, self.contact_preference.data)
            or ContactPreference.EMAIL,
            membership_class=chosen(MembershipClass, self.membership_class.data)
            or MembershipClass.EMPLOYED,
        )


class JoinForm(PersonalDetailsForm):
    email = EmailField(
        _l("Email"),
        description=_l("We send one link here to finish joining. We never share it."),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Enter your email.")),
            Email(_l("Enter an email address like name@example.org.")),
            Length(max=254, message=_l("That email is too long.")),
        ],
    )
    workplace = SelectField(
        _l("Where do you work?"), validate_choice=False, validators=[Optional()]
    )
    new_employer = StringField(
        _l("Employer"),
        description=_l("Only if your workplace isn't listed."),
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=200, message=_l("Keep this under 200 characters.")),
        ],
    )
    new_site = StringField(
        _l("Site or program (optional)"),
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=200, message=_l("Keep this under 200 characters.")),
        ],
    )
    classification = SelectField(
        _l("Your job"), validate_choice=False, validators=[Optional()]
    )
    #: Asked here, so that a member's consent to messages has its date and
    #: source from the start; nothing is ticked for them.
    messages_by_email = BooleanField(
        _l("Union messages by email"),
        description=_l("About meetings, votes and campaigns."),
    )
    messages_by_text = BooleanField(
        _l("Union messages by text message"),
        description=_l("Only if you gave us a mobile number."),
    )
    dues_level = RadioField(
        _l("Your dues"),
        description=_l(
            "Pick the line that fits your monthly income. We keep only the level "
            "you pick, never your income, and nobody checks."
        ),
        validators=[InputRequired(_l("Choose a dues level."))],
    )

    def offer(
        self,
        workplaces: Sequence[Workplace],
        classifications: Sequence[JobClassification],
        levels: Sequence[LevelOffer],
    ) -> None:
        self.workplace.choices = [
            SelectChoice("", _l("Choose your workplace")),
            *[SelectChoice(str(w.id), w.name) for w in workplaces],
            SelectChoice(NOT_LISTED, _l("My workplace isn't listed")),
        ]
        self.classification.choices = [
            SelectChoice("", _l("Choose your job")),
            *job_choices(classifications),
        ]
        self.dues_level.choices = level_choices(levels)

    def application(self, language: str) -> JoinApplication:
        """What was typed, as an application for the service to check. A choice
        the form refused counts as no choice, so this holds even when the form
        itself found problems."""
        new_workplace = None
        if self.workplace.data == NOT_LISTED:
            new_workplace = NewWorkplace(
                self.new_employer.data or "", self.new_site.data or ""
            )
        return JoinApplication(
            details=self.details(),
            email=self.email.data or "",
            dues_level_id=database_integer(self.dues_level.data),
            workplace_id=database_integer(self.workplace.data),
            new_workplace=new_workplace,
            classification_id=database_integer(self.classification.data),
            language=language,
            message_consent=tuple(
                channel
                for channel, ticked in (
                    ("email", self.messages_by_email.data),
                    ("text", self.messages_by_text.data),
                )
                if ticked
            ),
        )


class ProfileForm(PersonalDetailsForm):
    pass


class StatusForm(BaseForm):
    status = SelectField(_l("New status"), choices=choices(MemberStatus))


class EmploymentForm(BaseForm):
    workplace = SelectField(
        _l("Workplace"),
        validate_choice=False,
        validators=[InputRequired(_l("Choose a workplace."))],
    )
    classification = SelectField(
        _l("Job"), validate_choice=False, validators=[Optional()]
    )
    started_on = PlainDateField(
        _l("Started on (optional)"),
        validators=[Optional()],
        render_kw={"autocomplete": "off"},
    )

    def offer(
        self,
        workplaces: Sequence[Workplace],
        classifications: Sequence[JobClassification],
    ) -> None:
        self.workplace.choices = [
            SelectChoice("", _l("Choose")),
            *[SelectChoice(str(w.id), w.name) for w in workplaces],
        ]
        self.classification.choices = [
            SelectChoice("", _l("Not known")),
            *job_choices(classifications),
        ]


class EndEmploymentForm(BaseForm):
    ended_on = PlainDateField(
        _l("Last day"), validators=[InputRequired(_l("Enter the last day worked."))]
    )


class RosterSearchForm(SearchForm):
    q = StringField(_l("Name or member number"), filters=[strip_filter])
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("Any status")), *choices(MemberStatus)],
        validators=[Optional()],
    )
    workplace = SelectField(
        _l("Workplace"), validate_choice=False, validators=[Optional()]
    )
    sort = SortField()


ROSTER_ORDERS: OrderLabels = {
    "name": (_l("Name, A to Z"), _l("Name, Z to A")),
    "number": (_l("Member number, lowest first"), _l("Member number, highest first")),
    "joined": (_l("Longest a member first"), _l("Newest members first")),
}
