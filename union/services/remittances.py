"""Delegate remittances: the cash and e-transfers a delegate took in a month, the
receipts behind them, and the split between the branch and the parent union."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from union import clock
from union.clock import month_index, month_start
from union.db import db
from union.errors import ValidationFailed
from union.i18n import _, format_day
from union.models import HAND_METHODS, DuesPayment, Remittance, User
from union.services import audit, settings


def split(total_cents: int, parent_percent: int) -> tuple[int, int]:
    """(parent union's share, branch's share). The parent's share is rounded half up
    to the cent and the branch keeps exactly the rest, so the two always add up."""
    parent = int(
        (Decimal(total_cents) * parent_percent / 100).quantize(
            Decimal("1"), rounding=ROUND_HALF_UP
        )
    )
    return parent, total_cents - parent


def _month_range(month: date) -> tuple[date, date]:
    return month, month_start(month_index(month) + 1)


@dataclass(frozen=True, slots=True)
class RemittancePart:
    """Receipts of a delegate's month handed over together: confirmed by the
    treasurer (with the totals and split as they stood then), or not yet."""

    payments: list[DuesPayment]
    parent_cents: int
    branch_cents: int
    confirmed: Remittance | None

    @property
    def total_cents(self) -> int:
        return self.parent_cents + self.branch_cents


@dataclass(frozen=True, slots=True)
class DelegateMonth:
    """One delegate's month: its confirmed parts in the order they were
    confirmed, then what is still with the delegate, if anything."""

    delegate: User
    month: date
    parts: list[RemittancePart]
    #: The month has ended, so what is still with the delegate can be confirmed.
    ended: bool

    @property
    def payments(self) -> list[DuesPayment]:
        return [payment for part in self.parts for payment in part.payments]

    @property
    def total_cents(self) -> int:
        return sum(part.total_cents for part in self.parts)

    @property
    def parent_cents(self) -> int:
        return sum(part.parent_cents for part in self.parts)

    @property
    def branch_cents(self) -> int:
        return sum(part.branch_cents for part in self.parts)

    @property
    def waiting(self) -> RemittancePart | None:
        """The receipts not yet confirmed."""
        last = self.parts[-1] if self.parts else None
        return last if last is not None and last.confirmed is None else None

    @property
    def confirmed(self) -> list[Remittance]:
        return [part.confirmed for part in self.parts if part.confirmed is not None]


def _month_ended(month: date, today: date) -> bool:
    return _month_range(month)[1] <= today


def delegate_month(delegate: User, month: date, *, today: date) -> DelegateMonth:
    """One delegate's month: every hand payment they recorded, with receipts,
    in the parts the treasurer confirmed and the part still to confirm."""
    start, end = _month_range(month)
    payments = list(
        db.session.scalars(
            sa.select(DuesPayment)
            .where(
                DuesPayment.recorded_by_id == delegate.id,
                DuesPayment.method.in_(HAND_METHODS),
                DuesPayment.paid_on >= start,
                DuesPayment.paid_on < end,
            )
            .options(joinedload(DuesPayment.member))
            .order_by(DuesPayment.paid_on, DuesPayment.receipt_number)
        )
    )
    confirmations = list(
        db.session.scalars(
            sa.select(Remittance)
            .where(Remittance.delegate_id == delegate.id, Remittance.month == month)
            .order_by(Remittance.confirmed_at, Remittance.id)
        )
    )
    parts = [
        RemittancePart(
            [p for p in payments if p.remittance_id == remittance.id],
            remittance.parent_cents,
            remittance.branch_cents,
            remittance,
        )
        for remittance in confirmations
    ]
    known = {remittance.id for remittance in confirmations}
    waiting = [p for p in payments if p.remittance_id not in known]
    percent = settings.current_settings().parent_union_share_percent
    if waiting:
        parent, branch = split(sum(p.amount_cents for p in waiting), percent)
        parts.append(RemittancePart(waiting, parent, branch, None))
    return DelegateMonth(delegate, month, parts, _month_ended(month, today))


@dataclass(frozen=True, slots=True)
class RemittanceLine:
    delegate: User
    receipts: int
    total_cents: int
    parent_cents: int
    branch_cents: int
    #: Receipts not yet confirmed, and their money.
    waiting_receipts: int
    waiting_cents: int
    #: How many times the treasurer confirmed part of the month.
    confirmations: int

    @property
    def confirmed(self) -> bool:
        """Everything the delegate took that month has been confirmed."""
        return self.confirmations > 0 and self.waiting_receipts == 0

    @property
    def late_receipts(self) -> bool:
        """Receipts were written after the month was confirmed."""
        return self.confirmations > 0 and self.waiting_receipts > 0


@dataclass(frozen=True, slots=True)
class MonthOverview:
    month: date
    lines: list[RemittanceLine]
    #: The month has ended, so its receipts can be confirmed.
    ended: bool


def month_overview(month: date, *, today: date) -> MonthOverview:
    """Every delegate who took money in the month, with totals, in three queries."""
    start, end = _month_range(month)
    waiting = DuesPayment.remittance_id.is_(None)
    rows = db.session.execute(
        sa.select(
            DuesPayment.recorded_by_id,
            sa.func.count(DuesPayment.id).filter(waiting),
            sa.func.coalesce(sa.func.sum(DuesPayment.amount_cents).filter(waiting), 0),
            sa.func.count(DuesPayment.id),
        )
        .where(
            DuesPayment.method.in_(HAND_METHODS),
            DuesPayment.paid_on >= start,
            DuesPayment.paid_on < end,
            DuesPayment.recorded_by_id.is_not(None),
        )
        .group_by(DuesPayment.recorded_by_id)
    ).all()
    confirmed: dict[int, tuple[int, int, int]] = {
        delegate_id: (int(count), int(parent), int(branch))
        for delegate_id, count, parent, branch in db.session.execute(
            sa.select(
                Remittance.delegate_id,
                sa.func.count(Remittance.id),
                sa.func.sum(Remittance.parent_cents),
                sa.func.sum(Remittance.branch_cents),
            )
            .where(Remittance.month == month)
            .group_by(Remittance.delegate_id)
        )
    }
    delegates = {
        user.id: user
        for user in db.session.scalars(
            sa.select(User)
            .where(User.id.in_([row[0] for row in rows if row[0]]))
            .options(joinedload(User.member))
        )
    }
    percent = settings.current_settings().parent_union_share_percent
    lines = []
    for delegate_id, waiting_receipts, waiting_cents, receipts in rows:
        if delegate_id is None:  # excluded by the query; narrows the type
            continue
        confirmations, parent, branch = confirmed.get(delegate_id, (0, 0, 0))
        waiting_parent, waiting_branch = split(int(waiting_cents), percent)
        lines.append(
            RemittanceLine(
                delegate=delegates[delegate_id],
                receipts=int(receipts),
                total_cents=parent + branch + waiting_parent + waiting_branch,
                parent_cents=parent + waiting_parent,
                branch_cents=branch + waiting_branch,
                waiting_receipts=int(waiting_receipts),
                waiting_cents=int(waiting_cents),
                confirmations=confirmations,
            )
        )
    lines.sort(key=lambda line: line.delegate.display_name.lower())
    return MonthOverview(month, lines, _month_ended(month, today))


def confirm_remittance(
    delegate: User, month: date, *, actor: User, now: datetime
) -> Remittance:
    """The treasurer has the delegate's money for the receipts of the month not
    yet confirmed: their total and split are written down as they are now, and
    later changes to the split do not alter them. Only a month that has ended can
    be confirmed; confirming twice (two clicks, two treasurers) confirms once."""
    today = clock.today(now)
    if not _month_ended(month, today):
        raise ValidationFailed(
            {
                "": _(
                    "%(month)s is still running: it can be confirmed from %(day)s.",
                    month=format_day(month, "MMMM y"),
                    day=format_day(_month_range(month)[1]),
                )
            }
        )
    report = delegate_month(delegate, month, today=today)
    waiting = report.waiting
    if waiting is None:
        message = (
            _("Every receipt of this month is already confirmed.")
            if report.parts
            else _("This delegate recorded nothing that month.")
        )
        raise ValidationFailed({"": message})
    remittance = Remittance(
        delegate_id=delegate.id,
        month=month,
        total_cents=waiting.total_cents,
        parent_cents=waiting.parent_cents,
        branch_cents=waiting.branch_cents,
        receipts=len(waiting.payments),
        confirmed_at=now,
        confirmed_by_id=actor.id,
    )
    db.session.add(remittance)
    db.session.flush()
    ids = [payment.id for payment in waiting.payments]
    taken = db.session.execute(
        sa.update(DuesPayment)
        .where(DuesPayment.id.in_(ids), DuesPayment.remittance_id.is_(None))
        .values(remittance_id=remittance.id)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != len(ids):  # type: ignore[attr-defined]
        # Someone confirmed these receipts while this was being worked out.
        raise ValidationFailed(
            {"": _("Every receipt of this month is already confirmed.")}
        )
    for payment in waiting.payments:
        db.session.expire(payment, ["remittance_id"])
    audit.record("dues.remittance_confirmed", actor=actor, now=now, subject=remittance)
    return remittance
