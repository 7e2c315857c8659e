from decimal import Decimal

import pytest
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
    ],
)
def test_parse_amount_gives_cents_rounding_half_up(text, cents):
    assert parse_amount(text) == cents


@pytest.mark.parametrize(
    "text", ["", "abc", "-1", "1e400000", "NaN", "Infinity", "1.2.3"]
)
def test_parse_amount_refuses_what_is_not_a_positive_amount(text):
    with pytest.raises(AmountError):
        parse_amount(text)


@given(st.integers(min_value=0, max_value=10**12))
def test_formatting_then_parsing_gives_back_the_same_cents(cents):
    assert parse_amount(format_plain(cents)) == cents


def test_format_plain_groups_thousands():
    assert format_plain(123456789) == "$1,234,567.89"
    assert format_plain(5) == "$0.05"
