"""Translation helpers. Every user-facing string goes through one of these."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from babel import Locale, dates, numbers
from flask_babel import (
    force_locale,
    get_locale,
    gettext,
    lazy_gettext,
    ngettext,
)

from union import money

_ = gettext
_l = lazy_gettext

#: Remembers a visitor's choice of language before they have an account.
LANGUAGE_COOKIE = "language"
#: The language of anyone who has not said, and of the catalogue's msgids.
DEFAULT_LANGUAGE = "en"


def locale_for(language: str | None) -> str:
    """The Canadian variant of a language code, so money and dates read the
    Canadian way ("11,00 $" in French, "$11.00" in English)."""
    return f"{language or DEFAULT_LANGUAGE}_CA"


def current_language() -> str:
    locale = get_locale()
    return str(locale.language) if locale is not None else DEFAULT_LANGUAGE


def _reader_locale() -> str:
    return str(get_locale() or Locale.parse(locale_for(DEFAULT_LANGUAGE)))


def format_money(cents: int, *, whole_dollars: bool = False) -> str:
    """An amount the way the reader's language writes it: "$1,200.50" in English,
    "1 200,50 $" in French; whole dollars only for chart axes."""
    return _formatted_money(cents, money.currency(), _reader_locale(), whole_dollars)


def format_number(value: int | Decimal) -> str:
    """A number the way the reader's language writes it: "1,200", "1 200", "22.5"
    or "22,5"."""
    return _formatted_number(value, _reader_locale())


def format_day(value: date, style: str = "medium") -> str:
    """A calendar day the way the reader's language writes it."""
    return _formatted_day(value, style, _reader_locale())


def collation_key(text: str) -> str:
    """Sorts words the way a reader expects, accents beside their letters: in
    French "Élevé" comes among the e's, not after z."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def format_minute(value: datetime) -> str:
    """A moment the way the reader's language writes it, the day in words and the
    time to the minute: "Nov 17, 2026, 3:04 p.m.", "17 nov. 2026, 15 h 04"."""
    locale = _reader_locale()
    return (
        str(dates.get_datetime_format("medium", locale=locale))
        .replace("{1}", _formatted_day(value.date(), "medium", locale))
        .replace("{0}", str(dates.format_time(value, "short", locale=locale)))
    )


# Formatting the same days and counts again and again is much of the time a table
# page takes to render, so each formatted value is kept per locale. None of them is
# personal: calendar days and counts.
@functools.lru_cache(maxsize=4096)
def _formatted_day(value: date, style: str, locale: str) -> str:
    return str(dates.format_date(value, style, locale=locale))


@functools.lru_cache(maxsize=4096)
def _formatted_number(value: int | Decimal, locale: str) -> str:
    return str(numbers.format_decimal(value, locale=locale))


# Tables format the same few amounts again and again; amounts are not personal.
@functools.lru_cache(maxsize=4096)
def _formatted_money(cents: int, currency: str, locale: str, whole: bool) -> str:
    amount = money.cents_to_decimal(cents)
    if not whole:
        return str(numbers.format_currency(amount, currency, locale=locale))
    pattern = Locale.parse(locale).currency_formats["standard"].pattern
    return str(
        numbers.format_currency(
            amount.to_integral_value(),
            currency,
            format=pattern.replace(".00", ""),
            locale=locale,
            currency_digits=False,
        )
    )


@contextmanager
def speaking(language: str | None) -> Iterator[None]:
    """Translates and formats in `language` inside the block, whatever the request's
    language: an email goes out in its reader's language."""
    with force_locale(locale_for(language)):
        yield


__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGE_COOKIE",
    "_",
    "_l",
    "collation_key",
    "current_language",
    "format_day",
    "format_minute",
    "format_money",
    "format_number",
    "gettext",
    "lazy_gettext",
    "locale_for",
    "ngettext",
    "speaking",
]
