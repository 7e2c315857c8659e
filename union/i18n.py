"""Translation helpers. Every user-facing string goes through one of these."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import flask_babel
from babel import Locale, dates, numbers
from babel.support import NullTranslations
from flask import Flask
from flask.globals import _cv_app
from flask_babel import LazyString, force_locale, get_locale
from jinja2.nodes import EvalContext
from jinja2.utils import pass_eval_context
from markupsafe import Markup

from union import money

#: Where each request keeps the translations of its language, beside the locale
#: they are for (an attribute of Flask-Babel's own per-request namespace).
_KEPT = "union_translations"


def _babel_context() -> SimpleNamespace | None:
    """Flask-Babel's per-request namespace, read without going through `g`'s
    proxy (Flask-Babel's own lookup takes several proxies a call)."""
    app_context = _cv_app.get(None)
    if app_context is None:
        return None
    found: SimpleNamespace | None = getattr(app_context.g, "_flask_babel", None)
    return found


def _translations() -> NullTranslations:
    """The translations of the reader's language. Flask-Babel finds them again
    on every call (its namespace, the locale, the locale's name, its cache): about
    10 microseconds, and a table of 50 rows translates each column's label on
    every row. They are kept on the request beside the locale object they are
    for; force_locale (speaking()) sets a new locale object, so what was kept is
    not used inside it, nor after it."""
    context = _babel_context()
    if context is not None:
        kept = getattr(context, _KEPT, None)
        if kept is not None and kept[0] is getattr(context, "babel_locale", None):
            translations: NullTranslations = kept[1]
            return translations
    translations = flask_babel.get_translations()
    context = _babel_context()
    locale = getattr(context, "babel_locale", None) if context is not None else None
    if locale is not None:
        setattr(context, _KEPT, (locale, translations))
    return translations


def gettext(string: str, **variables: Any) -> str:
    translated = _translations().ugettext(string)
    return translated % variables if variables else translated


def ngettext(singular: str, plural: str, count: int, /, **variables: Any) -> str:
    """`num` in the text is the count unless given (a count written for the
    reader: "1,204")."""
    variables.setdefault("num", count)
    translated = _translations().ungettext(singular, plural, count)
    return translated % variables


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    return LazyString(gettext, string, **variables)


_ = gettext
_l = lazy_gettext


@pass_eval_context
def _template_gettext(eval_context: EvalContext, string: str, **variables: Any) -> str:
    """Jinja's "newstyle" gettext (jinja2.ext), called directly: Jinja's own
    wraps the translation function in two more calls through the template
    context, which cost more than the translation."""
    translated = _translations().ugettext(string)
    if eval_context.autoescape:
        # Jinja's own does the same: the catalogue's text is the app's, and the
        # variables are escaped as they are put in.
        translated = Markup(translated)  # noqa: S704
    return translated % variables


@pass_eval_context
def _template_ngettext(
    eval_context: EvalContext,
    singular: str,
    plural: str,
    count: int,
    /,
    **variables: Any,
) -> str:
    variables.setdefault("num", count)
    translated = _translations().ungettext(singular, plural, count)
    if eval_context.autoescape:
        # Jinja's own does the same: the catalogue's text is the app's, and the
        # variables are escaped as they are put in.
        translated = Markup(translated)  # noqa: S704
    return translated % variables


def install(app: Flask) -> None:
    """Templates translate through the kept translations, with Jinja's newstyle
    gettext's meaning (escaped, then formatted with the keyword arguments)."""
    environment = app.jinja_env
    environment.newstyle_gettext = True  # type: ignore[attr-defined]
    environment.globals.update(
        _=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext
    )


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
