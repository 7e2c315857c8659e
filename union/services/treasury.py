"""The treasurer's reading of the ledger: payments filtered and exported as CSV, the
arrears list, and monthly totals.

Nothing here writes money (union.services.ledger does); an export only adds an
audit row.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import contains_eager, joinedload
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction

from union import clock
from union.adapters.csvsafe import csv_lines
from union.clock import first_of_month, month_index, month_start
from union.db import db
from union.errors import NotFound
from union.models import (
    ARREARS_COUNTED,
    ARREARS_ORDERED,
    DuesCoverage,
    DuesMonthTotal,
    DuesPayment,
    DuesSubscription,
    Member,
    PaymentMethod,
    User,
)
from union.services import audit, settings
from union.services.paging import Page, Sort, SortKeys, paginate
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
        return _in_good_standing(self.arrears, self.card_retrying, self.threshold)


def _in_good_standing(arrears: int, card_retrying: bool, threshold: int) -> bool:
    return max(0, arrears - (1 if card_retrying else 0)) <= threshold


#: How the arrears list can be sorted: most months owed first unless asked otherwise.
ARREARS_SORTS = SortKeys(
    ("owed", "member"), default="-owed", first_descending=frozenset({"owed"})
)


@dataclass(frozen=True, slots=True)
class _Owing:
    """One member on the arrears list, before their row is loaded."""

    arrears: int
    member_number: int
    member_id: int
    card_retrying: bool


@dataclass(frozen=True, slots=True)
class _ArrearsList:
    """Who is on the arrears list, in two parts read separately (see arrears_page)."""

    #: Members whose arrears follow from first_uncovered_month alone (SQL condition).
    regular: Any
    #: The others, with their arrears counted, already filtered.
    counted: list[_Owing]
    #: This month, as union.clock.month_index counts.
    current: int


def _arrears_list(*, today: date, threshold: int, only_behind: bool) -> _ArrearsList:
    current = month_index(today)
    arrears, retrying = arrears_columns(today)
    # Owing at least one month, or more than the threshold (a card payment Stripe
    # is still retrying does not count against the member).
    least = threshold + 1 if only_behind else 1
    newest = month_start(current - least + 1)
    # The indexes' own conditions, as literal SQL: PostgreSQL only uses a partial
    # index for a prepared statement whose conditions show it applies.
    regular = sa.and_(sa.text(ARREARS_ORDERED), Member.first_uncovered_month <= newest)
    if only_behind:
        regular = sa.and_(
            regular,
            sa.not_(sa.and_(Member.first_uncovered_month == newest, retrying)),
        )
    counted = [
        _Owing(int(owing), number, member_id, bool(retry))
        for member_id, number, owing, retry in db.session.execute(
            sa.select(Member.id, Member.member_number, arrears, retrying).where(
                sa.text(ARREARS_COUNTED),
                # Owing `least` months needs the first uncovered one that far back:
                # the members paid up past it are left out before any counting.
                Member.first_uncovered_month <= newest,
            )
        )
        if owing - (1 if retry and only_behind else 0) >= least
    ]
    return _ArrearsList(regular, counted, current)


def _regular_owing(
    found: _ArrearsList, sort: Sort, *, limit: int | None, today: date
) -> Iterator[_Owing]:
    """The regular part in the sort's order: most owed is the earliest first
    uncovered month, read from ix_members_arrears (backwards for the fewest
    first); by member number, from the member numbers' own unique index."""
    _arrears, retrying = arrears_columns(today)
    if sort.key == "owed":
        order = [
            column.asc() if sort.descending else column.desc()
            for column in (Member.first_uncovered_month, Member.member_number)
        ]
    else:
        order = sort.ordered(Member.member_number)
    statement = (
        sa.select(
            Member.id, Member.member_number, Member.first_uncovered_month, retrying
        )
        .where(found.regular)
        .order_by(*order)
        .limit(limit)
    )
    if limit is None:
        statement = statement.execution_options(yield_per=1000)
    for member_id, number, first_uncovered, retry in db.session.execute(statement):
        yield _Owing(
            found.current - month_index(first_uncovered) + 1,
            number,
            member_id,
            bool(retry),
        )


def _merge_order(sort: Sort) -> tuple[Callable[[_Owing], Any], bool]:
    """(key, reverse) putting both parts in the order SQL reads the regular one:
    ties in months owed by member number, in the other direction (as an index read
    backwards gives them)."""
    if sort.key == "owed":
        return (lambda line: (line.arrears, -line.member_number)), sort.descending
    return (lambda line: line.member_number), sort.descending


def arrears_page(
    *,
    now: datetime,
    page: int,
    per_page: int,
    only_behind_standing: bool = False,
    sort: Sort | None = None,
) -> Page[ArrearsLine]:
    """Active and lapsed members who owe at least one month, most behind first
    unless `sort` says otherwise.

    Nearly every member's covered months run unbroken from joining, so their arrears
    follow from first_uncovered_month alone and the list reads them in the order of
    an index, a page at a time. The few others (months covered past a gap, or a
    leaving date) have theirs counted, and the two are merged. Five queries however
    many members there are; a later page reads more index entries, never more rows.
    """
    sort = sort or ARREARS_SORTS.read(None)
    threshold = settings.current_settings().good_standing_max_arrears
    today = clock.today(now)
    page = max(page, 1)
    wanted = page * per_page
    found = _arrears_list(
        today=today, threshold=threshold, only_behind=only_behind_standing
    )
    total = (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Member).where(found.regular)
        )
        or 0
    ) + len(found.counted)

    key, reverse = _merge_order(sort)
    merged = sorted(
        [*_regular_owing(found, sort, limit=wanted, today=today), *found.counted],
        key=key,
        reverse=reverse,
    )
    shown = merged[(page - 1) * per_page : wanted]
    # Only the members on the page are loaded.
    loaded = {
        member.id: member
        for member in db.session.scalars(
            sa.select(Member)
            .options(*NOT_DECRYPTED)
            .where(Member.id.in_([line.member_id for line in shown]))
        )
    }
    items = [
        ArrearsLine(loaded[line.member_id], line.arrears, line.card_retrying, threshold)
        for line in shown
    ]
    return Page(items=items, total=total, number=page, per_page=per_page)


ARREARS_COLUMNS = ("member_number", "months_owed", "in_good_standing", "card_retrying")


def arrears_csv(
    *, only_behind_standing: bool, sort: Sort, actor: User, now: datetime
) -> Iterator[str]:
    """The whole arrears list as CSV, with the page's filter and order (no names:
    member numbers identify the rows). Audit-logged when asked for; settled before
    the first line is streamed. The regular part streams from its index and the
    counted part, which is small, is merged in as it goes."""
    threshold = settings.current_settings().good_standing_max_arrears
    today = clock.today(now)
    found = _arrears_list(
        today=today, threshold=threshold, only_behind=only_behind_standing
    )
    audit.record("arrears.exported", actor=actor, now=now)
    key, reverse = _merge_order(sort)

    def rows() -> Iterator[list[object]]:
        regular = _regular_owing(found, sort, limit=None, today=today)
        counted = sorted(found.counted, key=key, reverse=reverse)
        for line in heapq.merge(regular, counted, key=key, reverse=reverse):
            yield [
                line.member_number,
                line.arrears,
                _yes_no(_in_good_standing(line.arrears, line.card_retrying, threshold)),
                _yes_no(line.card_retrying),
            ]

    return csv_lines(ARREARS_COLUMNS, rows())


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def member_for_treasury(public_id: str) -> Member:
    """A member by public id, for the treasurer, who reads the whole ledger: their
    dues only, so neither the legal name nor the phone is read."""
    member = db.session.scalar(
        sa.select(Member)
        .where(Member.public_id == public_id)
        .options(*NOT_DECRYPTED, joinedload(Member.dues_level))
    )
    if member is None:
        raise NotFound
    return member


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


#: How the ledger can be sorted; the newest payments first unless asked otherwise.
LEDGER_SORTS = SortKeys(
    ("date", "member", "amount"),
    default="-date",
    first_descending=frozenset({"date", "amount"}),
)


def _ledger_order(sort: Sort) -> list[Any]:
    # Each order ends with the payment's id, so that rows tied on the key (a day's
    # payments, every $11.00) keep one order across pages. The indexes on
    # (paid_on, id) and (amount_cents, id) serve them in either direction.
    if sort.key == "member":
        return sort.ordered(Member.member_number, DuesPayment.id)
    if sort.key == "amount":
        return sort.ordered(DuesPayment.amount_cents, DuesPayment.id)
    return sort.ordered(DuesPayment.paid_on, DuesPayment.id)


def _ledger_conditions(filters: LedgerFilter) -> list[Any]:
    conditions: list[Any] = []
    if filters.method is not None:
        conditions.append(DuesPayment.method == filters.method)
    if filters.from_month is not None:
        conditions.append(DuesPayment.paid_on >= filters.from_month)
    if filters.to_month is not None:
        conditions.append(
            DuesPayment.paid_on < month_start(month_index(filters.to_month) + 1)
        )
    if filters.recorded_by_id is not None:
        conditions.append(DuesPayment.recorded_by_id == filters.recorded_by_id)
    return conditions


def _ledger_statement(filters: LedgerFilter, sort: Sort) -> sa.Select[DuesPayment]:
    # The member is joined plainly, not eagerly, so the member sort can name it.
    return (
        sa.select(DuesPayment)
        .join(DuesPayment.member)
        .options(
            contains_eager(DuesPayment.member)
            .defer(Member.legal_name)
            .defer(Member.phone),
            joinedload(DuesPayment.recorded_by).joinedload(User.member),
        )
        .where(*_ledger_conditions(filters))
        .order_by(*_ledger_order(sort))
    )


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    """What the payments matching the ledger's filters add up to."""

    payments: int
    #: Every amount paid, initiation fees included, in cents.
    amount_cents: int
    #: Of that, what went back to cardholders (refunds and disputes), in cents.
    returned_cents: int


def _month_total_conditions(filters: LedgerFilter) -> list[Any]:
    """_ledger_conditions on the monthly totals: the filters are by whole months.
    The totals are not kept by who took the payments (a delegate's are found
    by their own index)."""
    conditions: list[Any] = []
    if filters.method is not None:
        conditions.append(DuesMonthTotal.method == filters.method)
    if filters.from_month is not None:
        conditions.append(DuesMonthTotal.month >= first_of_month(filters.from_month))
    if filters.to_month is not None:
        conditions.append(DuesMonthTotal.month <= first_of_month(filters.to_month))
    return conditions


def ledger_totals(filters: LedgerFilter) -> LedgerTotals:
    """The number of matching payments and their sums, in one query: over the
    totals the database keeps by month and method (DuesMonthTotal, a few rows a
    month whatever the number of payments), or over one delegate's payments."""
    if filters.recorded_by_id is None:
        sums = _sums(
            sa.func.sum(DuesMonthTotal.payments),
            DuesMonthTotal.amount_cents,
            DuesMonthTotal.refunded_cents + DuesMonthTotal.disputed_cents,
        ).where(*_month_total_conditions(filters))
    else:
        sums = _sums(
            sa.func.count(),
            DuesPayment.amount_cents,
            DuesPayment.refunded_cents + DuesPayment.disputed_cents,
        ).where(*_ledger_conditions(filters))
    found, amount, returned = db.session.execute(sums).one()
    return LedgerTotals(int(found), int(amount), int(returned))


def _sums(count: Any, amount: Any, returned: Any) -> sa.Select[Any]:
    return sa.select(
        sa.func.coalesce(count, 0),
        sa.func.coalesce(sa.func.sum(amount), 0),
        sa.func.coalesce(sa.func.sum(returned), 0),
    )


@dataclass(frozen=True, slots=True)
class LedgerPage:
    page: Page[DuesPayment]
    totals: LedgerTotals


def ledger_page(
    filters: LedgerFilter, *, sort: Sort, page: int, per_page: int
) -> LedgerPage:
    """One page of the filtered ledger in the order asked for, with the totals of
    every matching payment: two queries whatever the size (the count comes with
    the totals)."""
    totals = ledger_totals(filters)
    return LedgerPage(
        paginate(
            _ledger_statement(filters, sort),
            page=page,
            per_page=per_page,
            total=totals.payments,
        ),
        totals,
    )


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


def ledger_csv(
    filters: LedgerFilter, *, sort: Sort, actor: User, now: datetime
) -> Iterator[str]:
    """The filtered ledger as CSV, in the page's order (no names: member numbers
    identify the rows). Audit-logged when asked for; settled before the first line
    is streamed."""
    statement = _ledger_statement(filters, sort).execution_options(yield_per=1000)
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
    rows = db.session.execute(
        sa.select(
            DuesMonthTotal.month,
            DuesMonthTotal.method,
            sa.func.sum(DuesMonthTotal.amount_cents),
            sa.func.sum(DuesMonthTotal.refunded_cents),
        )
        .where(
            DuesMonthTotal.month >= first,
            DuesMonthTotal.method != PaymentMethod.OPENING_BALANCE,
        )
        .group_by(DuesMonthTotal.month, DuesMonthTotal.method)
    ).all()
    totals = {
        month_index(first) + offset: MonthTotals(
            month_start(month_index(first) + offset)
        )
        for offset in range(months)
    }
    for month, method, amount, refunded in rows:
        index = month_index(month)
        line = totals.get(index)
        if line is None:
            continue
        line.by_method[method] = int(amount or 0)
        totals[index] = MonthTotals(
            line.month, line.by_method, line.refunded_cents + int(refunded or 0)
        )
    return [totals[key] for key in sorted(totals)]
