"""Every main page runs the same number of SQL statements whether the union has ten
members or a thousand (with their dues history, grievances and workplaces): no page
does work per row. Untimed; benchmarks/ measures the time.

The two unions come from the benchmark data generator. Pages with a per-page test
of their own elsewhere (a long dues history, many notes on one case) keep it; this
one covers every main page at once against whole unions of both sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from union import generate
from union.db import db
from union.models import (
    CARD_METHODS,
    Channel,
    ContactPreference,
    DuesPayment,
    Employment,
    Grievance,
    Member,
    MemberMessage,
    MemberStatus,
    MessageState,
    NotificationKind,
    Role,
    RoleGrant,
    RoundStatus,
    SegmentKind,
    StewardAssignment,
    SurveyRound,
    User,
    Workplace,
    email_digest,
)
from union.rules.passwords import hash_password
from union.services import grievances, messages, notifications_feed
from union.web.member_messages import unsubscribe_token

PASSWORD = "generated password"
SMALL = generate.Scale.of(members=10, workplaces=2, years=1, grievances=10, seed=5)
LARGE = generate.Scale.of(members=1000, workplaces=20, years=5, grievances=1000, seed=5)


@dataclass(frozen=True)
class Union:
    """Who signs in, and the ids the pages need, in one generated union."""

    member: str
    steward: str
    values: dict[str, Any]


def _raised_problem(member_number: int, now: Any) -> str:
    """A problem the member raised online, so their pages list one."""
    member = db.session.execute(
        sa.select(Member).where(Member.member_number == member_number)
    ).scalar_one()
    assert member.user is not None
    raised = grievances.raise_problem(
        grievances.Problem(
            what_happened="Shifts cut without notice.",
            workplace_id=member.current_employments[0].workplace_id,
            contact_preference=ContactPreference.EMAIL,
        ),
        actor=member.user,
        now=now,
    )
    return raised.public_id


def _union(now: Any) -> Union:
    member = db.session.execute(
        sa.select(Member.member_number)
        .join(User, User.id == Member.user_id)
        .where(
            Member.status == MemberStatus.ACTIVE,
            User.password_hash.is_not(None),
            ~sa.exists().where(RoleGrant.user_id == User.id),
        )
        .order_by(Member.id)
        .limit(1)
    ).scalar_one()
    steward_id = db.session.execute(
        sa.select(RoleGrant.user_id)
        .where(RoleGrant.role == Role.STEWARD)
        .order_by(RoleGrant.user_id)
        .limit(1)
    ).scalar_one()
    covered = sa.select(StewardAssignment.workplace_id).where(
        StewardAssignment.user_id == steward_id
    )
    grievance = db.session.scalar(
        sa.select(Grievance.public_id)
        .where(Grievance.workplace_id.in_(covered))
        .order_by(Grievance.id)
        .limit(1)
    )
    seen = db.session.scalar(
        sa.select(Member.public_id)
        .where(Member.user_id.is_not(None), Member.user_id != steward_id)
        .order_by(Member.id)
        .limit(1)
    )
    delegate, month = db.session.execute(
        sa.select(DuesPayment.recorded_by_id, DuesPayment.paid_on)
        .where(DuesPayment.recorded_by_id.is_not(None))
        .order_by(DuesPayment.paid_on.desc())
        .limit(1)
    ).one()
    last_round = db.session.scalar(
        sa.select(sa.func.max(SurveyRound.id)).where(
            SurveyRound.status == RoundStatus.CLOSED
        )
    )
    card_payment = db.session.scalar(
        sa.select(sa.func.min(DuesPayment.id)).where(
            DuesPayment.method.in_(CARD_METHODS)
        )
    )
    any_workplace = db.session.scalar(sa.select(sa.func.min(Workplace.id)))
    return Union(
        member=f"member{member}@example.org",
        steward="steward1@example.org",
        values={
            "grievance": grievance,
            "member": seen,
            "member_number": member,
            "workplace": db.session.scalar(covered.limit(1)),
            "any_workplace": any_workplace,
            "delegate": delegate,
            "month": month.strftime("%Y-%m"),
            "round": last_round,
            "raised": _raised_problem(member, now),
            "card_payment": card_payment,
            "message": _message_to(any_workplace, now),
            "unsubscribe": _unsubscribe_token(member),
        },
    )


def _message_to(workplace_id: int, now: Any) -> int:
    """A message to a workplace, addressed: its page counts its deliveries."""
    message = MemberMessage(
        segment_kind=SegmentKind.WORKPLACE,
        segment_value=str(workplace_id),
        subject_en="Meeting",
        body_en="Thursday at 6.",
        state=MessageState.SENDING,
        created_at=now,
        sent_at=now,
    )
    db.session.add(message)
    db.session.flush()
    messages.address(message.id, now=now, texts_enabled=False)
    return message.id


def _unsubscribe_token(member_number: int) -> str:
    member = db.session.execute(
        sa.select(Member).where(Member.member_number == member_number)
    ).scalar_one()
    return unsubscribe_token(member, Channel.EMAIL)


#: (who signs in, the page). Every main page of every role.
PAGES: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("member", lambda v: "/"),
    ("member", lambda v: "/notifications"),
    ("member", lambda v: "/notifications?page=2"),
    ("member", lambda v: "/notifications/settings"),
    ("member", lambda v: "/dues"),
    ("member", lambda v: "/dues/history"),
    ("member", lambda v: "/profile"),
    ("member", lambda v: "/profile/data"),
    ("member", lambda v: "/grievances/mine"),
    ("member", lambda v: "/grievances/raise"),
    ("member", lambda v: f"/grievances/raised/{v['raised']}"),
    ("member", lambda v: "/messages/my-choices"),
    ("member", lambda v: f"/unsubscribe/{v['unsubscribe']}"),
    ("steward", lambda v: "/"),
    ("steward", lambda v: "/members/applicants"),
    ("steward", lambda v: "/notifications"),
    ("steward", lambda v: "/call-list"),
    ("steward", lambda v: "/grievances/"),
    ("steward", lambda v: "/grievances/cases"),
    ("steward", lambda v: "/grievances/cases?q=overnight+shifts"),
    ("steward", lambda v: "/grievances/cases?q=ash"),
    ("steward", lambda v: f"/grievances/{v['grievance']}"),
    ("steward", lambda v: f"/grievances/{v['grievance']}/people"),
    ("steward", lambda v: f"/grievances/{v['grievance']}/case-file"),
    ("steward", lambda v: f"/grievances/{v['grievance']}/case-file?notes=1"),
    ("steward", lambda v: f"/grievances/{v['grievance']}/case-file.pdf?notes=1"),
    ("steward", lambda v: "/grievances/calendar"),
    ("steward", lambda v: "/members/"),
    ("steward", lambda v: "/members/?q=a"),
    ("steward", lambda v: "/members/?sort=-joined"),
    ("steward", lambda v: "/dues/remittance"),
    ("steward", lambda v: f"/workplaces/{v['workplace']}"),
    ("treasurer@example.org", lambda v: "/"),
    ("treasurer@example.org", lambda v: "/treasurer/"),
    ("treasurer@example.org", lambda v: "/treasurer/levels"),
    ("treasurer@example.org", lambda v: "/treasurer/arrears"),
    ("treasurer@example.org", lambda v: "/treasurer/arrears?behind=1"),
    ("treasurer@example.org", lambda v: "/treasurer/ledger"),
    ("treasurer@example.org", lambda v: "/treasurer/ledger?sort=member"),
    (
        "treasurer@example.org",
        lambda v: "/treasurer/ledger?sort=-amount&method=cash&from_month=2026-01",
    ),
    ("treasurer@example.org", lambda v: "/treasurer/arrears?sort=member&page=2"),
    ("treasurer@example.org", lambda v: "/treasurer/arrears.csv?sort=owed"),
    ("treasurer@example.org", lambda v: f"/treasurer/members/{v['member']}"),
    ("treasurer@example.org", lambda v: f"/dues/payments/{v['card_payment']}/receipt"),
    ("treasurer@example.org", lambda v: "/treasurer/waivers"),
    ("treasurer@example.org", lambda v: "/treasurer/remittances"),
    (
        "treasurer@example.org",
        lambda v: f"/treasurer/remittances/{v['delegate']}/{v['month']}",
    ),
    ("organizer@example.org", lambda v: "/"),
    ("organizer@example.org", lambda v: "/grievances/counts"),
    ("organizer@example.org", lambda v: f"/reports/rounds/{v['round']}/"),
    ("organizer@example.org", lambda v: f"/reports/rounds/{v['round']}/wages/union/"),
    (
        "organizer@example.org",
        lambda v: f"/reports/rounds/{v['round']}/wages/union/csv?table=hourly_wage",
    ),
    (
        "organizer@example.org",
        lambda v: f"/reports/rounds/{v['round']}/grievances/union/",
    ),
    (
        "organizer@example.org",
        lambda v: f"/reports/rounds/{v['round']}/respondents/sector/shelter",
    ),
    ("organizer@example.org", lambda v: "/workplaces/"),
    ("organizer@example.org", lambda v: "/workplaces/?sort=-density"),
    ("organizer@example.org", lambda v: f"/workplaces/{v['any_workplace']}"),
    ("organizer@example.org", lambda v: "/messages/"),
    ("organizer@example.org", lambda v: "/messages/new"),
    ("organizer@example.org", lambda v: f"/messages/{v['message']}"),
    ("admin@example.org", lambda v: "/"),
    ("admin@example.org", lambda v: "/members/applicants"),
    ("admin@example.org", lambda v: "/call-list"),
    ("admin@example.org", lambda v: "/notifications/settings"),
    ("admin@example.org", lambda v: "/members/import"),
    ("admin@example.org", lambda v: "/members/"),
    ("admin@example.org", lambda v: f"/members/{v['member']}"),
    ("admin@example.org", lambda v: "/admin/users"),
    ("admin@example.org", lambda v: "/admin/audit"),
    ("admin@example.org", lambda v: "/admin/jobs"),
    ("admin@example.org", lambda v: f"/admin/audit?member={v['member_number']}"),
    ("admin@example.org", lambda v: "/members/import"),
]


def _an_applicant_waits(steward_email: str) -> None:
    """Makes one member of the steward's workplaces an applicant, so that the lists
    of applications have someone on them in both unions (an empty list loads no
    workplaces, and would count a query fewer for that alone)."""
    steward_id = db.session.scalar(
        sa.select(User.id).where(User.email_hash == email_digest(steward_email))
    )
    covered = sa.select(StewardAssignment.workplace_id).where(
        StewardAssignment.user_id == steward_id
    )
    working_there = sa.select(Employment.member_id).where(
        Employment.workplace_id.in_(covered), Employment.ended_on.is_(None)
    )
    newest = db.session.scalar(
        sa.select(sa.func.max(Member.id)).where(
            Member.id.in_(working_there), Member.user_id != steward_id
        )
    )
    db.session.execute(
        sa.update(Member)
        .where(Member.id == newest)
        .values(status=MemberStatus.APPLICANT)
    )


def _news(member_email: str, now: Any) -> None:
    """Something to tell every member with an account, a third of them reached in
    person (so the call lists fill up), and a run of news for the signed-in
    member that grows with the union (several pages in the larger one)."""
    users = list(
        db.session.scalars(
            sa.select(User).join(Member, Member.user_id == User.id).order_by(User.id)
        )
    )
    notifications_feed.notify(
        users, NotificationKind.SURVEY_OPENED, {"round": 1}, about="round-1", now=now
    )
    db.session.execute(
        sa.update(Member)
        .where(Member.user_id.is_not(None), Member.id % 3 == 0)
        .values(contact_preference=ContactPreference.IN_PERSON)
    )
    reader = db.session.scalar(
        sa.select(User).where(User.email_hash == email_digest(member_email))
    )
    for event in range(len(users) // 10):
        notifications_feed.notify(
            [reader],
            NotificationKind.GRIEVANCE_MOVED,
            {"number": "2026-0001", "step": "step_1", "on": "2026-11-22"},
            about=f"grievance-1:event-{event}",
            now=now,
        )


def _counts(
    client: Any, count_queries: Any, scale: generate.Scale, now: Any
) -> dict[str, int]:
    generate.generate(
        scale, password_hash=hash_password(PASSWORD), now=now, progress=lambda *_: None
    )
    _an_applicant_waits("steward1@example.org")
    union = _union(now)
    _news(union.member, now)
    counts: dict[str, int] = {}
    signed_in = None
    for who, page in PAGES:
        email = {"member": union.member, "steward": union.steward}.get(who, who)
        if email != signed_in:
            if signed_in is not None:
                client.sign_out()
            client.sign_in(email, PASSWORD)
            signed_in = email
        url = page(union.values)
        client.get(url)  # the first view of a page may record things once
        with count_queries() as counter:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[f"{who} {page(dict.fromkeys(union.values, '…'))}"] = counter.count
    client.sign_out()
    return counts


def test_every_main_page_takes_the_same_queries_for_10_or_1000_members(
    client, count_queries, now
):
    savepoint = db.session.begin_nested()
    small = _counts(client, count_queries, SMALL, now)
    savepoint.rollback()
    large = _counts(client, count_queries, LARGE, now)
    differences = {
        page: (small[page], large[page]) for page in small if small[page] != large[page]
    }
    assert differences == {}, "queries with 10 and with 1,000 members"
