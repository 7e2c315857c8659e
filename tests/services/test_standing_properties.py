"""Standing through the real services: a member joins, changes level, asks for
waivers that are granted or declined, and pays, in any order over the months.
Whatever happens, the ledger and the arrears list agree with an independent count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from union.clock import month_index, month_start, months_through
from union.db import db
from union.errors import ValidationFailed
from union.models import DuesCoverage, DuesPayment, PaymentMethod, Role, WaiverReason
from union.services import dues, ledger, treasury, waivers

LEVELS = ("sub_minimum", "minimum", "regular", "high")
JOINED = date(2025, 1, 10)
MONTHS_OF_HISTORY = 23  # January 2025 to November 2026


def at(month_number: int) -> datetime:
    """Noon on the 15th of the given month after joining, in UTC."""
    month = month_start(month_index(JOINED) + month_number)
    return datetime(month.year, month.month, 15, 17, tzinfo=UTC)


events = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=MONTHS_OF_HISTORY - 1),
        st.one_of(
            st.tuples(st.just("pay"), st.integers(min_value=1, max_value=6)),
            st.tuples(st.just("level"), st.sampled_from(LEVELS)),
            st.tuples(
                st.just("waiver"),
                st.integers(min_value=-3, max_value=3),
                st.integers(min_value=1, max_value=4),
                st.booleans(),
            ),
        ),
    ),
    max_size=10,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(history=events)
# Paying ahead, then moving to a cheaper level from a month already paid for.
@example(history=[(0, ("pay", 1)), (0, ("pay", 1)), (0, ("level", "sub_minimum"))])
def test_standing_matches_an_independent_count_whatever_happens(make, history):
    member = make.member(joined_on=JOINED, level="minimum")
    steward = make.user(roles=(Role.STEWARD,))
    treasurer = make.user(roles=(Role.TREASURER,))
    granted: set[date] = set()
    #: What each payment should have been, at the levels in force when it was made.
    priced: list[int] = []
    initiation = dues.monthly_cents(member, [month_start(month_index(JOINED))])[0]
    for month_number, action in sorted(history, key=lambda event: event[0]):
        now = at(month_number)
        if action[0] == "pay":
            quote = dues.quote(member, action[1])
            priced.append(
                sum(dues.monthly_cents(member, quote.months))
                + (0 if priced else initiation)
            )
            payment = ledger.record_hand_payment(
                member,
                method=PaymentMethod.CASH,
                months=action[1],
                amount_cents=quote.total_cents,
                paid_on=now.date(),
                reference=None,
                actor=steward,
                now=now,
            )
            assert [c.month for c in payment.coverage] == quote.months
        elif action[0] == "level":
            level = dues.level_by_code(action[1])
            dues.change_level(member, level.id, actor=member.user or steward, now=now)
        else:
            _kind, offset, length, grant = action
            first = month_start(month_index(now.date()) + offset)
            last = month_start(month_index(first) + length - 1)
            try:
                waiver = waivers.request_waiver(
                    member,
                    reason=WaiverReason.OTHER,
                    first_month=first,
                    last_month=last,
                    actor=steward,
                    now=now,
                )
            except ValidationFailed:
                continue
            already = dues.covered_months(member.id)
            waivers.decide_waiver(waiver, grant=grant, actor=treasurer, now=now)
            if grant:
                granted |= set(months_through(first, last)) - already

    end = at(MONTHS_OF_HISTORY - 1) + timedelta(days=1)
    rows = db.session.scalars(
        sa.select(DuesCoverage).where(DuesCoverage.member_id == member.id)
    ).all()
    covered = [row.month for row in rows]
    assert len(covered) == len(set(covered)), "a month was covered twice"
    assert all(month >= month_start(month_index(JOINED)) for month in covered)
    assert {row.month for row in rows if row.waiver_id is not None} == granted

    owed = list(months_through(month_start(month_index(JOINED)), at(22).date()))
    unpaid = [month for month in owed if month not in set(covered)]
    standing = dues.member_standing(member, now=end)
    assert standing.months_owed == len(owed)
    assert standing.arrears == len(unpaid)
    assert treasury.arrears_by_member([member.id], now=end) == {member.id: len(unpaid)}

    # Every payment was for the months it covered, at the level of each month when
    # it was paid, plus the initiation fee exactly once.
    payments = db.session.scalars(
        sa.select(DuesPayment).where(DuesPayment.member_id == member.id)
    ).all()
    paid_months = sorted(
        row.month
        for row in rows
        if row.payment_id is not None and row.waiver_id is None
    )
    assert sum(p.months for p in payments) == len(paid_months)
    assert sum(p.initiation_cents > 0 for p in payments) == (1 if payments else 0)
    # A level change never reprices months already paid for.
    assert sorted(p.amount_cents for p in payments) == sorted(priced)
