"""Money is an integer number of cents everywhere; this module converts at the edges."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

DEFAULT_CURRENCY = "CAD"
#: Far above any grant or payment; stops absurd input before it reaches arithmetic.
MAX_DOLLARS = Decimal(10) ** 12


class AmountError(ValueError):
    pass


def parse_amount(text: str | Decimal) -> int:
    """Turns a typed amount ("11", "$11.50", "1,200") into cents, rounding half up.

    Raises AmountError for anything that is not a non-negative, sane amount.
    """
    if isinstance(text, Decimal):
        value = text
    else:
        cleaned = text.strip().replace("$", "").replace(",", "").replace(" ", "")
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
