"""Messages to members: what an organizer or admin wrote to a segment, who it went
to by which channel, members' consent per channel, and the unsubscribed contacts.

The unsubscribed contacts are keyed hashes of an email address or phone number,
never the values: they outlive the member (erasure adds theirs), so that an erased
member is never written to again, and nothing in the list says who they were.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from union.clock import utcnow
from union.db import Model
from union.models.types import enum_type

SUBJECT_MAX = 150
BODY_MAX = 10_000


class SegmentKind(enum.StrEnum):
    #: The members working at one workplace now (value: its id).
    WORKPLACE = "workplace"
    #: The members working in one sector now (value: the sector).
    SECTOR = "sector"
    #: Members whose arrears are within the good standing threshold.
    GOOD_STANDING = "good_standing"
    #: Every active or lapsed member.
    EVERYONE = "everyone"


class MessageState(enum.StrEnum):
    DRAFT = "draft"
    SENDING = "sending"
    #: Stopped by its author: the batches stop before their next recipient.
    PAUSED = "paused"
    SENT = "sent"


class Channel(enum.StrEnum):
    EMAIL = "email"
    TEXT = "text"
    #: Through their delegate, who finds it on their call list.
    IN_PERSON = "in_person"


#: The channels a member gives or withdraws consent for.
CONSENT_CHANNELS = (Channel.EMAIL, Channel.TEXT)


class DeliveryState(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    #: Not sent: consent was withdrawn, or the contact unsubscribed, after the
    #: message was addressed.
    SKIPPED = "skipped"
    FAILED = "failed"


class ConsentSource(enum.StrEnum):
    JOINING_FORM = "joining_form"
    PROFILE = "profile"
    UNSUBSCRIBE_LINK = "unsubscribe_link"
    ADMIN = "admin"
    #: The member replied STOP (or ARRET) to a text: the provider said so when
    #: the next one was sent.
    TEXT_REPLY = "text_reply"


class MemberMessage(Model):
    __tablename__ = "member_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    segment_kind: Mapped[SegmentKind] = mapped_column(enum_type(SegmentKind))
    #: The workplace id or sector; empty for the segments that need none.
    segment_value: Mapped[str] = mapped_column(sa.String(64), default="")
    #: Made when the compose form is shown and sent with it: confirming the same
    #: form twice (a double click, a resent page) sends one message.
    draft_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    subject_en: Mapped[str] = mapped_column(sa.String(SUBJECT_MAX))
    body_en: Mapped[str] = mapped_column(sa.Text)
    #: The French version, when the author wrote one; French readers get the
    #: English one otherwise.
    subject_fr: Mapped[str | None] = mapped_column(sa.String(SUBJECT_MAX))
    body_fr: Mapped[str | None] = mapped_column(sa.Text)
    state: Mapped[MessageState] = mapped_column(
        enum_type(MessageState), default=MessageState.DRAFT
    )
    #: How many deliveries sending addressed (set once they are written).
    recipients: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    def subject_for(self, language: str | None) -> str:
        if language == "fr" and self.subject_fr:
            return self.subject_fr
        return self.subject_en

    def body_for(self, language: str | None) -> str:
        if language == "fr" and self.body_fr:
            return self.body_fr
        return self.body_en

    def language_for(self, language: str | None) -> str:
        """The language a reader of `language` gets it in."""
        return "fr" if language == "fr" and self.subject_fr and self.body_fr else "en"

    def __repr__(self) -> str:
        return f"<MemberMessage {self.id}>"


class MessageDelivery(Model):
    """One member's copy of a message. Written all at once when sending starts;
    each is marked sent before the next, so a batch run again skips it."""

    __tablename__ = "message_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("message_id", "member_id"),
        sa.Index("ix_message_deliveries_progress", "message_id", "state", "channel"),
        sa.Index("ix_message_deliveries_member", "member_id", "channel", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        sa.ForeignKey("member_messages.id", ondelete="CASCADE")
    )
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("members.id", ondelete="CASCADE")
    )
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    state: Mapped[DeliveryState] = mapped_column(
        enum_type(DeliveryState), default=DeliveryState.QUEUED
    )
    sent_at: Mapped[datetime | None]


class MessageConsent(Model):
    """A member's current answer for one channel: whether the union may write to
    them that way, since when, and where they said so."""

    __tablename__ = "message_consents"
    __table_args__ = (sa.UniqueConstraint("member_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("members.id", ondelete="CASCADE")
    )
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    granted: Mapped[bool]
    at: Mapped[datetime]
    source: Mapped[ConsentSource] = mapped_column(enum_type(ConsentSource))


class UnsubscribedContact(Model):
    """An email address or phone number no message may go to, as its keyed hash
    (union.adapters.crypto.lookup_digest, as an account's email_hash is)."""

    __tablename__ = "unsubscribed_contacts"

    digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    at: Mapped[datetime]
