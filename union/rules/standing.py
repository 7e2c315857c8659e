"""Good standing, worked out from months covered (no database here).

Like stamps on a red card: a member owes every month from the month they joined
(to the month they left, if they resigned), and each payment or waiver covers whole
months. Arrears are the owed months up to now that nothing covers. Payments always
fill the oldest uncovered month first, so the result never depends on the order in
which payments arrive.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from union.clock import month_index, month_start


@dataclass(frozen=True, slots=True)
class Standing:
    #: Months from joining to now (or to leaving) that dues are owed for.
    months_owed: int
    #: Of those, the months a payment or waiver covers.
    months_covered: int
    #: Owed months with nothing covering them.
    arrears: int
    #: The last month of the unbroken run of covered months from joining, if any.
    covered_through: date | None
    #: Stripe is retrying a failed card payment: that month is not counted against
    #: the member until Stripe gives up.
    card_retrying: bool
    #: The most arrears a member may have and stay in good standing.
    threshold: int

    @property
    def arrears_counted(self) -> int:
        return max(0, self.arrears - (1 if self.card_retrying else 0))

    @property
    def in_good_standing(self) -> bool:
        return self.arrears_counted <= self.threshold


def standing(
    *,
    start_month: date,
    current_month: date,
    covered: Collection[date],
    threshold: int,
    end_month: date | None = None,
    card_retrying: bool = False,
) -> Standing:
    """The standing of one member. All dates are first days of months."""
    last = min(current_month, end_month) if end_month else current_month
    owed = max(0, month_index(last) - month_index(start_month) + 1)
    covered_set = set(covered)
    covered_in_range = sum(1 for month in covered_set if start_month <= month <= last)
    return Standing(
        months_owed=owed,
        months_covered=covered_in_range,
        arrears=owed - covered_in_range,
        covered_through=covered_through(start_month, covered_set),
        card_retrying=card_retrying,
        threshold=threshold,
    )


def covered_through(start_month: date, covered: Collection[date]) -> date | None:
    """The last month of the unbroken run of covered months from the start month."""
    index = month_index(start_month)
    last = None
    while month_start(index) in covered:
        last = month_start(index)
        index += 1
    return last


def months_to_cover(
    start_month: date, covered: Collection[date], count: int
) -> list[date]:
    """The `count` oldest months from the start month that nothing covers yet: a
    payment pays off arrears before it pays in advance."""
    chosen: list[date] = []
    index = month_index(start_month)
    while len(chosen) < count:
        month = month_start(index)
        if month not in covered:
            chosen.append(month)
        index += 1
    return chosen


def coverage_summary(start_month: date, covered: Collection[date]) -> tuple[date, int]:
    """(the first month from the start month that nothing covers, how many covered
    months come after it). The ledger keeps both on each member, so that arrears
    can be read without counting every month covered."""
    first = months_to_cover(start_month, covered, 1)[0]
    return first, sum(1 for month in covered if month > first)


@dataclass(frozen=True, slots=True)
class ArrearsSummary:
    """What the ledger keeps on each member row about their covered months, in step
    with the coverage rows, so that arrears can be read without counting them."""

    #: The first month from the start month that nothing covers.
    first_uncovered_month: date
    #: How many covered months come after it.
    months_covered_later: int
    #: The latest month anything covers, if any.
    last_covered_month: date | None


def arrears_summary(start_month: date, covered: Collection[date]) -> ArrearsSummary:
    first, later = coverage_summary(start_month, covered)
    return ArrearsSummary(first, later, max(covered, default=None))


def opening_balance(start_month: date, paid_through: date | None) -> ArrearsSummary:
    """The summary of a member whose only coverage is an opening balance: every month
    from the start month through `paid_through` (none when that is None). It equals
    arrears_summary of those months, worked out without listing them, because a
    roster import needs it for thousands of members at once."""
    if paid_through is None:
        return ArrearsSummary(start_month, 0, None)
    return ArrearsSummary(month_start(month_index(paid_through) + 1), 0, paid_through)
