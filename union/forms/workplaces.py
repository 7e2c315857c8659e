from __future__ import annotations

from collections.abc import Sequence

from wtforms import (
    BooleanField,
    SelectField,
    SelectMultipleField,
    StringField,
    widgets,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from union.forms.base import (
    BaseForm,
    MoneyField,
    OrderLabels,
    PlainDateField,
    SelectChoice,
    WholeNumberField,
    choices,
    strip_filter,
)
from union.forms.dues import french_field
from union.i18n import _l, collation_key, current_language
from union.models import BargainingStatus, JobClassification, Sector, User, Workplace

WORKPLACE_ORDERS: OrderLabels = {
    "name": (_l("Name, A to Z"), _l("Name, Z to A")),
    "members": (_l("Fewest members first"), _l("Most members first")),
    "headcount": (_l("Fewest workers first"), _l("Most workers first")),
    "density": (_l("Lowest density first"), _l("Highest density first")),
    "precarious": (
        _l("Fewest precarious positions first"),
        _l("Most precarious positions first"),
    ),
    "contract": (_l("Contract ending soonest first"), _l("Contract ending last first")),
}


def job_choices(classifications: Sequence[JobClassification]) -> list[SelectChoice]:
    """Each job by its title in the reader's language, in that language's order."""
    language = current_language()
    named = [(c.name_for(language), c) for c in classifications]
    return [
        SelectChoice(str(c.id), name)
        for name, c in sorted(named, key=lambda pair: collation_key(pair[0]))
    ]


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class WorkplaceForm(BaseForm):
    employer = StringField(
        _l("Employer"),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Enter the employer's name.")),
            Length(max=200, message=_l("Keep this under 200 characters.")),
        ],
    )
    site = StringField(
        _l("Site or program (optional)"),
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=200, message=_l("Keep this under 200 characters.")),
        ],
    )
    sector = SelectField(_l("Sector"), choices=choices(Sector))
    bargaining_status = SelectField(
        _l("Bargaining status"), choices=choices(BargainingStatus)
    )
    contract_expires_on = PlainDateField(
        _l("Contract expires (optional)"), validators=[Optional()]
    )
    estimated_headcount = WholeNumberField(
        _l("Estimated number of workers (optional)"),
        description=_l("Used to work out union density: members per worker."),
        validators=[
            Optional(),
            NumberRange(
                min=0, max=100000, message=_l("Enter a number from 0 to 100,000.")
            ),
        ],
    )
    listed_on_join = BooleanField(
        _l("Show on the public join form"),
        description=_l("Turn this off while a campaign must stay quiet."),
        default=True,
    )
    classification_ids = CheckboxListField(_l("Jobs at this workplace"), coerce=int)

    def offer(self, classifications: Sequence[JobClassification]) -> None:
        self.classification_ids.choices = job_choices(classifications)


class FundingForm(BaseForm):
    funder = StringField(
        _l("Funder"),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Enter who funds this.")),
            Length(max=200, message=_l("Keep this under 200 characters.")),
        ],
    )
    program = StringField(
        _l("Program or grant (optional)"),
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=200, message=_l("Keep this under 200 characters.")),
        ],
    )
    amount = MoneyField(_l("Total amount in dollars (optional)"))
    starts_on = PlainDateField(_l("Starts (optional)"), validators=[Optional()])
    ends_on = PlainDateField(
        _l("Ends (optional)"),
        description=_l("Leave empty for ongoing funding."),
        validators=[Optional()],
    )
    positions_funded = WholeNumberField(
        _l("Positions it pays for"),
        default=0,
        validators=[
            InputRequired(_l("Enter a number, 0 if none.")),
            NumberRange(
                min=0, max=10000, message=_l("Enter a number from 0 to 10,000.")
            ),
        ],
    )


class StewardForm(BaseForm):
    steward = SelectField(
        _l("Steward"),
        validate_choice=False,
        validators=[InputRequired(_l("Choose a steward."))],
    )

    def offer(self, stewards: Sequence[User]) -> None:
        self.steward.choices = [
            SelectChoice("", _l("Choose")),
            *[
                SelectChoice(str(s.id), f"{s.display_name} ({s.email})")
                for s in stewards
            ],
        ]


class MergeForm(BaseForm):
    into = SelectField(
        _l("Same workplace as"),
        validate_choice=False,
        validators=[InputRequired(_l("Choose a workplace."))],
    )

    def offer(self, workplaces: Sequence[Workplace]) -> None:
        self.into.choices = [
            SelectChoice("", _l("Choose")),
            *[SelectChoice(str(w.id), w.name) for w in workplaces],
        ]


class ClassificationForm(BaseForm):
    name = StringField(
        _l("Job name"),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Enter a name.")),
            Length(max=80, message=_l("Keep this under 80 characters.")),
        ],
    )
    name_fr = french_field(_l("Job name in French (optional)"), 80)
