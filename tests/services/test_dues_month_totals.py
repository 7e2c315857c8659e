"""The ledger's monthly totals (DuesMonthTotal), kept by the database's triggers,
always equal the payments added up, whoever writes them: the app, a bulk load,
a plain UPDATE, a foreign key setting recorded_by_id to NULL, a cascade."""

from __future__ import annotations

import random
from datetime import date, datetime

import sqlalchemy as sa

from tests.factories import Factories
from union.adapters.bulk import BulkWriter, table
from union.db import db
from union.models import DuesMonthTotal, DuesPayment, PaymentMethod, Role, User
from union.services import treasury

HAND = (PaymentMethod.CASH, PaymentMethod.ETRANSFER)


def _added_up() -> dict[tuple[date, str], tuple[int, int, int, int]]:
    """The payments added up by month and method, in Python."""
    sums: dict[tuple[date, str], list[int]] = {}
    for payment in db.session.scalars(sa.select(DuesPayment)):
        key = (payment.paid_on.replace(day=1), payment.method.value)
        line = sums.setdefault(key, [0, 0, 0, 0])
        line[0] += 1
        line[1] += payment.amount_cents
        line[2] += payment.refunded_cents
        line[3] += payment.disputed_cents
    return {key: (a, b, c, d) for key, (a, b, c, d) in sums.items()}


def _kept() -> dict[tuple[date, str], tuple[int, int, int, int]]:
    return {
        (row.month, row.method.value): (
            row.payments,
            row.amount_cents,
            row.refunded_cents,
            row.disputed_cents,
        )
        for row in db.session.scalars(sa.select(DuesMonthTotal))
        if (row.payments, row.amount_cents, row.refunded_cents, row.disputed_cents)
        != (0, 0, 0, 0)
    }


def _check() -> None:
    db.session.flush()
    db.session.expire_all()
    assert _kept() == _added_up()


def test_the_totals_follow_every_way_a_payment_is_written(
    make: Factories, now: datetime
) -> None:
    draw = random.Random(20261211)  # noqa: S311 -- invented test data
    delegates = [make.user(roles=(Role.STEWARD,)) for _ in range(3)]
    members = [make.member() for _ in range(6)]
    _check()

    for _ in range(25):
        payment = make.payment(
            draw.choice(members),
            draw.randint(1, 3),
            method=draw.choice(list(PaymentMethod)),
            paid_on=date(2026, draw.randint(1, 12), draw.randint(1, 28)),
        )
        payment.recorded_by_id = draw.choice([None, *(d.id for d in delegates)])
    _check()

    payments = list(db.session.scalars(sa.select(DuesPayment)))
    for payment in draw.sample(payments, 8):
        payment.refunded_cents = draw.randint(0, payment.amount_cents)
        payment.disputed_cents = draw.randint(0, payment.amount_cents)
    _check()

    # Plain SQL, several rows at once: months, methods and recorders change.
    db.session.execute(
        sa.update(DuesPayment)
        .where(DuesPayment.id.in_([p.id for p in payments[:10]]))
        .values(paid_on=date(2025, 11, 30), method=PaymentMethod.ETRANSFER)
    )
    _check()
    db.session.execute(
        sa.update(DuesPayment)
        .where(DuesPayment.method.in_(HAND))
        .values(recorded_by_id=delegates[0].id)
    )
    _check()
    before = _kept()
    # Nothing summed changes: the totals stay as they were.
    db.session.execute(sa.update(DuesPayment).values(reference="unchanged sums"))
    _check()
    assert _kept() == before

    # An account deleted: its payments' recorded_by_id goes to NULL.
    db.session.execute(sa.delete(User).where(User.id == delegates[0].id))
    _check()

    # A member deleted: their payments go with them.
    db.session.delete(members[0])
    _check()
    db.session.execute(sa.delete(DuesPayment).where(DuesPayment.amount_cents > 2000))
    _check()

    # A bulk load (COPY on PostgreSQL).
    BulkWriter(db.session.connection()).write(
        table(DuesPayment),
        (
            "member_id",
            "method",
            "amount_cents",
            "initiation_cents",
            "currency",
            "months",
            "paid_on",
            "recorded_at",
            "refunded_cents",
            "disputed_cents",
        ),
        [
            (
                members[1].id,
                PaymentMethod.CARD_SUBSCRIPTION,
                1100 + n,
                0,
                "CAD",
                1,
                date(2026, 1 + n % 12, 15),
                now,
                n % 3 * 100,
                0,
            )
            for n in range(40)
        ],
    )
    _check()


def test_the_ledger_totals_read_the_kept_totals(make: Factories) -> None:
    delegate = make.user(roles=(Role.STEWARD,))
    member = make.member()
    for month, method in ((1, PaymentMethod.CASH), (2, PaymentMethod.CASH)):
        payment = make.payment(
            member, method=method, amount_cents=1500, paid_on=date(2026, month, 28)
        )
        payment.recorded_by_id = delegate.id
    card = make.payment(
        member,
        method=PaymentMethod.CARD_ONE_OFF,
        amount_cents=4000,
        paid_on=date(2026, 2, 1),
    )
    card.refunded_cents = 1000
    db.session.flush()

    def totals(**filters: object) -> treasury.LedgerTotals:
        return treasury.ledger_totals(treasury.LedgerFilter(**filters))  # type: ignore[arg-type]

    assert totals() == treasury.LedgerTotals(3, 7000, 1000)
    assert totals(from_month=date(2026, 2, 1)) == treasury.LedgerTotals(2, 5500, 1000)
    assert totals(to_month=date(2026, 1, 1)) == treasury.LedgerTotals(1, 1500, 0)
    assert totals(method=PaymentMethod.CASH) == treasury.LedgerTotals(2, 3000, 0)
    assert totals(recorded_by_id=delegate.id) == treasury.LedgerTotals(2, 3000, 0)
    assert totals(from_month=date(2026, 3, 1)) == treasury.LedgerTotals(0, 0, 0)
