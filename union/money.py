"""Money is an integer number of cents everywhere; this module converts at the edges."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

DEFAULT_CURRENCY = "CAD"
#: Far above any grant or payment; stops absurd input before it reaches arithmetic.
MAX_DOLLARS = Decimal(10) ** 12


class AmountError(ValueError):
    pass


_currency = DEFAULT_CURRENCY


def configure(currency: str) -> None:
    """Sets the union's currency for this process (UNION_CURRENCY)."""
    global _currency
    _currency = currency


def currency() -> str:
    return _currency


#: Spaces people and French number formatting put in amounts ("1 200,50 $").
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009$")
_GROUPED = re.compile(r"\d{1,3}(,\d{3})+")


def _normalise(text: str) -> str:
    """Reads an amount written the English way ("1,200.50") or the French way
    ("1 200,50"): a last comma followed by one or two digits is a decimal comma
    ("11,50"); other commas separate thousands ("1,200") and must group by three."""
    cleaned = text.strip().translate(_SPACES)
    if "," in cleaned and cleaned.rfind(",") > cleaned.rfind("."):
        whole, _comma, fraction = cleaned.rpartition(",")
        if len(fraction) in (1, 2) and fraction.isdigit():
            cleaned = f"{whole.replace('.', ',')}.{fraction}"
    whole, _point, _fraction = cleaned.partition(".")
    if "," in whole and not _GROUPED.fullmatch(whole):
        raise AmountError(f"not an amount: {text!r}")
    return cleaned.replace(",", "")


def parse_amount(text: str | Decimal) -> int:
    """Turns a typed amount ("11", "$11.50", "1,200", "11,50 $") into cents,
    rounding half up.

    Raises AmountError for anything that is not a non-negative, sane amount.
    """
    if isinstance(text, Decimal):
        value = text
    else:
        cleaned = _normalise(text)
        if not cleaned:
            raise AmountError("empty amount")
        try:
            value = Decimal(cleaned)
        except InvalidOperation as error:
            raise AmountError(f"not an amount: {text!r}") from error
    if not value.is_finite() or value < 0:
        raise AmountError("amounts cannot be negative")
    if value > MAX_DOLLARS:
        raise AmountError("amount too large")
    return int((value * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def cents_to_decimal(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def format_plain(cents: int) -> str:
    """A locale-free rendering such as "$1,234.50", for CSV files and emails."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{fraction:02d}"
