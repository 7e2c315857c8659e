"""The form base class and fields shared by several forms."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date
from typing import Any, TypeVar

from flask_babel import LazyString
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import DateField, IntegerField, SelectField, StringField, widgets
from wtforms.fields.choices import (  # type: ignore[attr-defined]  # 3.3 API; stubs lag
    SelectChoice,
)
from wtforms.validators import StopValidation, ValidationError

from union.errors import ValidationFailed
from union.i18n import _l
from union.labels import lazy_label
from union.money import AmountError, parse_amount
from union.services.paging import Sort

__all__ = [
    "ActionForm",
    "BaseForm",
    "MoneyField",
    "MonthField",
    "PlainDateField",
    "QuickSelect",
    "SearchForm",
    "SelectChoice",
    "SortField",
    "SortForm",
    "WholeNumberField",
    "choices",
    "chosen",
]

EnumT = TypeVar("EnumT", bound=enum.Enum)


class BaseForm(FlaskForm):
    """A form with CSRF protection that can show a service's errors on its fields."""

    def apply_errors(self, error: ValidationFailed) -> None:
        for name, messages in error.errors.items():
            field = self._fields.get(name) if name else None
            if field is None:
                self.form_errors.extend(messages)
            else:
                field.errors = [*field.errors, *messages]

    def add_errors_where_none(self, error: ValidationFailed) -> None:
        """A service's messages beside the form's own, for fields the form found
        nothing wrong with: every problem shows at once, and no field says the
        same thing twice."""
        for name, messages in error.errors.items():
            field = self._fields.get(name) if name else None
            if field is None:
                self.form_errors.extend(
                    message for message in messages if message not in self.form_errors
                )
            elif not field.errors:
                field.errors = list(messages)


class ActionForm(BaseForm):
    """A button that changes something: just the CSRF token."""


class SearchForm(FlaskForm):
    """A GET form: reads query parameters and changes nothing, so it needs no token."""

    class Meta:
        csrf = False


def strip_filter(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class MoneyField(StringField):
    """A dollar amount typed by a person, kept as integer cents in `cents`."""

    cents: int | None = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        text = (self.data or "").strip()
        self.cents = None
        if not text:
            return
        try:
            self.cents = parse_amount(text)
        except AmountError as error:
            raise ValidationError(
                _l("Enter an amount in dollars, like 1200 or 1,200.50.")
            ) from error


class PlainDateField(DateField):
    """A date field whose complaint says what to type."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_l("Enter a date like 2026-03-31.")) from error


class WholeNumberField(IntegerField):
    """A number field whose complaint says what to type."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        # A browser sends an empty box as "": nothing typed is no number, for
        # Optional or InputRequired to judge, not text that is not a number.
        if valuelist and not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_l("Enter a whole number, like 12.")) from error

    def pre_validate(self, form: Any) -> None:
        # Text that is not a number has no value, which a range check would also
        # report as out of range: one complaint is enough. A blank is left to the
        # field's validators (Optional clears the complaint about it).
        typed = self.raw_data[0] if self.raw_data else ""
        if self.process_errors and str(typed).strip():
            raise StopValidation


class MonthField(StringField):
    """A month typed as YYYY-MM (a month picker on phones), kept as its first day."""

    widget = widgets.MonthInput()
    month: date | None = None

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        text = (self.data or "").strip()
        self.month = None
        if not text:
            return
        try:
            self.month = date.fromisoformat(f"{text}-01")
        except ValueError as error:
            raise ValidationError(_l("Enter a month like 2026-03.")) from error

    def _value(self) -> str:
        value: Any = self.data  # a date when the form is filled from an object
        if isinstance(value, date):
            return value.strftime("%Y-%m")
        return str(value or "")


class QuickSelect(widgets.Select):
    """WTForms' select, writing the same markup for a plain option without going
    through html_params for each: the thousand workplaces a federation's
    organizer chooses among took 20 ms to write."""

    @classmethod
    def render_option(  # type: ignore[override]  # 3.3 API; stubs lag
        cls, choice: Any, **kwargs: Any
    ) -> Markup:
        if kwargs or choice.render_kw or not isinstance(choice.value, str):
            return super().render_option(choice, **kwargs)
        selected = " selected" if choice.selected else ""
        value, label = escape(choice.value), escape(choice.label or choice.value)
        return Markup(f'<option{selected} value="{value}">{label}</option>')  # noqa: S704 -- both escaped


def chosen(enum_class: type[EnumT], value: object) -> EnumT | None:
    """The enum member a radio button or select box sent, or None for no choice or
    anything tampered (the field itself reports that)."""
    try:
        return enum_class(value)
    except ValueError:
        return None


def choices(enum_class: type[enum.Enum]) -> list[SelectChoice]:
    """Options for a select or radio field, in declaration order."""
    return [SelectChoice(member.value, lazy_label(member)) for member in enum_class]


#: A table's orders in words, by sort key: (ascending, descending).
OrderLabels = Mapping[str, tuple[LazyString, LazyString]]


class SortField(SelectField):
    """The order of a table, for a search or filter form. Phones show no column
    headers to click, and without JavaScript this is how a list is sorted there.

    Any value is accepted: the view reads it through the table's SortKeys, which
    ignores what it does not offer, so a tampered order shows the default one
    rather than an error."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(_l("Sort by"), validate_choice=False, **kwargs)

    def offer(self, sort: Sort, labels: OrderLabels) -> None:
        """Every order the table offers, the one shown selected."""
        self.choices = [
            SelectChoice(order.value, str(labels[order.key][order.descending]))
            for order in sort.keys.every_order()
        ]
        self.data = sort.value


class SortForm(SearchForm):
    """Just the order, for a table whose page has no filter form."""

    sort = SortField()
