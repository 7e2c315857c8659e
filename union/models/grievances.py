"""Grievances: steward-logged cases, their steps and deadlines, an append-only
timeline, confidential notes, documents, reminders sent and calendar feeds.

Notes and documents belong to the case, never to a member record: they are read
only through a grievance the reader may see.
"""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from union.adapters.blind_index import text_digests
from union.adapters.crypto import EncryptedText
from union.clock import utcnow
from union.db import Base, Model
from union.models.members import ContactPreference
from union.models.types import enum_type

if TYPE_CHECKING:
    from union.models.members import Member
    from union.models.users import User
    from union.models.workplaces import Workplace


class GrievanceCategory(enum.StrEnum):
    WAGE_DISCREPANCY = "wage_discrepancy"
    NO_RAISE = "no_raise"
    BENEFITS = "benefits"
    TIME_OFF = "time_off"
    #: Management relying on social assistance to supply benefits it does not pay.
    SOCIAL_ASSISTANCE = "social_assistance"
    #: Discrimination based on the lived experience people were hired for.
    LIVED_EXPERIENCE = "lived_experience"
    PRECARIOUS_FUNDING = "precarious_funding"
    SCHEDULING = "scheduling"
    HEALTH_SAFETY = "health_safety"
    OTHER = "other"


class GrievanceStep(enum.StrEnum):
    """Where a case stands. The first four are open; the last three are closed."""

    INTAKE = "intake"
    STEP_1 = "step_1"
    STEP_2 = "step_2"
    ARBITRATION = "arbitration"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"
    LOST = "lost"


class GrievanceOutcome(enum.StrEnum):
    WON = "won"
    PARTLY_WON = "partly_won"
    LOST = "lost"
    WITHDRAWN = "withdrawn"


class GrievanceEventKind(enum.StrEnum):
    OPENED = "opened"
    MOVED = "moved"
    #: Closing is a move to a closed step that also records the outcome.
    OUTCOME_RECORDED = "outcome_recorded"
    NOTE_ADDED = "note_added"
    DOCUMENT_ADDED = "document_added"
    STEWARD_REASSIGNED = "steward_reassigned"
    GRIEVANT_ADDED = "grievant_added"
    DETAILS_CHANGED = "details_changed"


def new_public_id() -> str:
    return secrets.token_hex(12)


grievance_grievants = sa.Table(
    "grievance_grievants",
    Base.metadata,
    sa.Column(
        "grievance_id",
        sa.ForeignKey("grievances.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "member_id",
        sa.ForeignKey("members.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class Grievance(Model):
    __tablename__ = "grievances"
    __table_args__ = (
        sa.CheckConstraint(
            "money_recovered_cents >= 0", name="money_recovered_nonnegative"
        ),
        sa.Index("ix_grievances_workplace_step", "workplace_id", "step"),
        sa.Index("ix_grievances_steward_deadline", "steward_id", "deadline_on"),
        # A member's problems raised in the last day; an erased account's cases.
        sa.Index("ix_grievances_opened_by", "opened_by_id", "created_at"),
        # The organizers' counts read these instead of the (wide, encrypted) rows.
        sa.Index(
            "ix_grievances_counts",
            "category",
            "step",
            "outcome",
            "money_recovered_cents",
        ),
        sa.Index(
            "ix_grievances_workplace_counts",
            "workplace_id",
            "closed_on",
            "money_recovered_cents",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Opaque id for URLs: reveals neither order nor count.
    public_id: Mapped[str] = mapped_column(
        sa.String(32), unique=True, default=new_public_id
    )
    #: The human case number, like 2026-0042; emails and calendars name only this.
    number: Mapped[str] = mapped_column(sa.String(16), unique=True)
    workplace_id: Mapped[int] = mapped_column(sa.ForeignKey("workplaces.id"))
    category: Mapped[GrievanceCategory] = mapped_column(enum_type(GrievanceCategory))
    #: Seen by the grievants too, so stewards are asked to keep names out of it.
    # The narrative fields are encrypted at rest (see union.adapters.crypto).
    title: Mapped[str] = mapped_column(EncryptedText())
    what_happened: Mapped[str] = mapped_column(EncryptedText())
    remedy_sought: Mapped[str] = mapped_column(EncryptedText(), default="")
    incident_on: Mapped[date | None]
    #: The steward following the case; None if their account was removed, or
    #: for a problem a member raised where several stewards could take it.
    steward_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    #: The current step, and its deadline (None once closed). The step history
    #: itself is in grievance_step_records; these two make lists sortable in SQL.
    step: Mapped[GrievanceStep] = mapped_column(enum_type(GrievanceStep), index=True)
    deadline_on: Mapped[date | None]
    opened_on: Mapped[date]
    opened_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    closed_on: Mapped[date | None]
    #: Raised online by the member named on it, rather than opened by a steward.
    #: The server default serves the bulk writers, which name only older columns.
    is_raised_online: Mapped[bool] = mapped_column(
        default=False, server_default=sa.false()
    )
    #: How the member who raised it would like to be reached about it.
    contact_preference: Mapped[ContactPreference | None] = mapped_column(
        enum_type(ContactPreference)
    )
    outcome: Mapped[GrievanceOutcome | None] = mapped_column(
        enum_type(GrievanceOutcome)
    )
    #: Back pay and other money won, in cents.
    money_recovered_cents: Mapped[int | None] = mapped_column(sa.BigInteger)
    remedy_obtained: Mapped[str | None] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: When the retention job removed the narrative, notes, documents and grievants
    #: of this long-closed case; what is left only counts in statistics.
    erased_at: Mapped[datetime | None]

    workplace: Mapped[Workplace] = relationship()
    steward: Mapped[User | None] = relationship(foreign_keys=[steward_id])
    grievants: Mapped[list[Member]] = relationship(
        secondary=grievance_grievants, order_by="Member.chosen_name"
    )
    step_records: Mapped[list[StepRecord]] = relationship(
        back_populates="grievance", order_by="StepRecord.id"
    )
    events: Mapped[list[GrievanceEvent]] = relationship(
        back_populates="grievance", order_by="GrievanceEvent.id"
    )
    notes: Mapped[list[GrievanceNote]] = relationship(
        back_populates="grievance", order_by="GrievanceNote.id"
    )
    documents: Mapped[list[GrievanceDocument]] = relationship(
        back_populates="grievance", order_by="GrievanceDocument.id"
    )
    #: Kept in step with the title by _index_title below.
    title_words: Mapped[list[GrievanceTitleWord]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_open(self) -> bool:
        return self.closed_on is None

    @property
    def is_group(self) -> bool:
        """A group or policy grievance: nobody is named as grievant."""
        return not self.grievants

    @property
    def current_step_record(self) -> StepRecord | None:
        return self.step_records[-1] if self.step_records else None

    def __repr__(self) -> str:
        return f"<Grievance {self.number}>"


#: What the hashes of title words are for (union.adapters.blind_index).
TITLE_WORDS = "grievance title"


class GrievanceTitleWord(Model):
    """A keyed hash of one word of a case's title, or of a word's beginning, so
    that titles, which are encrypted, can be searched (union.adapters.blind_index)."""

    __tablename__ = "grievance_title_words"
    __table_args__ = (
        sa.Index("ix_grievance_title_words_digest", "digest", "grievance_id"),
    )

    grievance_id: Mapped[int] = mapped_column(
        sa.ForeignKey("grievances.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)


@sa.event.listens_for(Grievance.title, "set")
def _index_title(
    grievance: Grievance, title: str | None, _old: object, _initiator: object
) -> None:
    """Whatever sets a title (opening a case, editing it, retention emptying it)
    replaces its word hashes in the same flush."""
    grievance.title_words = [
        GrievanceTitleWord(digest=digest)
        for digest in sorted(text_digests(TITLE_WORDS, title or ""))
    ]


class StepRecord(Model):
    """The case entering a step, with the deadline that step carries. Append-only."""

    __tablename__ = "grievance_step_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    grievance_id: Mapped[int] = mapped_column(
        sa.ForeignKey("grievances.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[GrievanceStep] = mapped_column(enum_type(GrievanceStep))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    entered_on: Mapped[date]
    #: None for the closed steps, which have nothing left to meet.
    deadline_on: Mapped[date | None]
    entered_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    grievance: Mapped[Grievance] = relationship(back_populates="step_records")


class GrievanceEvent(Model):
    """One line of a case's timeline: who did what, when. Never the text itself;
    rows are only ever added."""

    __tablename__ = "grievance_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    grievance_id: Mapped[int] = mapped_column(
        sa.ForeignKey("grievances.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    kind: Mapped[GrievanceEventKind] = mapped_column(enum_type(GrievanceEventKind))
    #: For moves and outcomes: the step entered.
    step: Mapped[GrievanceStep | None] = mapped_column(enum_type(GrievanceStep))
    #: For reassignments: the steward now assigned; for added grievants: who.
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    member_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("members.id", ondelete="SET NULL")
    )

    grievance: Mapped[Grievance] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    member: Mapped[Member | None] = relationship()


class GrievanceNote(Model):
    """A confidential note: read only by stewards of the workplace and admins."""

    __tablename__ = "grievance_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    grievance_id: Mapped[int] = mapped_column(
        sa.ForeignKey("grievances.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    grievance: Mapped[Grievance] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()


class GrievanceDocument(Model):
    """An uploaded letter, pay stub or photo. The bytes live in document storage
    under a random key; the name shown is the one it was uploaded with."""

    __tablename__ = "grievance_documents"
    __table_args__ = (sa.CheckConstraint("size_bytes >= 0", name="size_nonnegative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grievance_id: Mapped[int] = mapped_column(
        sa.ForeignKey("grievances.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    filename: Mapped[str] = mapped_column(EncryptedText())
    #: Found from the file's first bytes, never from its name or the browser.
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size_bytes: Mapped[int]
    storage_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))

    grievance: Mapped[Grievance] = relationship(back_populates="documents")
    uploaded_by: Mapped[User | None] = relationship()


class StepDeadline(Model):
    """A workplace's own number of days for a step, where its contract differs
    from the union's default."""

    __tablename__ = "grievance_step_deadlines"
    __table_args__ = (
        sa.UniqueConstraint("workplace_id", "step"),
        sa.CheckConstraint("days > 0", name="days_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workplace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workplaces.id", ondelete="CASCADE")
    )
    step: Mapped[GrievanceStep] = mapped_column(enum_type(GrievanceStep))
    days: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SentReminder(Model):
    """A deadline reminder already emailed; the unique key makes each one go out
    at most once, however often (and on however many hosts) the command runs.
    A case only moves forward, so a step and its deadline name one reminder."""

    __tablename__ = "grievance_reminders"
    __table_args__ = (
        sa.UniqueConstraint("grievance_id", "step", "deadline_on", "days_before"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grievance_id: Mapped[int] = mapped_column(
        sa.ForeignKey("grievances.id", ondelete="CASCADE")
    )
    step: Mapped[GrievanceStep] = mapped_column(enum_type(GrievanceStep))
    deadline_on: Mapped[date]
    #: 3, 1 or 0 (the deadline day itself).
    days_before: Mapped[int]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    recipient_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


class CalendarFeed(Model):
    """A steward's private calendar address. Only a hash of its token is kept."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    #: SHA-256 of the token in the address.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When a calendar app last fetched it, so the steward can spot a stranger.
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
