"""Standing from months covered, including property tests over any order of events."""

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from union.clock import month_index, month_start, months_from, months_through
from union.rules.standing import (
    ArrearsSummary,
    arrears_summary,
    months_to_cover,
    opening_balance,
    standing,
)

JAN, FEB, MAR, APR, MAY = (date(2026, m, 1) for m in range(1, 6))


def test_a_new_member_owes_the_month_they_joined():
    result = standing(start_month=MAR, current_month=MAR, covered=[], threshold=2)
    assert (result.months_owed, result.arrears, result.covered_through) == (1, 1, None)
    assert result.in_good_standing


def test_arrears_beyond_the_threshold_lose_good_standing():
    three_behind = standing(start_month=JAN, current_month=MAR, covered=[], threshold=2)
    assert (three_behind.arrears, three_behind.in_good_standing) == (3, False)
    assert standing(
        start_month=JAN, current_month=MAR, covered=[JAN], threshold=2
    ).in_good_standing
    assert not standing(
        start_month=JAN, current_month=MAR, covered=[JAN], threshold=1
    ).in_good_standing


def test_months_paid_in_advance_do_not_count_as_owed():
    result = standing(
        start_month=JAN, current_month=FEB, covered=[JAN, FEB, MAR, APR], threshold=2
    )
    assert (result.months_owed, result.months_covered, result.arrears) == (2, 2, 0)
    assert result.covered_through == APR


def test_a_resigned_member_owes_nothing_after_leaving():
    result = standing(
        start_month=JAN, current_month=MAY, end_month=FEB, covered=[JAN], threshold=0
    )
    assert (result.months_owed, result.arrears) == (2, 1)


def test_a_card_payment_stripe_is_retrying_does_not_count_against_the_member():
    behind_by_three: dict[str, Any] = {
        "start_month": JAN,
        "current_month": MAR,
        "covered": [],
        "threshold": 2,
    }
    assert not standing(**behind_by_three).in_good_standing
    retrying = standing(**behind_by_three, card_retrying=True)
    assert retrying.arrears == 3
    assert retrying.in_good_standing


def test_payments_fill_the_oldest_uncovered_months_first():
    waived = [FEB]
    assert months_to_cover(JAN, waived, 3) == [JAN, MAR, APR]
    assert months_to_cover(JAN, [JAN, FEB, MAR], 1) == [APR]


def test_covered_through_stops_at_the_first_gap():
    assert (
        standing(
            start_month=JAN, current_month=MAY, covered=[JAN, FEB, APR], threshold=2
        ).covered_through
        == FEB
    )


def test_month_arithmetic_round_trips():
    assert month_start(month_index(date(2026, 12, 15))) == date(2026, 12, 1)
    assert months_from(date(2026, 11, 1), 3) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]


months = st.integers(min_value=0, max_value=36).map(
    lambda n: month_start(month_index(JAN) + n)
)


@st.composite
def histories(draw):
    """A member's history: when they joined, now, waived months and payments."""
    start = draw(months)
    current = draw(months.filter(lambda m: m >= start))
    waived = draw(st.sets(months.filter(lambda m: m >= start), max_size=6))
    payments = draw(st.lists(st.integers(min_value=1, max_value=6), max_size=8))
    return start, current, waived, payments


def apply_payments(start, waived, payments):
    covered = set(waived)
    for count in payments:
        covered.update(months_to_cover(start, covered, count))
    return covered


@settings(max_examples=300)
@given(histories(), st.randoms())
def test_the_order_payments_arrive_in_never_changes_standing(history, random):
    start, current, waived, payments = history
    shuffled = list(payments)
    random.shuffle(shuffled)
    one = standing(
        start_month=start,
        current_month=current,
        covered=apply_payments(start, waived, payments),
        threshold=2,
    )
    other = standing(
        start_month=start,
        current_month=current,
        covered=apply_payments(start, waived, shuffled),
        threshold=2,
    )
    assert one == other


@settings(max_examples=300)
@given(histories())
def test_standing_invariants(history):
    start, current, waived, payments = history
    covered = apply_payments(start, waived, payments)
    result = standing(
        start_month=start, current_month=current, covered=covered, threshold=2
    )
    assert result.months_owed == month_index(current) - month_index(start) + 1
    assert 0 <= result.arrears <= result.months_owed
    assert result.months_covered + result.arrears == result.months_owed
    assert len(covered - set(waived)) == sum(payments)
    paid_months = sum(payments)
    uncovered_waived_owed = result.months_owed - len(
        {m for m in waived if m <= current}
    )
    assert result.arrears == max(0, uncovered_waived_owed - paid_months)
    if result.covered_through is not None:
        assert all(
            month_start(i) in covered
            for i in range(month_index(start), month_index(result.covered_through) + 1)
        )


@given(histories(), st.integers(min_value=1, max_value=12))
def test_paying_never_covers_a_month_twice_or_before_joining(history, count):
    start, _current, waived, payments = history
    covered = apply_payments(start, waived, payments)
    chosen = months_to_cover(start, covered, count)
    assert len(chosen) == len(set(chosen)) == count
    assert not set(chosen) & covered
    assert min(chosen) >= start


def test_an_opening_balance_summarises_the_months_it_covers():
    assert opening_balance(FEB, None) == ArrearsSummary(FEB, 0, None)
    assert opening_balance(FEB, APR) == ArrearsSummary(MAY, 0, APR)


@given(st.integers(min_value=0, max_value=240), st.integers(min_value=0, max_value=120))
def test_an_opening_balance_agrees_with_counting_its_months(start_index, paid):
    start = month_start(month_index(JAN) - start_index)
    paid_through = month_start(month_index(start) + paid)
    assert opening_balance(start, paid_through) == arrears_summary(
        start, set(months_through(start, paid_through))
    )
    assert opening_balance(start, None) == arrears_summary(start, set())
