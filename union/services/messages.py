"""Messages to members, with their consent.

An organizer or admin writes to a segment (a workplace, a sector, the members in
good standing, everyone) and sees how many it reaches, never who. Sending records
one job; that job writes every delivery with one INSERT ... SELECT (`address`),
then the batches send them (union/web/member_messages.py), each marked sent in its
own commit before it goes, so a batch run again never sends one twice.

Who gets what: a member whose contact preference is in person or a phone call
(or texts, while no text provider is configured) gets a delivery in person, on
their delegate's call list; the others get email or a text only with their consent
for that channel, and never when the address or number is on the unsubscribed
list, which keeps keyed hashes that outlive erasure.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from union import clock
from union.adapters.crypto import lookup_digest
from union.db import db
from union.errors import InvalidTransition, NotFound, ValidationFailed
from union.i18n import _
from union.models import (
    BODY_MAX,
    SUBJECT_MAX,
    Channel,
    ConsentSource,
    ContactPreference,
    DeliveryState,
    Employment,
    Member,
    MemberMessage,
    MemberStatus,
    MessageConsent,
    MessageDelivery,
    MessageState,
    Role,
    Sector,
    SegmentKind,
    UnsubscribedContact,
    User,
    Workplace,
    WorkplaceStatus,
)
from union.services import audit, jobs, settings, treasury
from union.services.workplaces import visible_workplaces

#: Recipients a batch job sends to: a 100,000-member message is 200 jobs, enough
#: for many worker threads, and few enough to record in well under a second.
BATCH_SIZE = 500
#: Who may write to members.
AUTHORS = (Role.ORGANIZER, Role.ADMIN)
#: Segments only admins may address: organizers write to the workplaces and
#: sectors they organize.
ADMIN_SEGMENTS = frozenset({SegmentKind.GOOD_STANDING, SegmentKind.EVERYONE})
#: Who counts as a member to write to.
WRITABLE_STATUSES = (MemberStatus.ACTIVE, MemberStatus.LAPSED)


# -- Segments -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    kind: SegmentKind
    value: str = ""

    @property
    def code(self) -> str:
        """How a form names it: "workplace:12", "sector:outreach", "everyone"."""
        return f"{self.kind.value}:{self.value}" if self.value else self.kind.value

    @classmethod
    def parse(cls, code: str | None) -> Segment | None:
        kind_text, _colon, value = (code or "").partition(":")
        try:
            kind = SegmentKind(kind_text)
        except ValueError:
            return None
        needs_value = kind in (SegmentKind.WORKPLACE, SegmentKind.SECTOR)
        if needs_value != bool(value) or len(value) > 64:
            return None
        return cls(kind, value)


def may_address(actor: User, kind: SegmentKind) -> bool:
    if actor.has_role(Role.ADMIN):
        return True
    return actor.has_role(Role.ORGANIZER) and kind not in ADMIN_SEGMENTS


@dataclass(frozen=True, slots=True)
class AddressableWorkplace:
    id: int
    name: str


def addressable_workplaces(actor: User) -> list[AddressableWorkplace]:
    """The confirmed workplaces the actor may write to, by name: ids and names
    only, as a federation's organizer may choose among a thousand."""
    if not actor.has_role(*AUTHORS):
        return []
    rows = db.session.execute(
        visible_workplaces(actor)
        .with_only_columns(Workplace.id, Workplace.employer, Workplace.site)
        .where(Workplace.status == WorkplaceStatus.CONFIRMED)
        .order_by(Workplace.employer, Workplace.site)
    )
    return [
        AddressableWorkplace(id, Workplace.name_of(employer, site))
        for id, employer, site in rows
    ]


def check_segment(actor: User, segment: Segment | None) -> Segment:
    """The segment, if the actor may write to it; else ValidationFailed on the
    form's segment field."""
    if segment is None:
        raise ValidationFailed({"segment": _("Choose who the message is for.")})
    if not may_address(actor, segment.kind):
        raise ValidationFailed(
            {
                "segment": _(
                    "You can write to a workplace or a sector, not to that group."
                )
            }
        )
    if segment.kind is SegmentKind.WORKPLACE:
        workplace_id = int(segment.value) if segment.value.isdigit() else None
        found = workplace_id is not None and db.session.scalar(
            visible_workplaces(actor)
            .with_only_columns(Workplace.id)
            .where(
                Workplace.id == workplace_id,
                Workplace.status == WorkplaceStatus.CONFIRMED,
            )
        )
        if not found:
            raise ValidationFailed(
                {"segment": _("You can't write to that workplace. Choose another.")}
            )
    if segment.kind is SegmentKind.SECTOR and segment.value not in set(Sector):
        raise ValidationFailed({"segment": _("Choose a sector from the list.")})
    return segment


def _in_segment(segment: Segment, *, now: datetime) -> sa.ColumnElement[bool]:
    writable = Member.status.in_(WRITABLE_STATUSES)
    if segment.kind is SegmentKind.WORKPLACE:
        working_there = sa.select(Employment.member_id).where(
            Employment.workplace_id == int(segment.value),
            Employment.ended_on.is_(None),
        )
        return sa.and_(writable, Member.id.in_(working_there))
    if segment.kind is SegmentKind.SECTOR:
        in_sector = (
            sa.select(Employment.member_id)
            .join(Workplace, Workplace.id == Employment.workplace_id)
            .where(
                Workplace.sector == Sector(segment.value),
                Employment.ended_on.is_(None),
            )
        )
        return sa.and_(writable, Member.id.in_(in_sector))
    if segment.kind is SegmentKind.GOOD_STANDING:
        threshold = settings.current_settings().good_standing_max_arrears
        arrears, retrying = treasury.arrears_columns(clock.today(now))
        counted = arrears - sa.case((retrying, 1), else_=0)
        return sa.and_(writable, counted <= threshold)
    return writable


# -- Who a segment reaches, and by which channel ------------------------------


def _recipients(
    segment: Segment, *, now: datetime, texts_enabled: bool
) -> tuple[sa.ColumnElement[str], sa.Select[int]]:
    """(the channel each member gets it by, the members of the segment who get
    it): every rule about consent and the unsubscribed list, in SQL."""
    email_consent = aliased(MessageConsent)
    text_consent = aliased(MessageConsent)
    preference = Member.contact_preference
    in_person = [ContactPreference.IN_PERSON, ContactPreference.PHONE]
    if not texts_enabled:
        in_person.append(ContactPreference.TEXT)
    by_text = (
        sa.and_(
            preference == ContactPreference.TEXT,
            text_consent.granted.is_(True),
            Member.phone.is_not(None),
        )
        if texts_enabled
        else sa.false()
    )
    by_email = sa.and_(
        preference == ContactPreference.EMAIL,
        User.id.is_not(None),
        email_consent.granted.is_(True),
        ~sa.exists().where(UnsubscribedContact.digest == User.email_hash),
    )
    channel = sa.case(
        (preference.in_(in_person), Channel.IN_PERSON.value),
        (by_text, Channel.TEXT.value),
        else_=Channel.EMAIL.value,
    )
    statement = (
        sa.select(Member.id)
        .select_from(Member)
        .outerjoin(User, User.id == Member.user_id)
        .outerjoin(
            email_consent,
            sa.and_(
                email_consent.member_id == Member.id,
                email_consent.channel == Channel.EMAIL,
            ),
        )
        .outerjoin(
            text_consent,
            sa.and_(
                text_consent.member_id == Member.id,
                text_consent.channel == Channel.TEXT,
            ),
        )
        .where(
            _in_segment(segment, now=now),
            sa.or_(preference.in_(in_person), by_text, by_email),
        )
    )
    return channel, statement


@dataclass(frozen=True, slots=True)
class Reach:
    """How many members a message reaches, by channel: counts, never who."""

    email: int = 0
    text: int = 0
    in_person: int = 0

    @property
    def total(self) -> int:
        return self.email + self.text + self.in_person


def preview(segment: Segment, *, now: datetime, texts_enabled: bool) -> Reach:
    """How many members the segment reaches (check_segment it first)."""
    channel, statement = _recipients(segment, now=now, texts_enabled=texts_enabled)
    rows = db.session.execute(
        statement.with_only_columns(channel, sa.func.count()).group_by(channel)
    ).all()
    counts = {str(found): int(number) for found, number in rows}
    return Reach(
        email=counts.get(Channel.EMAIL.value, 0),
        text=counts.get(Channel.TEXT.value, 0),
        in_person=counts.get(Channel.IN_PERSON.value, 0),
    )


# -- Writing and sending ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    segment: Segment | None
    subject_en: str
    body_en: str
    subject_fr: str = ""
    body_fr: str = ""
    #: The compose form's own key (see MemberMessage.draft_key).
    key: str | None = None


def _check_text(draft: Draft) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not draft.subject_en.strip():
        errors["subject_en"] = _("Write a subject.")
    if not draft.body_en.strip():
        errors["body_en"] = _("Write the message.")
    for name in ("subject_en", "subject_fr"):
        if len(getattr(draft, name)) > SUBJECT_MAX:
            errors[name] = _(
                "Keep the subject to %(most)d characters.", most=SUBJECT_MAX
            )
    for name in ("body_en", "body_fr"):
        if len(getattr(draft, name)) > BODY_MAX:
            errors[name] = _(
                "Keep the message to %(most)s characters.", most=f"{BODY_MAX:,}"
            )
    if bool(draft.subject_fr.strip()) != bool(draft.body_fr.strip()):
        field = "body_fr" if draft.subject_fr.strip() else "subject_fr"
        errors[field] = _(
            "Write both the French subject and message, or leave both empty."
        )
    return errors


def check_draft(
    draft: Draft, *, actor: User, now: datetime, texts_enabled: bool
) -> Reach:
    """How many the draft reaches; ValidationFailed, keyed by field, for an empty
    or oversized text, a segment the actor may not write to or one that reaches
    nobody."""
    errors = _check_text(draft)
    try:
        segment = check_segment(actor, draft.segment)
    except ValidationFailed as error:
        raise ValidationFailed({**error.errors, **errors}) from None
    if errors:
        raise ValidationFailed(errors)
    reach = preview(segment, now=now, texts_enabled=texts_enabled)
    if reach.total == 0:
        raise ValidationFailed(
            {
                "segment": _(
                    "Nobody in that group can get this message: no member there "
                    "has agreed to messages. Choose another group."
                )
            }
        )
    return reach


ADDRESSING_JOB = "message-addressing"
BATCH_JOB = "message-batch"


def send(
    draft: Draft, *, actor: User, now: datetime, texts_enabled: bool
) -> MemberMessage:
    """Records the message and ONE job that addresses it (flushed). Nothing is
    recorded when check_draft refuses the draft; a draft sent already (same
    key) is not sent again, and its message is returned."""
    if draft.key:
        already = db.session.scalar(
            sa.select(MemberMessage).where(
                MemberMessage.draft_key == draft.key,
                MemberMessage.author_id == actor.id,
            )
        )
        if already is not None:
            return already
    check_draft(draft, actor=actor, now=now, texts_enabled=texts_enabled)
    segment = check_segment(actor, draft.segment)
    message = MemberMessage(
        author_id=actor.id,
        segment_kind=segment.kind,
        segment_value=segment.value,
        draft_key=draft.key or None,
        subject_en=draft.subject_en.strip(),
        body_en=draft.body_en.strip(),
        subject_fr=draft.subject_fr.strip() or None,
        body_fr=draft.body_fr.strip() or None,
        state=MessageState.SENDING,
        created_at=now,
        sent_at=now,
    )
    db.session.add(message)
    db.session.flush()
    jobs.enqueue(
        ADDRESSING_JOB,
        {"message": message.id},
        now=now,
        key=f"{ADDRESSING_JOB}:{message.id}",
    )
    audit.record("message.sent", actor=actor, now=now, subject=message)
    return message


def address(message_id: int, *, now: datetime, texts_enabled: bool) -> int:
    """Writes the message's deliveries, one INSERT ... SELECT for every
    recipient, and records the jobs that send them (flushed). Run twice, it
    writes nothing more. Returns how many batches were recorded."""
    message = db.session.get(MemberMessage, message_id)
    if message is None or message.state is MessageState.DRAFT:
        return 0
    already = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(MessageDelivery)
        .where(MessageDelivery.message_id == message_id)
    )
    if not already:
        segment = Segment(message.segment_kind, message.segment_value)
        channel, statement = _recipients(segment, now=now, texts_enabled=texts_enabled)
        db.session.execute(
            sa.insert(MessageDelivery).from_select(
                ["message_id", "member_id", "channel", "state"],
                statement.with_only_columns(
                    sa.literal(message_id),
                    Member.id,
                    channel,
                    sa.literal(DeliveryState.QUEUED.value),
                ),
            )
        )
        # Counted again: a driver may not report the rows an INSERT ... SELECT
        # wrote (psycopg gives -1).
        message.recipients = (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(MessageDelivery)
                .where(MessageDelivery.message_id == message_id)
            )
            or 0
        )
    return _record_batches(message, now=now, round_key="first")


def _record_batches(message: MemberMessage, *, now: datetime, round_key: str) -> int:
    # The first and last delivery id of each run of BATCH_SIZE, worked out by
    # the database rather than by reading every id.
    waiting = (
        sa.select(
            MessageDelivery.id,
            (
                (sa.func.row_number().over(order_by=MessageDelivery.id) - 1)
                // BATCH_SIZE
            ).label("batch"),
        )
        .where(
            MessageDelivery.message_id == message.id,
            MessageDelivery.channel.in_([Channel.EMAIL, Channel.TEXT]),
            MessageDelivery.state == DeliveryState.QUEUED,
        )
        .subquery()
    )
    ranges = db.session.execute(
        sa.select(sa.func.min(waiting.c.id), sa.func.max(waiting.c.id))
        .group_by(waiting.c.batch)
        .order_by(sa.func.min(waiting.c.id))
    ).all()
    for first, last in ranges:
        jobs.enqueue(
            BATCH_JOB,
            {"message": message.id, "first": first, "last": last},
            now=now,
            key=f"{BATCH_JOB}:{message.id}:{round_key}:{first}",
        )
    if not ranges:
        _finish(message, now=now)
    db.session.flush()
    return len(ranges)


def _finish(message: MemberMessage, *, now: datetime) -> None:
    if message.state is MessageState.SENDING:
        message.state = MessageState.SENT
        message.finished_at = now


def finish_if_done(message_id: int, *, now: datetime) -> bool:
    """Marks the message sent once no email or text waits (flushed)."""
    message = db.session.get(MemberMessage, message_id)
    if message is None or message.state is not MessageState.SENDING:
        return False
    waiting = db.session.scalar(
        sa.select(MessageDelivery.id)
        .where(
            MessageDelivery.message_id == message_id,
            MessageDelivery.channel.in_([Channel.EMAIL, Channel.TEXT]),
            MessageDelivery.state == DeliveryState.QUEUED,
        )
        .limit(1)
    )
    if waiting is not None:
        return False
    _finish(message, now=now)
    db.session.flush()
    return True


def pause(message: MemberMessage, *, actor: User, now: datetime) -> None:
    """Stops the batches before their next recipient (flushed)."""
    if message.state is not MessageState.SENDING:
        raise InvalidTransition(_("Only a message that is being sent can be paused."))
    message.state = MessageState.PAUSED
    audit.record("message.paused", actor=actor, now=now, subject=message)
    db.session.flush()


def resume(message: MemberMessage, *, actor: User, now: datetime) -> None:
    """Sends what is left of a paused message: new batches for the deliveries
    still queued (flushed)."""
    if message.state is not MessageState.PAUSED:
        raise InvalidTransition(_("Only a paused message can be resumed."))
    message.state = MessageState.SENDING
    audit.record("message.resumed", actor=actor, now=now, subject=message)
    _record_batches(message, now=now, round_key=f"resumed-{now.isoformat()}")


# -- Sending one batch --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recipient:
    delivery_id: int
    channel: Channel
    member: Member
    #: Where it goes: the email address or the phone number.
    contact: str
    locale: str | None


def phone_digest(phone: str) -> str:
    digits = re.sub(r"[^0-9]", "", phone)
    return lookup_digest("phone:" + digits)


def batch_recipients(message_id: int, first_id: int, last_id: int) -> list[Recipient]:
    """The deliveries of the batch still queued, with where each goes. Those whose
    consent was withdrawn, or whose contact is on the unsubscribed list, since the
    message was addressed are marked skipped (flushed) and left out."""
    rows = db.session.execute(
        sa.select(MessageDelivery.id, MessageDelivery.channel, Member, User)
        .join(Member, Member.id == MessageDelivery.member_id)
        .outerjoin(User, User.id == Member.user_id)
        .where(
            MessageDelivery.message_id == message_id,
            MessageDelivery.id.between(first_id, last_id),
            MessageDelivery.state == DeliveryState.QUEUED,
            MessageDelivery.channel.in_([Channel.EMAIL, Channel.TEXT]),
        )
        .order_by(MessageDelivery.id)
    ).all()
    if not rows:
        return []
    member_ids = [member.id for _id, _channel, member, _user in rows]
    granted = {
        (member_id, channel)
        for member_id, channel in db.session.execute(
            sa.select(MessageConsent.member_id, MessageConsent.channel).where(
                MessageConsent.member_id.in_(member_ids),
                MessageConsent.granted.is_(True),
            )
        )
    }
    candidates: list[tuple[int, Channel, Member, str | None, str | None]] = []
    for delivery_id, channel, member, account in rows:
        contact: str | None
        digest: str | None
        if channel is Channel.EMAIL:
            contact = account.email if account is not None else None
            digest = account.email_hash if account is not None else None
        else:
            contact = member.phone
            digest = phone_digest(member.phone) if member.phone else None
        candidates.append((delivery_id, channel, member, contact, digest))
    listed = set(
        db.session.scalars(
            sa.select(UnsubscribedContact.digest).where(
                UnsubscribedContact.digest.in_(
                    [digest for *_rest, digest in candidates if digest]
                )
            )
        )
    )
    recipients: list[Recipient] = []
    skipped: list[int] = []
    for delivery_id, channel, member, address_to, digest in candidates:
        if (
            address_to is None
            or digest in listed
            or (member.id, channel) not in granted
            or member.status not in WRITABLE_STATUSES
        ):
            skipped.append(delivery_id)
            continue
        recipients.append(
            Recipient(
                delivery_id,
                channel,
                member,
                address_to,
                member.user.locale if member.user is not None else None,
            )
        )
    if skipped:
        db.session.execute(
            sa.update(MessageDelivery)
            .where(
                MessageDelivery.id.in_(skipped),
                MessageDelivery.state == DeliveryState.QUEUED,
            )
            .values(state=DeliveryState.SKIPPED)
            .execution_options(synchronize_session=False)
        )
    return recipients


def claim(delivery_id: int, message_id: int, *, now: datetime) -> bool:
    """Marks one delivery sent, if it is still queued and its message is being
    sent (flushed; the caller commits before sending, so that a batch run again
    skips it: a copy is never sent twice)."""
    message_sending = sa.exists().where(
        MemberMessage.id == message_id, MemberMessage.state == MessageState.SENDING
    )
    claimed = db.session.execute(
        sa.update(MessageDelivery)
        .where(
            MessageDelivery.id == delivery_id,
            MessageDelivery.state == DeliveryState.QUEUED,
            message_sending,
        )
        .values(state=DeliveryState.SENT, sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def release(delivery_id: int) -> None:
    """Puts back a delivery that could not be sent, for the batch's retry."""
    db.session.execute(
        sa.update(MessageDelivery)
        .where(MessageDelivery.id == delivery_id)
        .values(state=DeliveryState.QUEUED, sent_at=None)
        .execution_options(synchronize_session=False)
    )


def refused(delivery_id: int, *, unsubscribed: bool, now: datetime) -> None:
    """A copy the provider will never deliver (flushed). Either the member
    answered STOP to a text, which withdraws their consent to texts at once, as
    the link in a message does (the copy is skipped), or the number cannot take
    a text (the copy failed)."""
    delivery = db.session.get(MessageDelivery, delivery_id)
    if delivery is None:
        return
    if unsubscribed:
        member = db.session.get(Member, delivery.member_id)
        if member is not None:
            record_consent(
                member,
                delivery.channel,
                granted=False,
                source=ConsentSource.TEXT_REPLY,
                now=now,
            )
    delivery.state = DeliveryState.SKIPPED if unsubscribed else DeliveryState.FAILED
    delivery.sent_at = None
    db.session.flush()


def is_sending(message_id: int) -> bool:
    state = db.session.scalar(
        sa.select(MemberMessage.state).where(MemberMessage.id == message_id)
    )
    return state is MessageState.SENDING


# -- Reading messages ---------------------------------------------------------


def _visible(actor: User) -> sa.Select[MemberMessage]:
    statement = sa.select(MemberMessage)
    if actor.has_role(Role.ADMIN):
        return statement
    if actor.has_role(Role.ORGANIZER):
        return statement.where(MemberMessage.segment_kind.not_in(ADMIN_SEGMENTS))
    return statement.where(sa.false())


def messages_for(actor: User, *, limit: int = 100) -> list[MemberMessage]:
    """The newest messages the actor may read: admins all, organizers those to
    workplaces and sectors."""
    return list(
        db.session.scalars(
            _visible(actor)
            .order_by(MemberMessage.created_at.desc(), MemberMessage.id.desc())
            .limit(limit)
        )
    )


def message_for(actor: User, message_id: int) -> MemberMessage:
    message = db.session.scalar(_visible(actor).where(MemberMessage.id == message_id))
    if message is None:
        raise NotFound()
    return message


@dataclass(frozen=True, slots=True)
class Progress:
    sent: int
    queued: int
    skipped: int
    failed: int
    #: Still waiting on delegates' call lists.
    in_person: int

    @property
    def to_send(self) -> int:
        return self.sent + self.queued + self.skipped + self.failed

    @property
    def percent_done(self) -> int:
        if not self.to_send:
            return 100
        return (self.to_send - self.queued) * 100 // self.to_send


def progress(message: MemberMessage) -> Progress:
    counts = {
        (channel, state): int(number)
        for channel, state, number in db.session.execute(
            sa.select(MessageDelivery.channel, MessageDelivery.state, sa.func.count())
            .where(MessageDelivery.message_id == message.id)
            .group_by(MessageDelivery.channel, MessageDelivery.state)
        )
    }

    def written(state: DeliveryState) -> int:
        return counts.get((Channel.EMAIL, state), 0) + counts.get(
            (Channel.TEXT, state), 0
        )

    return Progress(
        sent=written(DeliveryState.SENT),
        queued=written(DeliveryState.QUEUED),
        skipped=written(DeliveryState.SKIPPED),
        failed=written(DeliveryState.FAILED),
        in_person=counts.get((Channel.IN_PERSON, DeliveryState.QUEUED), 0),
    )


@dataclass(frozen=True, slots=True)
class WaitingMessage:
    """A message a delegate is to pass on in person."""

    delivery_id: int
    message_id: int
    subject: str
    subject_fr: str | None
    sent_at: datetime | None
    #: When the author sent it (before that, when they wrote it).
    at: datetime
    body: str = ""
    body_fr: str | None = None


def waiting_in_person(
    member_ids: Collection[int],
) -> dict[int, list[WaitingMessage]]:
    """For the delegate's call list: by member id, the messages each member is to
    be told of in person, oldest first (one query)."""
    if not member_ids:
        return {}
    waiting: dict[int, list[WaitingMessage]] = {}
    for member_id, delivery_id, message in db.session.execute(
        sa.select(MessageDelivery.member_id, MessageDelivery.id, MemberMessage)
        .join(MemberMessage, MemberMessage.id == MessageDelivery.message_id)
        .where(
            MessageDelivery.member_id.in_(list(member_ids)),
            MessageDelivery.channel == Channel.IN_PERSON,
            MessageDelivery.state == DeliveryState.QUEUED,
            MemberMessage.state != MessageState.DRAFT,
        )
        .order_by(MemberMessage.sent_at, MessageDelivery.id)
    ):
        waiting.setdefault(member_id, []).append(
            WaitingMessage(
                delivery_id,
                message.id,
                message.subject_en,
                message.subject_fr,
                message.sent_at,
                body=message.body_en,
                body_fr=message.body_fr,
                at=message.sent_at or message.created_at,
            )
        )
    return waiting


def told_member_in_person(member_id: int, *, shown_at: datetime, now: datetime) -> int:
    """Marks as passed on every message waiting for the member on the call list
    when it was shown (flushed); one sent since stays. Returns how many."""
    shown = sa.select(MemberMessage.id).where(
        sa.func.coalesce(MemberMessage.sent_at, MemberMessage.created_at) <= shown_at
    )
    told = db.session.execute(
        sa.update(MessageDelivery)
        .where(
            MessageDelivery.member_id == member_id,
            MessageDelivery.channel == Channel.IN_PERSON,
            MessageDelivery.state == DeliveryState.QUEUED,
            MessageDelivery.message_id.in_(shown),
        )
        .values(state=DeliveryState.SENT, sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(told.rowcount)  # type: ignore[attr-defined]


def told_in_person(delivery_id: int, *, now: datetime) -> bool:
    """Marks a message passed on in person (flushed), for the call list: the
    caller has checked the actor may reach that member. False if it was not
    waiting."""
    told = db.session.execute(
        sa.update(MessageDelivery)
        .where(
            MessageDelivery.id == delivery_id,
            MessageDelivery.channel == Channel.IN_PERSON,
            MessageDelivery.state == DeliveryState.QUEUED,
        )
        .values(state=DeliveryState.SENT, sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(told.rowcount)  # type: ignore[attr-defined]


# -- Consent ------------------------------------------------------------------


def consents(member: Member) -> dict[Channel, MessageConsent]:
    return {
        consent.channel: consent
        for consent in db.session.scalars(
            sa.select(MessageConsent).where(MessageConsent.member_id == member.id)
        )
    }


def _contact_digests(member: Member, channel: Channel) -> list[str]:
    if channel is Channel.EMAIL:
        return [member.user.email_hash] if member.user is not None else []
    if channel is Channel.TEXT and member.phone:
        return [phone_digest(member.phone)]
    return []


def record_consent(
    member: Member,
    channel: Channel,
    *,
    granted: bool,
    source: ConsentSource,
    now: datetime,
) -> MessageConsent:
    """The member's answer for one channel (flushed). Withdrawing takes effect at
    once: the contact joins the unsubscribed list and what was queued for it is
    skipped. Granting takes the member's own contact off that list."""
    if channel not in (Channel.EMAIL, Channel.TEXT):
        raise ValueError(f"no consent is asked for {channel}")
    consent = db.session.scalar(
        sa.select(MessageConsent).where(
            MessageConsent.member_id == member.id, MessageConsent.channel == channel
        )
    )
    if consent is None:
        consent = MessageConsent(member_id=member.id, channel=channel)
        db.session.add(consent)
    changed = consent.granted is not granted
    consent.granted = granted
    consent.source = source if changed or consent.source is None else consent.source
    consent.at = now if changed or consent.at is None else consent.at
    digests = _contact_digests(member, channel)
    if granted and digests:
        db.session.execute(
            sa.delete(UnsubscribedContact).where(
                UnsubscribedContact.digest.in_(digests)
            )
        )
    elif not granted:
        _list(digests, now=now)
        db.session.execute(
            sa.update(MessageDelivery)
            .where(
                MessageDelivery.member_id == member.id,
                MessageDelivery.channel == channel,
                MessageDelivery.state == DeliveryState.QUEUED,
            )
            .values(state=DeliveryState.SKIPPED)
            .execution_options(synchronize_session=False)
        )
    db.session.flush()
    return consent


def _list(digests: Iterable[str], *, now: datetime) -> None:
    for digest in digests:
        if db.session.get(UnsubscribedContact, digest) is None:
            db.session.add(UnsubscribedContact(digest=digest, at=now))
    db.session.flush()


def unsubscribe(member: Member, channel: Channel, *, now: datetime) -> None:
    """One click on a message's unsubscribe link (flushed)."""
    record_consent(
        member, channel, granted=False, source=ConsentSource.UNSUBSCRIBE_LINK, now=now
    )


def forget_contacts(member: Member, *, now: datetime) -> None:
    """Before a member's data is erased: their email and phone join the
    unsubscribed list, as hashes, and their consent rows go (flushed)."""
    digests = _contact_digests(member, Channel.EMAIL) + _contact_digests(
        member, Channel.TEXT
    )
    _list(digests, now=now)
    db.session.execute(
        sa.delete(MessageConsent).where(MessageConsent.member_id == member.id)
    )
    db.session.execute(
        sa.update(MessageDelivery)
        .where(
            MessageDelivery.member_id == member.id,
            MessageDelivery.state == DeliveryState.QUEUED,
        )
        .values(state=DeliveryState.SKIPPED)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()


def member_by_public_id(public_id: str) -> Member | None:
    return db.session.scalar(sa.select(Member).where(Member.public_id == public_id))
