"""Telling people what concerns them: in the app, and by email as they choose.

`notify` is called by the service whose change it tells of, in the same
transaction: it adds one in-app row per person and records one job that writes
the emails (union.web.notifications renders them in each reader's language, so
no service renders anything). A person who chose to be reached in person gets no
email: their steward sees them on the call list (union.services.call_list).

Every row has a key made of the kind, what it is about and the person, so an
action done twice, or a job run twice, tells each person once.

What a row keeps is listed in union.models.notifications: values, never words,
and never anything a person typed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from union.db import db
from union.models import (
    ContactPreference,
    Member,
    Notification,
    NotificationChoice,
    NotificationKind,
    Role,
    RoleGrant,
    StewardAssignment,
    SurveyRound,
    User,
)
from union.models.survey import RoundStatus
from union.services import jobs
from union.services.paging import Page, paginate

#: The job that writes the emails of one `notify` (handled in union.web.notifications).
EMAIL_JOB = "notification-emails"
#: The job that tells every member a survey round is open, a batch at a time.
SURVEY_JOB = "survey-opened-notifications"
#: People told per survey job: each batch commits on its own, so opening a round
#: for 100,000 members never holds one long transaction.
SURVEY_BATCH = 500

#: Kinds that only stewards and admins receive; every other kind goes to members.
STAFF_KINDS = frozenset({NotificationKind.APPLICANT_WAITING})
MEMBER_KINDS = tuple(kind for kind in NotificationKind if kind not in STAFF_KINDS)

PER_PAGE = 25


def notification_key(kind: NotificationKind, about: str, user_id: int) -> str:
    return f"{kind}:{about}:{user_id}"


def notify(
    recipients: Iterable[User],
    kind: NotificationKind,
    params: Mapping[str, Any],
    *,
    about: str,
    now: datetime,
    address_now: bool = False,
) -> list[Notification]:
    """Tells each recipient (flushed): an in-app row each, and an email job for
    those who want email for this kind and did not choose in-person contact.

    `about` names the subject and event ("grievance-12:event-40"): with the kind
    and the person it makes the key that keeps a second call from telling anyone
    again. Disabled accounts are told nothing. `address_now` puts the address
    and language in the email job (encrypted), for news that outlives the
    account, such as a declined application. Returns the rows added."""
    people = {user.id: user for user in recipients if not user.is_disabled}
    if not people:
        return []
    keys = {
        user_id: notification_key(kind, about, user_id) for user_id in sorted(people)
    }
    taken = set(
        db.session.scalars(
            sa.select(Notification.key).where(Notification.key.in_(keys.values()))
        )
    )
    text = json.dumps(dict(params), separators=(",", ":"), sort_keys=True)
    added = [
        Notification(user_id=user_id, kind=kind, key=key, params=text, created_at=now)
        for user_id, key in keys.items()
        if key not in taken
    ]
    if not added:
        return []
    try:
        with db.session.begin_nested():
            db.session.add_all(added)
    except IntegrityError:
        # Another process told some of them between the check and here.
        added = [row for row in (_add_alone(row) for row in added) if row is not None]
    emailed = _wanting_email(kind, [people[row.user_id] for row in added])
    if emailed:
        by_user = {row.user_id: row for row in added}
        jobs.enqueue(
            EMAIL_JOB,
            {
                "kind": str(kind),
                "params": dict(params),
                # Who, not where: the address, language and choices are read
                # again when the email is written, so a member who moved to
                # in-person contact, turned this kind off, changed address or
                # was erased in the meantime is written to as they now wish.
                "to": [
                    {"user_id": user.id, "key": by_user[user.id].key}
                    | (
                        {"email": user.email, "language": user.locale}
                        if address_now
                        else {}
                    )
                    for user in emailed
                ],
            },
            now=now,
        )
    return added


def _add_alone(row: Notification) -> Notification | None:
    fresh = Notification(
        user_id=row.user_id,
        kind=row.kind,
        key=row.key,
        params=row.params,
        created_at=row.created_at,
    )
    try:
        with db.session.begin_nested():
            db.session.add(fresh)
    except IntegrityError:
        return None
    return fresh


@dataclass(frozen=True, slots=True)
class EmailTo:
    address: str
    language: str | None
    key: str


def still_to_email(
    kind: NotificationKind, recipients: Sequence[Mapping[str, Any]]
) -> list[EmailTo]:
    """Of the people a `notify` decided to email, those who still want it now
    (their notification still there, account enabled, choices unchanged), with
    their address and language as they are now; those whose address came with
    the job (`address_now`) as they were."""
    fixed = [
        EmailTo(str(r["email"]), r.get("language"), str(r["key"]))
        for r in recipients
        if r.get("email")
    ]
    key_of = {
        int(r["user_id"]): str(r["key"]) for r in recipients if not r.get("email")
    }
    if not key_of:
        return fixed
    users = list(
        db.session.scalars(
            sa.select(User)
            .join(Notification, Notification.user_id == User.id)
            .where(
                Notification.key.in_(list(key_of.values())),
                User.id.in_(list(key_of)),
                User.disabled_at.is_(None),
            )
        )
    )
    return fixed + [
        EmailTo(user.email, user.locale, key_of[user.id])
        for user in _wanting_email(kind, users)
    ]


def _wanting_email(kind: NotificationKind, users: Sequence[User]) -> list[User]:
    """Of `users`, those to email about `kind`: two queries for any number."""
    if not users:
        return []
    ids = [user.id for user in users]
    declined = set(
        db.session.scalars(
            sa.select(NotificationChoice.user_id).where(
                NotificationChoice.user_id.in_(ids),
                NotificationChoice.kind == kind,
                NotificationChoice.email.is_(False),
            )
        )
    )
    in_person = set(
        db.session.scalars(
            sa.select(Member.user_id).where(
                Member.user_id.in_(ids),
                Member.contact_preference == ContactPreference.IN_PERSON,
            )
        )
    )
    return [user for user in users if user.id not in declined | in_person]


# Who is told of what -----------------------------------------------------------


def people_accepting_at(workplace_ids: Iterable[int]) -> list[User]:
    """The stewards covering any of these workplaces, and every admin."""
    covering = sa.select(StewardAssignment.user_id).where(
        StewardAssignment.workplace_id.in_(list(workplace_ids))
    )
    admins = sa.select(RoleGrant.user_id).where(RoleGrant.role == Role.ADMIN)
    stewards = sa.select(RoleGrant.user_id).where(RoleGrant.role == Role.STEWARD)
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                sa.or_(
                    sa.and_(User.id.in_(covering), User.id.in_(stewards)),
                    User.id.in_(admins),
                ),
                User.disabled_at.is_(None),
            )
            .order_by(User.id)
        )
    )


def announce_survey_round(survey_round: SurveyRound, *, now: datetime) -> None:
    """Records the job that tells members a round is open (flushed). The telling
    itself happens in batches, in the worker, never in the request that opened it."""
    jobs.enqueue(
        SURVEY_JOB,
        {"round_id": survey_round.id, "after_user_id": 0},
        now=now,
        key=f"{SURVEY_JOB}:{survey_round.id}:0",
    )


@jobs.handler(SURVEY_JOB)
def _tell_survey_batch(payload: Mapping[str, Any], now: datetime) -> None:
    """Tells the next SURVEY_BATCH members with accounts, then records the job for
    the batch after. A round closed meanwhile is no longer announced."""
    from union.services.survey import ANSWERING_STATUSES

    round_id = int(payload["round_id"])
    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None or survey_round.status is not RoundStatus.OPEN:
        return
    after = int(payload["after_user_id"])
    batch = list(
        db.session.scalars(
            sa.select(User)
            .join(Member, Member.user_id == User.id)
            .where(
                User.id > after,
                User.disabled_at.is_(None),
                Member.status.in_(ANSWERING_STATUSES),
            )
            .order_by(User.id)
            .limit(SURVEY_BATCH)
        )
    )
    notify(
        batch,
        NotificationKind.SURVEY_OPENED,
        {"round": round_id},
        about=f"round-{round_id}",
        now=now,
    )
    if len(batch) == SURVEY_BATCH:
        last = batch[-1].id
        jobs.enqueue(
            SURVEY_JOB,
            {"round_id": round_id, "after_user_id": last},
            now=now,
            key=f"{SURVEY_JOB}:{round_id}:{last}",
        )


# Reading -----------------------------------------------------------------------


def params_of(notification: Notification) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(notification.params or "{}")
    return found


def unread_count(user: User) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def page_for(user: User, *, page: int = 1) -> Page[Notification]:
    """The person's notifications, newest first: two queries."""
    return paginate(
        sa.select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()),
        page=page,
        per_page=PER_PAGE,
    )


def mark_all_read(user: User, *, now: datetime) -> int:
    """Marks everything the person has been told as read (flushed)."""
    marked = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return int(marked.rowcount)  # type: ignore[attr-defined]


# Choices -----------------------------------------------------------------------


def kinds_for(user: User) -> list[NotificationKind]:
    """The kinds this person can be told of, in the order the settings list them."""
    kinds: list[NotificationKind] = []
    if user.has_role(Role.STEWARD, Role.ADMIN):
        kinds.extend(STAFF_KINDS)
    if user.member is not None:
        kinds.extend(MEMBER_KINDS)
    return kinds


def email_choices(user: User) -> dict[NotificationKind, bool]:
    """Whether the person wants email, for each kind they can be told of."""
    off = set(
        db.session.scalars(
            sa.select(NotificationChoice.kind).where(
                NotificationChoice.user_id == user.id,
                NotificationChoice.email.is_(False),
            )
        )
    )
    return {kind: kind not in off for kind in kinds_for(user)}


def set_email_choices(
    user: User, wanted: Mapping[NotificationKind, bool], *, now: datetime
) -> None:
    """Saves the person's email choices for the kinds they can be told of (flushed)."""
    existing = {
        choice.kind: choice
        for choice in db.session.scalars(
            sa.select(NotificationChoice).where(NotificationChoice.user_id == user.id)
        )
    }
    for kind in kinds_for(user):
        email = bool(wanted.get(kind, False))
        choice = existing.get(kind)
        if choice is None:
            if not email:
                db.session.add(
                    NotificationChoice(user_id=user.id, kind=kind, email=False)
                )
        else:
            choice.email = email
    db.session.flush()


def reached_in_person(user: User) -> bool:
    member = user.member
    return member is not None and (
        member.contact_preference is ContactPreference.IN_PERSON
    )
