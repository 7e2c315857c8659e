"""Years of monthly dues: card invoices, cash and e-transfers with receipts, hardship
waivers, refunds, card subscriptions and delegates' confirmed remittances.

Each member's history is played forward in time through the same rule the app
applies in union.services.ledger.record_payment: a payment covers the member's
oldest uncovered months, a granted waiver the months it names that nothing covers
yet, and a full refund uncovers what its payment covered.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa

from union.adapters.bulk import table
from union.clock import month_start
from union.generate import Context, MemberPlan
from union.models import (
    DuesCoverage,
    DuesPayment,
    DuesSubscription,
    DuesWaiver,
    Member,
    MemberStatus,
    PaymentMethod,
    Remittance,
    WaiverReason,
    WaiverStatus,
)
from union.services import remittances, settings

#: Members whose history is made and written at a time.
BATCH = 2000

HAND = {"cash": PaymentMethod.CASH, "etransfer": PaymentMethod.ETRANSFER}
#: How many months a hand payment covers, as delegates see it.
HAND_MONTHS = (1, 1, 1, 2, 3, 3, 6, 12)

#: A payment row's columns, in the order _payment builds it.
PAYMENT_COLUMNS = (
    "id",
    "member_id",
    "method",
    "amount_cents",
    "initiation_cents",
    "currency",
    "months",
    "paid_on",
    "recorded_at",
    "recorded_by_id",
    "receipt_number",
    "reference",
    "stripe_invoice_id",
    "stripe_payment_intent_id",
    "refunded_cents",
)
AMOUNT = PAYMENT_COLUMNS.index("amount_cents")
PAID_ON = PAYMENT_COLUMNS.index("paid_on")
REFUNDED = PAYMENT_COLUMNS.index("refunded_cents")

#: A payment row (values in PAYMENT_COLUMNS order) and the months it covered.
_Paid = tuple[list[Any], list[int]]


class CoveredMonths:
    """One member's covered months (as month indexes) and what covers each.

    `cover_oldest` gives the same months as union.rules.standing.months_to_cover, without
    scanning from the start month every time.
    """

    def __init__(self, start: int) -> None:
        self.start = start
        self.by: dict[int, tuple[str, int]] = {}
        self._first_free = start

    def cover_oldest(self, count: int, source: tuple[str, int]) -> list[int]:
        chosen: list[int] = []
        month = self._first_free
        while len(chosen) < count:
            if month not in self.by:
                chosen.append(month)
                self.by[month] = source
            month += 1
        while self._first_free in self.by:
            self._first_free += 1
        return chosen

    def cover(self, months: range, source: tuple[str, int]) -> list[int]:
        """The months of `months` that nothing covered yet, now covered by `source`."""
        chosen = [month for month in months if month not in self.by]
        for month in chosen:
            self.by[month] = source
        while self._first_free in self.by:
            self._first_free += 1
        return chosen

    def release(self, months: list[int]) -> None:
        for month in months:
            del self.by[month]
        self._first_free = min([self._first_free, *months])

    @property
    def first_uncovered(self) -> int:
        return self._first_free

    def uncovered_between(self, first: int, last: int) -> int:
        return sum(1 for month in range(first, last + 1) if month not in self.by)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(15, 0), tzinfo=UTC)


def _refund(row: list[Any], covered: list[int], months: CoveredMonths) -> None:
    """Refunds a payment in full, which uncovers the months it covered."""
    row[REFUNDED] = row[AMOUNT]
    months.release(covered)


def _level_at(plan: MemberPlan, month: int) -> int:
    chosen = plan.levels[0][1]
    for first, level_id in plan.levels:
        if first <= month:
            chosen = level_id
    return chosen


class _Batch:
    def __init__(self) -> None:
        #: (member id, first uncovered month, months covered after it)
        self.summaries: list[tuple[int, date, int, date | None]] = []
        self.payments: list[list[Any]] = []
        self.coverage: list[tuple[int, date, int | None, int | None]] = []
        self.waivers: list[tuple[Any, ...]] = []
        self.subscriptions: list[tuple[Any, ...]] = []


class _Dues:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.rng = context.rng
        self.today = context.today
        self.receipt = 0
        self.case = 0
        #: (delegate, first day of month) -> [total cents, receipts]
        self.collected: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])

    def _cents(self, plan: MemberPlan, month: int) -> int:
        return self.context.level_cents[_level_at(plan, month)]

    def _paid_on(self, month: int, late_days: int) -> date:
        first = month_start(month)
        day = date.fromordinal(first.toordinal() + late_days)
        return min(self.today, day)

    def member(self, plan: MemberPlan, batch: _Batch) -> None:
        """Plays one member's dues forward, adding their rows to the batch.

        The steps draw from the one random sequence in a fixed order, so that a seed
        keeps making the same ledger: a new draw goes after the others."""
        if plan.status == MemberStatus.APPLICANT:
            return
        last_owed = plan.left if plan.left is not None else self.context.this_month
        months = CoveredMonths(plan.joined)
        self._waivers(plan, batch, months, last_owed)
        paid = self._payments(plan, batch, months, last_owed)
        if plan.method == "card":
            self._refund_one_later(paid, months)
        self._coverage(plan, batch, months)
        if plan.method == "card":
            self._subscription(plan, batch, paid)

    def _waivers(
        self, plan: MemberPlan, batch: _Batch, months: CoveredMonths, last_owed: int
    ) -> None:
        """A few members had a hardship waiver granted; a very few active members
        are waiting for an answer about the coming months."""
        rng, this_month = self.rng, self.context.this_month
        if rng.random() < 0.04 and last_owed - plan.joined >= 4:
            first = rng.randint(plan.joined, last_owed - 1)
            last = min(first + rng.randint(1, 5), last_owed)
            self._waiver(plan, batch, months, first, last, granted=True)
        if plan.status == MemberStatus.ACTIVE and rng.random() < 0.005:
            self._waiver(
                plan, batch, months, this_month + 1, this_month + 3, granted=False
            )

    def _payments(
        self, plan: MemberPlan, batch: _Batch, months: CoveredMonths, last_owed: int
    ) -> list[_Paid]:
        """Payments covering the months owed, oldest first, up to where the member
        stands at the end (behind or ahead): card one month at a time, by hand a few
        months at a time. Now and then a card payment is refunded straight away."""
        rng = self.rng
        card = plan.method == "card"
        to_pay = months.uncovered_between(plan.joined, last_owed - plan.behind)
        refund_at = (
            rng.randrange(to_pay) if card and to_pay > 3 and rng.random() < 0.03 else -1
        )
        paid: list[_Paid] = []
        while to_pay > 0:
            count = 1 if card else min(rng.choice(HAND_MONTHS), to_pay)
            row, covered = self._pay(plan, months, count, first=not paid)
            to_pay -= count
            if len(paid) == refund_at:
                # The next payment covers the same months again.
                _refund(row, covered, months)
                to_pay += count
            paid.append((row, covered))
            batch.payments.append(row)
        return paid

    def _pay(
        self, plan: MemberPlan, months: CoveredMonths, count: int, *, first: bool
    ) -> _Paid:
        """A payment for the `count` oldest uncovered months, with the initiation
        fee (a month at the joining level) on the member's first payment."""
        payment_id = self.context.writer.ids(table(DuesPayment), 1)[0]
        covered = months.cover_oldest(count, ("payment", payment_id))
        cents = sum(self._cents(plan, month) for month in covered)
        initiation = self._cents(plan, plan.joined) if first else 0
        late_days = self.rng.randint(0, 4 if plan.method == "card" else 24)
        paid_on = self._paid_on(covered[0], late_days)
        row = self._payment(
            plan, payment_id, covered, cents + initiation, initiation, paid_on
        )
        return row, covered

    def _refund_one_later(self, paid: list[_Paid], months: CoveredMonths) -> None:
        """Now and then a card payment is refunded long after, leaving a hole in the
        middle of the member's history."""
        rng = self.rng
        if len(paid) > 6 and rng.random() < 0.01:
            row, covered = paid[rng.randrange(1, len(paid) - 3)]
            if row[REFUNDED] == 0:
                _refund(row, covered, months)

    def _coverage(self, plan: MemberPlan, batch: _Batch, months: CoveredMonths) -> None:
        """One coverage row per covered month, and the member's arrears summary."""
        for month, (kind, source_id) in sorted(months.by.items()):
            batch.coverage.append(
                (
                    plan.id,
                    month_start(month),
                    source_id if kind == "payment" else None,
                    source_id if kind == "waiver" else None,
                )
            )
        first = months.first_uncovered
        batch.summaries.append(
            (
                plan.id,
                month_start(first),
                sum(1 for m in months.by if m > first),
                month_start(max(months.by)) if months.by else None,
            )
        )

    def _payment(
        self,
        plan: MemberPlan,
        payment_id: int,
        covered: list[int],
        amount: int,
        initiation: int,
        paid_on: date,
    ) -> list[Any]:
        rng = self.rng
        recorded_by = receipt = reference = invoice = intent = None
        if plan.method == "card":
            method = PaymentMethod.CARD_SUBSCRIPTION
            invoice, intent = f"in_gen{payment_id}", f"pi_gen{payment_id}"
        else:
            method = HAND[plan.method]
            recorded_by = self.rng.choice(
                self.context.stewards_by_workplace[plan.workplace_id]
            )
            self.receipt += 1
            receipt = self.receipt
            if method is PaymentMethod.ETRANSFER:
                reference = f"CA{rng.getrandbits(40):010X}"
            collected = self.collected[(recorded_by, paid_on.replace(day=1))]
            collected[0] += amount
            collected[1] += 1
        return [
            payment_id,
            plan.id,
            method,
            amount,
            initiation,
            "CAD",
            len(covered),
            paid_on,
            _at(paid_on),
            recorded_by,
            receipt,
            reference,
            invoice,
            intent,
            0,
        ]

    def _waiver(
        self,
        plan: MemberPlan,
        batch: _Batch,
        months: CoveredMonths,
        first: int,
        last: int,
        *,
        granted: bool,
    ) -> None:
        waiver_id = self.context.writer.ids(table(DuesWaiver), 1)[0]
        self.case += 1
        asked = self._paid_on(min(first, self.context.this_month), 0)
        if granted:
            months.cover(range(first, last + 1), ("waiver", waiver_id))
        batch.waivers.append(
            (
                waiver_id,
                self.case,
                plan.id,
                self.rng.choice(list(WaiverReason)),
                month_start(first),
                month_start(last),
                WaiverStatus.GRANTED if granted else WaiverStatus.PENDING,
                _at(asked),
                _at(asked) if granted else None,
                self.context.treasurer_id if granted else None,
            )
        )

    def _subscription(
        self,
        plan: MemberPlan,
        batch: _Batch,
        paid: list[_Paid],
    ) -> None:
        if not paid:
            return
        status = "active"
        if plan.status != MemberStatus.ACTIVE:
            status = "canceled"
        elif plan.behind > 0 and self.rng.random() < 0.5:
            # Stripe is still retrying this month's card payment.
            status = "past_due"
        last_paid = paid[-1][0][PAID_ON]
        batch.subscriptions.append(
            (
                plan.id,
                f"sub_gen{plan.id}",
                status,
                False,
                _at(month_start(self.context.this_month + 1)),
                _at(last_paid),
                self.context.now,
            )
        )


def dues_history(context: Context) -> None:
    writer = context.writer
    dues = _Dues(context)
    plans = context.members
    for start in range(0, len(plans), BATCH):
        batch = _Batch()
        for plan in plans[start : start + BATCH]:
            dues.member(plan, batch)
        writer.write(
            table(DuesWaiver),
            (
                "id",
                "case_number",
                "member_id",
                "reason",
                "first_month",
                "last_month",
                "status",
                "requested_at",
                "decided_at",
                "decided_by_id",
            ),
            batch.waivers,
        )
        writer.write(table(DuesPayment), PAYMENT_COLUMNS, batch.payments)
        coverage = table(DuesCoverage)
        writer.write_numbered(
            coverage,
            ("id", "member_id", "month", "payment_id", "waiver_id"),
            batch.coverage,
        )
        writer.update(
            table(Member),
            ("first_uncovered_month", "months_covered_later", "last_covered_month"),
            batch.summaries,
        )
        subscriptions = table(DuesSubscription)
        writer.write_numbered(
            subscriptions,
            (
                "id",
                "member_id",
                "stripe_subscription_id",
                "status",
                "cancel_at_period_end",
                "current_period_end",
                "last_event_created",
                "updated_at",
            ),
            batch.subscriptions,
        )
        context.progress("dues", min(start + BATCH, len(plans)), len(plans))
    _remittances(context, dues)
    context.counters["receipt"] = dues.receipt
    context.counters["waiver_case"] = dues.case


def _remittances(context: Context, dues: _Dues) -> None:
    """Delegates' months confirmed by the treasurer, all but the last two."""
    percent = settings.current_settings().parent_union_share_percent
    cutoff = month_start(context.this_month - 1)
    rows = []
    for (delegate, month), (total, receipts) in sorted(dues.collected.items()):
        if month >= cutoff:
            continue
        parent, branch = remittances.split(total, percent)
        confirmed = _at(month_start(month.year * 12 + month.month))
        rows.append(
            (
                delegate,
                month,
                total,
                parent,
                branch,
                receipts,
                confirmed,
                context.treasurer_id,
            )
        )
    confirmed_months = table(Remittance)
    context.writer.write_numbered(
        confirmed_months,
        (
            "id",
            "delegate_id",
            "month",
            "total_cents",
            "parent_cents",
            "branch_cents",
            "receipts",
            "confirmed_at",
            "confirmed_by_id",
        ),
        rows,
    )
    # Each confirmed month took in every receipt its delegate wrote that month.
    # The confirmations were just written, so PostgreSQL has no statistics for them
    # and would scan them all for every payment (an hour at 100,000 members,
    # under a minute once it knows their size).
    if context.writer.dialect.name == "postgresql":
        context.writer.connection.execute(sa.text("ANALYZE remittances"))
    payments = table(DuesPayment)
    confirmed_month = (
        sa.select(sa.func.max(confirmed_months.c.id))
        .where(
            confirmed_months.c.delegate_id == payments.c.recorded_by_id,
            confirmed_months.c.month <= payments.c.paid_on,
        )
        .scalar_subquery()
    )
    context.writer.connection.execute(
        sa.update(payments)
        .where(
            payments.c.method.in_(list(HAND.values())),
            payments.c.recorded_by_id.is_not(None),
            payments.c.paid_on < cutoff,
        )
        .values(remittance_id=confirmed_month)
    )
