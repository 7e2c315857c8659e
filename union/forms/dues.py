from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wtforms import RadioField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from union.forms.base import (
    BaseForm,
    MoneyField,
    MonthField,
    OrderLabels,
    PlainDateField,
    SearchForm,
    SelectChoice,
    SortField,
    WholeNumberField,
    choices,
    strip_filter,
)
from union.i18n import _l, current_language, format_money
from union.models import HAND_METHODS, PaymentMethod, WaiverReason
from union.services.dues import LevelOffer, LevelWording
from union.services.ledger import MAX_MONTHS_PER_PAYMENT

HAND_METHOD_VALUES = {method.value for method in HAND_METHODS}


def month_choices(most: int) -> list[SelectChoice]:
    return [
        SelectChoice(str(n), _l("%(num)d months", num=n) if n > 1 else _l("1 month"))
        for n in range(1, most + 1)
    ]


def level_choices(levels: Sequence[LevelOffer]) -> list[SelectChoice]:
    """Each level as its monthly amount and who it is for, in the reader's language."""
    language = current_language()
    return [
        SelectChoice(
            str(level.id),
            _l(
                "%(amount)s a month: %(bracket)s",
                amount=format_money(level.monthly_cents),
                bracket=level.bracket_for(language),
            ),
        )
        for level in levels
    ]


class CardPaymentForm(BaseForm):
    months = SelectField(_l("How many months?"), choices=month_choices(12), default="1")


class LevelChangeForm(BaseForm):
    dues_level = RadioField(
        _l("Your dues level"),
        description=_l("The new level starts next month. Nobody checks your income."),
        validators=[InputRequired(_l("Choose a dues level."))],
    )


class WaiverForm(BaseForm):
    reason = RadioField(
        _l("What makes paying hard right now?"),
        description=_l(
            "Only the treasurer sees this, under a case number, not your name."
        ),
        choices=choices(WaiverReason),
        validators=[InputRequired(_l("Choose the closest reason."))],
    )
    first_month = MonthField(
        _l("From month"), validators=[InputRequired(_l("Enter the first month."))]
    )
    last_month = MonthField(
        _l("To month"), validators=[InputRequired(_l("Enter the last month."))]
    )


class HandPaymentForm(BaseForm):
    method = RadioField(
        _l("How was it paid?"),
        choices=[c for c in choices(PaymentMethod) if c.value in HAND_METHOD_VALUES],
        default=PaymentMethod.CASH.value,
        validators=[InputRequired(_l("Choose cash or e-transfer."))],
    )
    months = SelectField(
        _l("Months paid for"),
        choices=month_choices(MAX_MONTHS_PER_PAYMENT),
        default="1",
    )
    amount = MoneyField(
        _l("Amount received, in dollars"),
        validators=[InputRequired(_l("Enter the amount received."))],
    )
    paid_on = PlainDateField(
        _l("Received on"),
        validators=[InputRequired(_l("Enter the day it was received."))],
    )
    reference = StringField(
        _l("E-transfer reference (optional)"),
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=40, message=_l("Keep this under 40 characters.")),
        ],
    )


def level_name_field() -> StringField:
    return StringField(
        _l("Name"),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Give the level a name.")),
            Length(max=80, message=_l("Keep this under 80 characters.")),
        ],
    )


def level_bracket_field() -> StringField:
    return StringField(
        _l("Who it is for, in plain words"),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Say who this level is for.")),
            Length(max=200, message=_l("Keep this under 200 characters.")),
        ],
    )


class LevelWordingMixin:
    name: StringField
    bracket: StringField
    name_fr: StringField
    bracket_fr: StringField

    def wording(self) -> LevelWording:
        return LevelWording(
            name=self.name.data or "",
            bracket=self.bracket.data or "",
            name_fr=self.name_fr.data or "",
            bracket_fr=self.bracket_fr.data or "",
        )


def french_field(label: Any, most: int) -> StringField:
    return StringField(
        label,
        description=_l("Shown to people who read the app in French."),
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(
                max=most, message=_l("Keep this under %(most)d characters.", most=most)
            ),
        ],
    )


class AmountFormMixin:
    monthly_amount: MoneyField

    def amount_ok(self) -> bool:
        """A monthly amount above zero (the field itself accepts zero)."""
        if self.monthly_amount.cents:
            return True
        self.monthly_amount.errors = [
            *self.monthly_amount.errors,
            _l("Enter an amount above zero."),
        ]
        return False


class LevelForm(LevelWordingMixin, AmountFormMixin, BaseForm):
    code = StringField(
        _l("Short code"),
        description=_l(
            "Letters and underscores, used by Stripe and imports, like solidarity."
        ),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Enter a code.")),
            Length(max=32, message=_l("Keep this under 32 characters.")),
        ],
    )
    name = level_name_field()
    bracket = level_bracket_field()
    name_fr = french_field(_l("Name in French (optional)"), 80)
    bracket_fr = french_field(_l("Who it is for, in French (optional)"), 200)
    monthly_amount = MoneyField(
        _l("Monthly amount, in dollars"),
        validators=[InputRequired(_l("Enter the amount."))],
    )
    effective_on = MonthField(
        _l("Starting month"),
        validators=[InputRequired(_l("Enter the starting month."))],
    )


class LevelTextForm(LevelWordingMixin, BaseForm):
    name = level_name_field()
    bracket = level_bracket_field()
    name_fr = french_field(_l("Name in French (optional)"), 80)
    bracket_fr = french_field(_l("Who it is for, in French (optional)"), 200)


class RateForm(AmountFormMixin, BaseForm):
    monthly_amount = MoneyField(
        _l("New monthly amount, in dollars"),
        validators=[InputRequired(_l("Enter the amount."))],
    )
    effective_on = MonthField(
        _l("From month"), validators=[InputRequired(_l("Enter the month it starts."))]
    )


class LedgerFilterForm(SearchForm):
    method = SelectField(
        _l("Method"),
        choices=[SelectChoice("", _l("Any method")), *choices(PaymentMethod)],
        # Not in the query before anything is chosen: that is "any", not an error.
        default="",
    )
    from_month = MonthField(_l("From month"), validators=[Optional()])
    to_month = MonthField(_l("To month"), validators=[Optional()])
    sort = SortField()


LEDGER_ORDERS: OrderLabels = {
    "date": (_l("Oldest first"), _l("Newest first")),
    "member": (_l("Member number, lowest first"), _l("Member number, highest first")),
    "amount": (_l("Smallest amount first"), _l("Largest amount first")),
}

ARREARS_ORDERS: OrderLabels = {
    "owed": (_l("Fewest months owed first"), _l("Most months owed first")),
    "member": (_l("Member number, lowest first"), _l("Member number, highest first")),
}


class DuesSettingsForm(BaseForm):
    good_standing_max_arrears = WholeNumberField(
        _l("Months a member may be behind and still be in good standing"),
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(min=0, max=12, message=_l("Choose from 0 to 12.")),
        ],
    )
    parent_union_share_percent = WholeNumberField(
        _l("Parent union's share of dues paid by hand, in percent"),
        description=_l("The branch keeps the rest."),
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(min=0, max=100, message=_l("Choose from 0 to 100.")),
        ],
    )


__all__ = [
    "ARREARS_ORDERS",
    "LEDGER_ORDERS",
    "CardPaymentForm",
    "DuesSettingsForm",
    "HandPaymentForm",
    "LedgerFilterForm",
    "LevelChangeForm",
    "LevelForm",
    "LevelTextForm",
    "RateForm",
    "WaiverForm",
    "level_choices",
]
