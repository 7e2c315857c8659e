"""Translation helpers. Every user-facing string goes through one of these."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import (
    force_locale,
    format_currency,
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


def format_money(cents: int, *, whole_dollars: bool = False) -> str:
    """An amount the way the reader's language writes it: "$1,200.50" in English,
    "1 200,50 $" in French; whole dollars only for chart axes."""
    amount = money.cents_to_decimal(cents)
    if not whole_dollars:
        return str(format_currency(amount, money.currency()))
    locale = get_locale()
    pattern = locale.currency_formats["standard"].pattern if locale else "\u00a4#,##0"
    return str(
        format_currency(
            amount.to_integral_value(),
            money.currency(),
            format=pattern.replace(".00", ""),
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
    "current_language",
    "format_money",
    "gettext",
    "lazy_gettext",
    "locale_for",
    "ngettext",
    "speaking",
]
