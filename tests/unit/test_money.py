from decimal import Decimal

import pytest
from babel.numbers import format_currency
from hypothesis import given
from hypothesis import strategies as st

from union.money import AmountError, format_plain, parse_amount


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("11", 1100),
        ("$11.50", 1150),
        ("1,200", 120000),
        (" 0.005 ", 1),
        ("0.004", 0),
        ("2.675", 268),
        (Decimal("33"), 3300),
        ("1,200,000", 120000000),
        # The French way: a decimal comma, spaces between thousands, $ after.
        ("11,50", 1150),
        ("11,5", 1150),
        ("1 200,50 $", 120050),
        ("1\u00a0200,50\u00a0$", 120050),
        ("1.200,50", 120050),
        ("1,200.50", 120050),
    ],
)
def test_parse_amount_gives_cents_rounding_half_up(text, cents):
    assert parse_amount(text) == cents


@pytest.mark.parametrize(
    "text", ["", "abc", "-1", "1e400000", "NaN", "Infinity", "1.2.3", "1,2,3", ","]
)
def test_parse_amount_refuses_what_is_not_a_positive_amount(text):
    with pytest.raises(AmountError):
        parse_amount(text)


@given(st.integers(min_value=0, max_value=10**12))
def test_formatting_then_parsing_gives_back_the_same_cents(cents):
    assert parse_amount(format_plain(cents)) == cents


@given(st.integers(min_value=0, max_value=10**11), st.sampled_from(["en_CA", "fr_CA"]))
def test_an_amount_shown_in_either_language_reads_back_the_same(cents, locale):
    shown = format_currency(Decimal(cents) / 100, "CAD", locale=locale)
    assert parse_amount(shown) == cents


def test_format_plain_groups_thousands():
    assert format_plain(123456789) == "$1,234,567.89"
    assert format_plain(5) == "$0.05"
