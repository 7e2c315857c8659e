"""The treasurer's reading of the ledger: payments filtered and exported as CSV, the
arrears list, and monthly totals.

Nothing here writes money (union.services.ledger does); an export only adds an
audit row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction

from union import clock
from union.adapters.csvsafe import csv_lines
from union.clock import first_of_month, month_index, month_start
from union.db import db
from union.models import (
    ARREARS_COUNTED,
    ARREARS_ORDERED,
    DuesCoverage,
    DuesPayment,
    DuesSubscription,
    Member,
    PaymentMethod,
    User,
)
from union.services import audit, settings
from union.services.paging import Page, paginate
from union.services.scope import NOT_DECRYPTED


class month_number(GenericFunction[int]):  # noqa: N801 -- SQL function names are lower case
    """Months since year 0 of a date column, in SQL (like union.clock.month_index)."""

    type = sa.Integer()
    inherit_cache = True


#: The year and the month of a date, as each database reads them.
_YEAR_AND_MONTH = {
    "sqlite": ("strftime('%Y', {0})", "strftime('%m', {0})"),
    "postgresql": ("EXTRACT(YEAR FROM {0})", "EXTRACT(MONTH FROM {0})"),
}


def _month_number_in(dialect: str) -> Callable[..., str]:
    year, month = _YEAR_AND_MONTH[dialect]

    def compile_month_number(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
        (column,) = list(element.clauses)
        value = compiler.process(column, **kw)
        return (
            f"(CAST({year.format(value)} AS INTEGER) * 12 "
            f"+ CAST({month.format(value)} AS INTEGER) - 1)"
        )

    return compile_month_number


for _dialect in _YEAR_AND_MONTH:
    compiles(month_number, _dialect)(_month_number_in(_dialect))


#: Stripe is still retrying the member's card payment.
RETRYING = "dues_subscriptions.status = 'past_due'"


def _last_owed(current: int) -> Any:
    """The last month each Member row owes (this month, or the month they left)."""
    return sa.case(
        (
            sa.and_(
                Member.left_on.is_not(None), month_number(Member.left_on) < current
            ),
            month_number(Member.left_on),
        ),
        else_=current,
    )


def arrears_columns(today: date) -> tuple[Any, Any]:
    """SQL expressions for (arrears, card retrying) of each Member row, as
    union.rules.standing computes them.

    Every month from joining up to first_uncovered_month is covered, so the arrears
    are the owed months from that one on, less any covered after it: all
    months_covered_later of them when nothing is covered past the last month owed,
    and counted one by one only for the few paid past it across a gap.
    """
    last_owed = _last_owed(month_index(today))
    first_uncovered = month_number(Member.first_uncovered_month)
    owed = sa.case(
        (last_owed >= first_uncovered, last_owed - first_uncovered + 1), else_=0
    )
    covered_later = (
        sa.select(sa.func.count(DuesCoverage.id))
        .where(
            DuesCoverage.member_id == Member.id,
            DuesCoverage.month > Member.first_uncovered_month,
            month_number(DuesCoverage.month) <= last_owed,
        )
        .correlate(Member)
        .scalar_subquery()
    )
    later = sa.case(
        (Member.months_covered_later == 0, 0),
        (
            month_number(Member.last_covered_month) <= last_owed,
            Member.months_covered_later,
        ),
        else_=covered_later,
    )
    arrears = owed - later
    retrying = sa.exists().where(
        DuesSubscription.member_id == Member.id,
        # Literal, as in the partial index it reads (see arrears_page).
        sa.text(RETRYING),
    )
    return arrears.label("arrears"), retrying.label("card_retrying")


@dataclass(frozen=True, slots=True)
class ArrearsLine:
    member: Member
    arrears: int
    card_retrying: bool
    threshold: int

    @property
    def in_good_standing(self) -> bool:
        return max(0, self.arrears - (1 if self.card_retrying else 0)) <= self.threshold


def arrears_page(
    *, now: datetime, page: int, per_page: int, only_behind_standing: bool = False
) -> Page[ArrearsLine]:
    """Active and lapsed members who owe at least one month, most behind first.

    Nearly every member's covered months run unbroken from joining, so their arrears
    follow from first_uncovered_month alone and the list reads them in the order of
    an index, a page at a time. The few others (months covered past a gap, or a
    leaving date) have theirs counted, and the two are merged. Five queries however
    many members there are; a later page reads more index entries, never more rows.
    """
    threshold = settings.current_settings().good_standing_max_arrears
    today = clock.today(now)
    current = month_index(today)
    arrears, retrying = arrears_columns(today)
    page = max(page, 1)
    wanted = page * per_page

    # Owing at least one month, or more than the threshold (a card payment Stripe
    # is still retrying does not count against the member).
    least = threshold + 1 if only_behind_standing else 1
    newest = month_start(current - least + 1)
    # The indexes' own conditions, as literal SQL: PostgreSQL only uses a partial
    # index for a prepared statement whose conditions show it applies.
    ordered = sa.and_(sa.text(ARREARS_ORDERED), Member.first_uncovered_month <= newest)
    if only_behind_standing:
        ordered = sa.and_(
            ordered,
            sa.not_(sa.and_(Member.first_uncovered_month == newest, retrying)),
        )
    regular = db.session.execute(
        sa.select(
            Member.id, Member.member_number, Member.first_uncovered_month, retrying
        )
        .where(ordered)
        .order_by(Member.first_uncovered_month, Member.member_number)
        .limit(wanted)
    ).all()
    counted = [
        (member_id, number, int(owing), bool(retry))
        for member_id, number, owing, retry in db.session.execute(
            sa.select(Member.id, Member.member_number, arrears, retrying).where(
                sa.text(ARREARS_COUNTED),
                # Owing `least` months needs the first uncovered one that far back:
                # the members paid up past it are left out before any counting.
                Member.first_uncovered_month <= newest,
            )
        )
        if owing - (1 if retry and only_behind_standing else 0) >= least
    ]
    total = (
        db.session.scalar(sa.select(sa.func.count()).select_from(Member).where(ordered))
        or 0
    ) + len(counted)

    # (arrears, member number, member id, card retrying), merged and cut to the
    # page; only the members on it are loaded.
    merged = [
        (current - month_index(first_uncovered) + 1, number, member_id, bool(retry))
        for member_id, number, first_uncovered, retry in regular
    ]
    merged += [
        (owing, number, member_id, retry) for member_id, number, owing, retry in counted
    ]
    merged.sort(key=lambda line: (-line[0], line[1]))
    shown = merged[(page - 1) * per_page : wanted]
    loaded = {
        member.id: member
        for member in db.session.scalars(
            sa.select(Member)
            .options(*NOT_DECRYPTED)
            .where(Member.id.in_([member_id for _a, _n, member_id, _r in shown]))
        )
    }
    items = [
        ArrearsLine(loaded[member_id], owing, retry, threshold)
        for owing, _number, member_id, retry in shown
    ]
    return Page(items=items, total=total, number=page, per_page=per_page)


def arrears_by_member(member_ids: list[int], *, now: datetime) -> dict[int, int]:
    """Arrears of the given members in one query."""
    if not member_ids:
        return {}
    arrears, _retrying = arrears_columns(clock.today(now))
    rows = db.session.execute(
        sa.select(Member.id, arrears).where(Member.id.in_(member_ids))
    )
    return {member_id: int(owing) for member_id, owing in rows}


@dataclass(frozen=True, slots=True)
class LedgerFilter:
    method: PaymentMethod | None = None
    #: First day of the first and last month shown.
    from_month: date | None = None
    to_month: date | None = None
    recorded_by_id: int | None = None


def _ledger_statement(filters: LedgerFilter) -> sa.Select[DuesPayment]:
    statement = sa.select(DuesPayment).options(
        joinedload(DuesPayment.member),
        joinedload(DuesPayment.recorded_by).joinedload(User.member),
    )
    if filters.method is not None:
        statement = statement.where(DuesPayment.method == filters.method)
    if filters.from_month is not None:
        statement = statement.where(DuesPayment.paid_on >= filters.from_month)
    if filters.to_month is not None:
        statement = statement.where(
            DuesPayment.paid_on < month_start(month_index(filters.to_month) + 1)
        )
    if filters.recorded_by_id is not None:
        statement = statement.where(
            DuesPayment.recorded_by_id == filters.recorded_by_id
        )
    return statement.order_by(DuesPayment.paid_on.desc(), DuesPayment.id.desc())


def ledger_page(
    filters: LedgerFilter, *, page: int, per_page: int
) -> Page[DuesPayment]:
    return paginate(_ledger_statement(filters), page=page, per_page=per_page)


LEDGER_COLUMNS = (
    "paid_on",
    "member_number",
    "method",
    "amount",
    "initiation",
    "months",
    "months_covered",
    "receipt",
    "reference",
    "recorded_by",
    "refunded",
    "stripe_invoice",
    "stripe_payment_intent",
    "disputed",
)


def _cents(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def ledger_csv(filters: LedgerFilter, *, actor: User, now: datetime) -> Iterator[str]:
    """The filtered ledger as CSV (no names: member numbers identify the rows).
    Audit-logged when asked for; settled before the first line is streamed."""
    statement = _ledger_statement(filters).execution_options(yield_per=1000)
    audit.record("ledger.exported", actor=actor, now=now)

    def rows() -> Iterator[list[object]]:
        for batch in db.session.scalars(statement).partitions():
            months = _months_covered([p.id for p in batch])
            for payment in batch:
                covered = months.get(payment.id, [])
                yield [
                    payment.paid_on.isoformat(),
                    payment.member.member_number,
                    payment.method.value,
                    _cents(payment.amount_cents),
                    _cents(payment.initiation_cents),
                    payment.months,
                    " ".join(month.strftime("%Y-%m") for month in covered),
                    payment.receipt_number or "",
                    payment.reference or "",
                    payment.recorded_by.email if payment.recorded_by else "",
                    _cents(payment.refunded_cents),
                    payment.stripe_invoice_id or "",
                    payment.stripe_payment_intent_id or "",
                    _cents(payment.disputed_cents),
                ]

    return csv_lines(LEDGER_COLUMNS, rows())


def _months_covered(payment_ids: list[int]) -> dict[int, list[date]]:
    months: dict[int, list[date]] = {}
    rows = db.session.execute(
        sa.select(DuesCoverage.payment_id, DuesCoverage.month)
        .where(DuesCoverage.payment_id.in_(payment_ids))
        .order_by(DuesCoverage.month)
    )
    for payment_id, month in rows:
        if payment_id is not None:
            months.setdefault(payment_id, []).append(month)
    return months


@dataclass(frozen=True, slots=True)
class MonthTotals:
    month: date
    by_method: dict[PaymentMethod, int] = field(default_factory=dict)
    refunded_cents: int = 0

    @property
    def total_cents(self) -> int:
        return sum(self.by_method.values())


def monthly_totals(*, now: datetime, months: int = 12) -> list[MonthTotals]:
    """Money received in each of the last `months` months, by method, in one query."""
    last = first_of_month(clock.today(now))
    first = month_start(month_index(last) - months + 1)
    paid_month = month_number(DuesPayment.paid_on)
    rows = db.session.execute(
        sa.select(
            paid_month,
            DuesPayment.method,
            sa.func.sum(DuesPayment.amount_cents),
            sa.func.sum(DuesPayment.refunded_cents),
        )
        .where(
            DuesPayment.paid_on >= first,
            DuesPayment.method != PaymentMethod.OPENING_BALANCE,
        )
        .group_by(paid_month, DuesPayment.method)
    ).all()
    totals = {
        month_index(first) + offset: MonthTotals(
            month_start(month_index(first) + offset)
        )
        for offset in range(months)
    }
    for index, method, amount, refunded in rows:
        line = totals.get(int(index))
        if line is None:
            continue
        line.by_method[method] = int(amount or 0)
        totals[int(index)] = MonthTotals(
            line.month, line.by_method, line.refunded_cents + int(refunded or 0)
        )
    return [totals[key] for key in sorted(totals)]
