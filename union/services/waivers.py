"""Hardship waivers: a member asks, the treasurer decides by case number, not name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from union import clock
from union.clock import first_of_month, month_index, months_through
from union.db import db
from union.errors import InvalidTransition, NotFound, ValidationFailed
from union.i18n import _
from union.models import (
    DuesCoverage,
    DuesWaiver,
    Member,
    NotificationKind,
    User,
    WaiverReason,
    WaiverStatus,
)
from union.services import audit, dues, ledger, notifications_feed, numbers, treasury

#: The longest stretch one waiver may cover; longer hardship is asked for again.
MAX_WAIVER_MONTHS = 12


def request_waiver(
    member: Member,
    *,
    reason: WaiverReason,
    first_month: date,
    last_month: date,
    actor: User,
    now: datetime,
) -> DuesWaiver:
    """A member asks not to owe dues for some months. Until it is decided, no
    reminder is sent about those months."""
    first_month, last_month = first_of_month(first_month), first_of_month(last_month)
    this_month = first_of_month(clock.today(now))
    errors: dict[str, str] = {}
    if last_month < first_month:
        errors["last_month"] = _("The last month is before the first.")
    elif month_index(last_month) - month_index(first_month) + 1 > MAX_WAIVER_MONTHS:
        errors["last_month"] = _(
            "Ask for %(most)d months at most; you can ask again later.",
            most=MAX_WAIVER_MONTHS,
        )
    if first_month < dues.start_month(member):
        errors["first_month"] = _("That is before you joined.")
    elif month_index(first_month) > month_index(this_month) + 3:
        errors["first_month"] = _("Ask for months starting within the next three.")
    if not errors and _overlapping(member.id, first_month, last_month):
        errors["first_month"] = _(
            "You already have a waiver asked for or granted for some of these months."
        )
    if errors:
        raise ValidationFailed(errors)
    waiver = DuesWaiver(
        case_number=numbers.next_number("waiver_case"),
        member_id=member.id,
        reason=reason,
        first_month=first_month,
        last_month=last_month,
        status=WaiverStatus.PENDING,
        requested_at=now,
    )
    db.session.add(waiver)
    db.session.flush()
    audit.record("dues.waiver_requested", actor=actor, now=now, subject=waiver)
    return waiver


def _overlapping(member_id: int, first_month: date, last_month: date) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(DuesWaiver)
            .where(
                DuesWaiver.member_id == member_id,
                DuesWaiver.status != WaiverStatus.DECLINED,
                DuesWaiver.first_month <= last_month,
                DuesWaiver.last_month >= first_month,
            )
        )
    )


def decide_waiver(
    waiver: DuesWaiver, *, grant: bool, actor: User, now: datetime
) -> None:
    """Grants or declines a pending waiver. Granted months that no payment covers yet
    count as covered; months already paid stay paid."""
    if waiver.status is not WaiverStatus.PENDING:
        raise InvalidTransition(_("This case has already been decided."))
    waiver.status = WaiverStatus.GRANTED if grant else WaiverStatus.DECLINED
    waiver.decided_at = now
    waiver.decided_by_id = actor.id
    if grant:
        member = ledger.lock_member(waiver.member_id)
        taken = dues.covered_months(waiver.member_id)
        for month in months_through(waiver.first_month, waiver.last_month):
            if month not in taken:
                db.session.add(
                    DuesCoverage(
                        member_id=waiver.member_id, month=month, waiver_id=waiver.id
                    )
                )
                taken.add(month)
        ledger.note_coverage(member, taken)
    action = "dues.waiver_granted" if grant else "dues.waiver_declined"
    audit.record(action, actor=actor, now=now, subject=waiver)
    member_user = waiver.member.user
    if member_user is not None:
        notifications_feed.notify(
            [member_user],
            NotificationKind.WAIVER_DECIDED,
            {
                "case": waiver.case_number,
                "granted": grant,
                "first_month": waiver.first_month.isoformat(),
                "last_month": waiver.last_month.isoformat(),
            },
            about=f"waiver-{waiver.id}",
            now=now,
        )
    db.session.flush()


def waiver_by_case(case_number: int) -> DuesWaiver:
    waiver = db.session.scalar(
        sa.select(DuesWaiver).where(DuesWaiver.case_number == case_number)
    )
    if waiver is None:
        raise NotFound
    return waiver


@dataclass(frozen=True, slots=True)
class WaiverCase:
    """A waiver as the treasurer sees it: by case number, never by name."""

    waiver: DuesWaiver
    #: The member's months in arrears now (not their name).
    arrears: int

    @property
    def months(self) -> int:
        return (
            month_index(self.waiver.last_month)
            - month_index(self.waiver.first_month)
            + 1
        )


def cases(*, status: WaiverStatus | None, now: datetime) -> list[WaiverCase]:
    """Waivers for review, oldest request first, each with the member's arrears."""
    statement = sa.select(DuesWaiver).order_by(DuesWaiver.requested_at)
    if status is not None:
        statement = statement.where(DuesWaiver.status == status)
    found = list(db.session.scalars(statement))
    arrears = treasury.arrears_by_member([w.member_id for w in found], now=now)
    return [WaiverCase(waiver, arrears.get(waiver.member_id, 0)) for waiver in found]
