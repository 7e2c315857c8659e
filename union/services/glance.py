"""What needs the signed-in person, counted for their home page.

Each part is counted within what the person may see (a steward's counts cover the
workplaces they cover, nothing else) in a fixed number of queries, however large
the union: the home page is the page everyone opens first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from union import clock
from union.clock import first_of_month
from union.db import db
from union.models import (
    HAND_METHODS,
    DuesPayment,
    DuesSubscription,
    DuesWaiver,
    Grievance,
    Member,
    MemberStatus,
    Role,
    SurveyRound,
    User,
    WaiverStatus,
)
from union.services import call_list, dues, notifications_feed, survey
from union.services.grievances import visible_grievances
from union.services.scope import visible_members
from union.services.treasury import month_number

#: "Deadlines this week": today and the six days after it.
WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Casework:
    """For stewards and admins: the people and cases waiting on them."""

    applicants_waiting: int
    overdue_cases: int
    #: Open cases whose deadline falls within the coming week (not yet overdue).
    cases_due_this_week: int
    #: Members reached in person with something to be told (the call list).
    members_to_tell: int = 0


@dataclass(frozen=True, slots=True)
class Treasury:
    """For the treasurer: money and decisions waiting."""

    #: Delegates' ended months with receipts not yet confirmed, one per delegate
    #: and month.
    remittances_waiting: int
    #: The oldest of those months, where the treasurer starts.
    oldest_month_waiting: date | None
    waivers_to_decide: int
    #: Members whose card payment failed and which Stripe is still retrying.
    card_payments_failing: int


@dataclass(frozen=True, slots=True)
class OwnMembership:
    """For a member: what they owe, and what they are asked."""

    is_applicant: bool
    months_owed: int
    #: The open survey round they may answer and have not, if any.
    survey_round: SurveyRound | None


@dataclass(frozen=True, slots=True)
class Glance:
    """Each part is None for someone whose roles do not include it."""

    casework: Casework | None
    treasury: Treasury | None
    own: OwnMembership | None
    #: What the person has been told and not yet read (everyone has this part).
    #: News rather than something to do, so not counted as waiting.
    unread_notifications: int = 0

    @property
    def anything_waiting(self) -> bool:
        """Whether anything counted here needs the person's action."""
        casework, treasury = self.casework, self.treasury
        return bool(
            (
                casework is not None
                and (
                    casework.applicants_waiting
                    or casework.overdue_cases
                    or casework.cases_due_this_week
                    or casework.members_to_tell
                )
            )
            or (
                treasury is not None
                and (
                    treasury.remittances_waiting
                    or treasury.waivers_to_decide
                    or treasury.card_payments_failing
                )
            )
            or (
                self.own is not None
                and (self.own.months_owed or self.own.survey_round is not None)
            )
        )


def at_a_glance(actor: User, *, now: datetime) -> Glance:
    """What needs the actor, by role, each count scoped to what they may see."""
    today = clock.today(now)
    return Glance(
        casework=casework(actor, today=today)
        if actor.has_role(Role.STEWARD, Role.ADMIN)
        else None,
        treasury=treasury(today=today)
        if actor.has_role(Role.TREASURER, Role.ADMIN)
        else None,
        own=own_membership(actor.member, now=now) if actor.member else None,
        unread_notifications=notifications_feed.unread_count(actor),
    )


def casework(actor: User, *, today: date) -> Casework:
    """Applicants the actor may accept, open cases they may follow and members to
    tell in person: three queries."""
    applicants = db.session.scalar(
        visible_members(actor)
        .where(Member.status == MemberStatus.APPLICANT)
        .with_only_columns(sa.func.count(Member.id))
    )
    overdue, due_this_week = db.session.execute(
        visible_grievances(actor)
        .where(Grievance.closed_on.is_(None))
        .with_only_columns(
            sa.func.count(Grievance.id).filter(Grievance.deadline_on < today),
            sa.func.count(Grievance.id).filter(
                Grievance.deadline_on >= today,
                Grievance.deadline_on < today + WEEK,
            ),
        )
    ).one()
    return Casework(
        applicants_waiting=int(applicants or 0),
        overdue_cases=int(overdue),
        cases_due_this_week=int(due_this_week),
        members_to_tell=call_list.count_to_call(actor),
    )


def treasury(*, today: date) -> Treasury:
    """Remittances, waivers and failing card payments: one query."""
    # A month can be confirmed once it has ended; receipts written after a
    # confirmation make a new part, which waits like the first did.
    waiting_parts = (
        sa.select(
            DuesPayment.recorded_by_id,
            month_number(DuesPayment.paid_on).label("month"),
            sa.func.min(DuesPayment.paid_on).label("first_paid_on"),
        )
        .where(
            DuesPayment.method.in_(HAND_METHODS),
            DuesPayment.recorded_by_id.is_not(None),
            DuesPayment.remittance_id.is_(None),
            DuesPayment.paid_on < first_of_month(today),
        )
        .group_by(DuesPayment.recorded_by_id, month_number(DuesPayment.paid_on))
        .subquery()
    )
    remittances = sa.select(
        sa.func.count(), sa.func.min(waiting_parts.c.first_paid_on)
    ).select_from(waiting_parts)
    waivers = (
        sa.select(sa.func.count(DuesWaiver.id))
        .where(DuesWaiver.status == WaiverStatus.PENDING)
        .scalar_subquery()
    )
    failing = (
        sa.select(sa.func.count(sa.distinct(DuesSubscription.member_id)))
        .where(DuesSubscription.status == "past_due")
        .scalar_subquery()
    )
    parts, oldest, pending, retrying = db.session.execute(
        remittances.add_columns(waivers, failing)
    ).one()
    return Treasury(
        remittances_waiting=int(parts),
        oldest_month_waiting=first_of_month(oldest) if oldest else None,
        waivers_to_decide=int(pending),
        card_payments_failing=int(retrying),
    )


def own_membership(member: Member, *, now: datetime) -> OwnMembership:
    """The member's months owed, as their dues page counts them, and the survey
    round waiting for their answer."""
    standing = dues.member_standing(member, now=now)
    waiting_round = None
    if survey.may_answer(member):
        current = survey.current_round()
        if current is not None and not survey.has_answered(member, current):
            waiting_round = current
    return OwnMembership(
        is_applicant=member.status is MemberStatus.APPLICANT,
        months_owed=standing.arrears,
        survey_round=waiting_round,
    )
