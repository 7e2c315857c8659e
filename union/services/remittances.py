"""Delegate remittances: the cash and e-transfers a delegate took in a month, the
receipts behind them, and the split between the branch and the parent union."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from union.clock import month_index, month_start
from union.db import db
from union.errors import ValidationFailed
from union.i18n import _
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
class DelegateMonth:
    delegate: User
    month: date
    payments: list[DuesPayment]
    parent_cents: int
    branch_cents: int
    confirmed: Remittance | None

    @property
    def total_cents(self) -> int:
        return sum(p.amount_cents for p in self.payments)


def delegate_month(delegate: User, month: date) -> DelegateMonth:
    """One delegate's month: every hand payment they recorded, with receipts."""
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
    confirmed = db.session.scalar(
        sa.select(Remittance).where(
            Remittance.delegate_id == delegate.id, Remittance.month == month
        )
    )
    total = sum(p.amount_cents for p in payments)
    if confirmed is not None:
        parent, branch = confirmed.parent_cents, confirmed.branch_cents
    else:
        parent, branch = split(
            total, settings.current_settings().parent_union_share_percent
        )
    return DelegateMonth(delegate, month, payments, parent, branch, confirmed)


@dataclass(frozen=True, slots=True)
class RemittanceLine:
    delegate: User
    receipts: int
    total_cents: int
    parent_cents: int
    branch_cents: int
    confirmed: Remittance | None


def month_overview(month: date) -> list[RemittanceLine]:
    """Every delegate who took money in the month, with totals, in two queries."""
    start, end = _month_range(month)
    rows = db.session.execute(
        sa.select(
            DuesPayment.recorded_by_id,
            sa.func.count(DuesPayment.id),
            sa.func.sum(DuesPayment.amount_cents),
        )
        .where(
            DuesPayment.method.in_(HAND_METHODS),
            DuesPayment.paid_on >= start,
            DuesPayment.paid_on < end,
            DuesPayment.recorded_by_id.is_not(None),
        )
        .group_by(DuesPayment.recorded_by_id)
    ).all()
    confirmed = {
        r.delegate_id: r
        for r in db.session.scalars(
            sa.select(Remittance)
            .where(Remittance.month == month)
            .options(joinedload(Remittance.delegate))
        )
    }
    delegates = {
        user.id: user
        for user in db.session.scalars(
            sa.select(User)
            .where(User.id.in_([row[0] for row in rows if row[0]] + list(confirmed)))
            .options(joinedload(User.member))
        )
    }
    percent = settings.current_settings().parent_union_share_percent
    lines = []
    for delegate_id, receipts, total in rows:
        if delegate_id is None:  # excluded by the query; narrows the type
            continue
        done = confirmed.get(delegate_id)
        parent, branch = (
            (done.parent_cents, done.branch_cents)
            if done
            else split(int(total), percent)
        )
        lines.append(
            RemittanceLine(
                delegates[delegate_id], receipts, int(total), parent, branch, done
            )
        )
    return sorted(lines, key=lambda line: line.delegate.display_name.lower())


def confirm_remittance(
    delegate: User, month: date, *, actor: User, now: datetime
) -> Remittance:
    """The treasurer has the delegate's money for the month: the totals and split are
    written down as they are now, and later changes to the split do not alter them."""
    report = delegate_month(delegate, month)
    if report.confirmed is not None:
        raise ValidationFailed({"": _("This month was already confirmed.")})
    if not report.payments:
        raise ValidationFailed({"": _("This delegate recorded nothing that month.")})
    remittance = Remittance(
        delegate_id=delegate.id,
        month=month,
        total_cents=report.total_cents,
        parent_cents=report.parent_cents,
        branch_cents=report.branch_cents,
        receipts=len(report.payments),
        confirmed_at=now,
        confirmed_by_id=actor.id,
    )
    db.session.add(remittance)
    db.session.flush()
    audit.record("dues.remittance_confirmed", actor=actor, now=now, subject=remittance)
    return remittance
