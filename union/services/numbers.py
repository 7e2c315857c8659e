"""Human-facing running numbers that never repeat, even under concurrent requests."""

from __future__ import annotations

import sqlalchemy as sa

from union.db import db
from union.models import Counter

#: Where each sequence starts, so numbers look like membership numbers, not row ids.
FIRST_VALUES = {"member_number": 1001}


def next_numbers(name: str, count: int) -> range:
    """Hands out the next `count` numbers of a sequence in one statement.

    The UPDATE locks the counter row until the caller commits, so two concurrent
    joins wait for each other instead of taking the same number.
    """
    increment = (
        sa.update(Counter)
        .where(Counter.name == name)
        .values(value=Counter.value + count)
        .returning(Counter.value)
    )
    last = db.session.execute(increment).scalar_one_or_none()
    if last is None:
        last = FIRST_VALUES.get(name, 1) + count - 1
        db.session.add(Counter(name=name, value=last))
        db.session.flush()
    return range(last - count + 1, last + 1)


def next_number(name: str) -> int:
    return next_numbers(name, 1)[0]


def reserve_through(name: str, highest: int) -> None:
    """Moves a sequence past numbers that were assigned by hand (a roster import)."""
    counter = db.session.get(Counter, name, with_for_update=True)
    if counter is None:
        first = FIRST_VALUES.get(name, 1)
        db.session.add(Counter(name=name, value=max(highest, first - 1)))
    elif counter.value < highest:
        counter.value = highest
    db.session.flush()
