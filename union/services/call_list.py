"""The call list: members to reach in person, and what to tell them.

They get no email; their steward (or an admin) tells them face to face, then
presses "told in person". What there is to tell comes from sources, each with
its own idea of who is on the list: the unread notifications of members who
chose in-person contact, and the union's messages to members who cannot be
written to (in-person or phone contact, or texts while no SMS provider is set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from union.db import db
from union.errors import NotFound
from union.models import (
    Channel,
    ContactPreference,
    DeliveryState,
    Employment,
    Member,
    MessageDelivery,
    Notification,
    User,
)
from union.services import audit, messages
from union.services.notifications_feed import params_of
from union.services.paging import Page, paginate
from union.services.scope import NOT_DECRYPTED, visible_members

PER_PAGE = 25


@dataclass(frozen=True, slots=True)
class CallItem:
    """One thing to tell a member."""

    #: Which source it came from ("notification"), so the page knows its words.
    source: str
    kind: str
    params: dict[str, Any]
    created_at: datetime


class CallListSource(Protocol):
    name: str

    def waiting(self) -> sa.ColumnElement[bool]:
        """A condition on Member: this source has something to tell them."""
        ...

    def items(self, members: Sequence[Member]) -> dict[int, list[CallItem]]:
        """What to tell each of these members, by member id, oldest first; one
        query whatever their number."""
        ...

    def told(self, member: Member, *, shown_at: datetime, now: datetime) -> int:
        """Marks as told what was waiting for the member when the list was shown
        (flushed); what arrived since stays on the list. Returns how many."""
        ...


class UnreadNotifications:
    name = "notification"

    def waiting(self) -> sa.ColumnElement[bool]:
        return sa.and_(
            Member.contact_preference == ContactPreference.IN_PERSON,
            sa.exists().where(
                Notification.user_id == Member.user_id,
                Notification.read_at.is_(None),
            ),
        )

    def items(self, members: Sequence[Member]) -> dict[int, list[CallItem]]:
        member_of = {m.user_id: m.id for m in members if m.user_id is not None}
        found: dict[int, list[CallItem]] = {}
        if not member_of:
            return found
        for row in db.session.scalars(
            sa.select(Notification)
            .where(
                Notification.user_id.in_(list(member_of)),
                Notification.read_at.is_(None),
            )
            .order_by(Notification.created_at, Notification.id)
        ):
            found.setdefault(member_of[row.user_id], []).append(
                CallItem(
                    source=self.name,
                    kind=str(row.kind),
                    params=params_of(row),
                    created_at=row.created_at,
                )
            )
        return found

    def told(self, member: Member, *, shown_at: datetime, now: datetime) -> int:
        if member.user_id is None:
            return 0
        marked = db.session.execute(
            sa.update(Notification)
            .where(
                Notification.user_id == member.user_id,
                Notification.read_at.is_(None),
                Notification.created_at <= shown_at,
            )
            .values(read_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(marked.rowcount)  # type: ignore[attr-defined]


class MessagesToPassOn:
    """The union's messages to members it may not write to (see
    union.services.messages: their deliveries wait on the in-person channel)."""

    name = "message"

    def waiting(self) -> sa.ColumnElement[bool]:
        return sa.exists().where(
            MessageDelivery.member_id == Member.id,
            MessageDelivery.channel == Channel.IN_PERSON,
            MessageDelivery.state == DeliveryState.QUEUED,
        )

    def items(self, members: Sequence[Member]) -> dict[int, list[CallItem]]:
        waiting = messages.waiting_in_person([member.id for member in members])
        return {
            member_id: [
                CallItem(
                    source=self.name,
                    kind="message",
                    params={
                        "subject": message.subject,
                        "subject_fr": message.subject_fr,
                        "body": message.body,
                        "body_fr": message.body_fr,
                    },
                    created_at=message.at,
                )
                for message in found
            ]
            for member_id, found in waiting.items()
        }

    def told(self, member: Member, *, shown_at: datetime, now: datetime) -> int:
        return messages.told_member_in_person(member.id, shown_at=shown_at, now=now)


SOURCES: tuple[CallListSource, ...] = (UnreadNotifications(), MessagesToPassOn())


@dataclass(frozen=True, slots=True)
class CallEntry:
    member: Member
    items: list[CallItem]


def _to_call(actor: User) -> sa.Select[Member]:
    """Members the actor may see with something waiting from any source."""
    return visible_members(actor).where(
        sa.or_(*(source.waiting() for source in SOURCES))
    )


def count_to_call(actor: User) -> int:
    return int(
        db.session.scalar(_to_call(actor).with_only_columns(sa.func.count(Member.id)))
        or 0
    )


def call_list_page(actor: User, *, page: int = 1) -> Page[CallEntry]:
    """One page of the call list, by name, with each member's workplaces and what
    to tell them: a fixed number of queries however long the list."""
    members = paginate(
        _to_call(actor)
        .options(
            *NOT_DECRYPTED,
            selectinload(Member.employments).joinedload(Employment.workplace),
        )
        .order_by(Member.chosen_name, Member.member_number),
        page=page,
        per_page=PER_PAGE,
    )
    found: dict[int, list[CallItem]] = {}
    for source in SOURCES:
        for member_id, items in source.items(members.items).items():
            found.setdefault(member_id, []).extend(items)
    return Page(
        items=[
            CallEntry(
                member=member,
                items=sorted(found.get(member.id, []), key=lambda i: i.created_at),
            )
            for member in members.items
        ],
        total=members.total,
        number=members.number,
        per_page=members.per_page,
    )


def member_to_tell(actor: User, public_id: str) -> Member:
    """A member on the actor's call list, or on it a moment ago. NotFound for
    anyone the actor may not see or who is not reached in person."""
    member = db.session.scalar(
        visible_members(actor)
        .where(
            Member.public_id == public_id,
            sa.or_(
                Member.contact_preference == ContactPreference.IN_PERSON,
                MessagesToPassOn().waiting(),
            ),
        )
        .options(*NOT_DECRYPTED)
    )
    if member is None:
        raise NotFound
    return member


def told_in_person(
    member: Member, *, shown_at: datetime, actor: User, now: datetime
) -> None:
    """Records that the actor told the member in person what the list showed them
    (flushed; audited without what was said)."""
    for source in SOURCES:
        source.told(member, shown_at=shown_at, now=now)
    audit.record("member.told_in_person", actor=actor, now=now, subject=member)
    db.session.flush()
