from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from union.clock import add_months, local_date

TORONTO = ZoneInfo("America/Toronto")


def test_add_months_clamps_to_the_end_of_shorter_months():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert add_months(date(2026, 3, 15), -3) == date(2025, 12, 15)


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)),
    st.integers(-1200, 1200),
)
def test_add_months_moves_by_whole_months(day, months):
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day <= day.day


def test_the_local_day_is_the_unions_not_utcs():
    late_evening_in_toronto = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
    assert local_date(late_evening_in_toronto, TORONTO) == date(2026, 11, 22)
