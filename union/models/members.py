"""Members of the union and where they work.

Deliberately absent: income, health, drug use, criminal record, lived experience.
Those questions live only in the anonymous survey, never on a member.
"""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from union.adapters.crypto import EncryptedText
from union.clock import first_of_month, utcnow
from union.db import Model
from union.models.types import enum_type

if TYPE_CHECKING:
    from union.models.dues import DuesLevel
    from union.models.users import User
    from union.models.workplaces import JobClassification, Workplace


#: Which members the two arrears indexes hold (see Member.__table_args__).
ARREARS_ORDERED = (
    "status IN ('active', 'lapsed') AND months_covered_later = 0 AND left_on IS NULL"
)
ARREARS_COUNTED = (
    "status IN ('active', 'lapsed') "
    "AND (months_covered_later > 0 OR left_on IS NOT NULL)"
)


class MemberStatus(enum.StrEnum):
    #: Joined online or was added; waits for a steward of their workplace or an admin.
    APPLICANT = "applicant"
    ACTIVE = "active"
    #: Stopped paying; may come back to active.
    LAPSED = "lapsed"
    RESIGNED = "resigned"


class MembershipClass(enum.StrEnum):
    EMPLOYED = "employed"
    UNEMPLOYED = "unemployed"
    STUDENT = "student"


class ContactPreference(enum.StrEnum):
    EMAIL = "email"
    TEXT = "text"
    PHONE = "phone"
    #: Only through a steward or delegate, face to face.
    IN_PERSON = "in_person"


def new_public_id() -> str:
    return secrets.token_hex(12)


def _month_joined(context: DefaultExecutionContext) -> date:
    # SQLAlchemy leaves this one unannotated.
    joined_on: date = context.get_current_parameters()["joined_on"]  # type: ignore[no-untyped-call]
    return first_of_month(joined_on)


class Member(Model):
    __tablename__ = "members"
    __table_args__ = (
        # The treasurer's arrears list, most behind first, read in index order: the
        # members whose covered months are one unbroken run from joining.
        sa.Index(
            "ix_members_arrears",
            "first_uncovered_month",
            "member_number",
            postgresql_where=sa.text(ARREARS_ORDERED),
            sqlite_where=sa.text(ARREARS_ORDERED),
        ),
        # ... and the few others, whose arrears are counted month by month.
        sa.Index(
            "ix_members_arrears_counted",
            "member_number",
            postgresql_where=sa.text(ARREARS_COUNTED),
            sqlite_where=sa.text(ARREARS_COUNTED),
        ),
        # The roster a page at a time by name or by joining date.
        sa.Index("ix_members_name", "chosen_name", "member_number"),
        sa.Index("ix_members_joined", "joined_on", "member_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Opaque id for URLs and for Stripe metadata; reveals neither order nor count.
    public_id: Mapped[str] = mapped_column(
        sa.String(32), unique=True, default=new_public_id
    )
    member_number: Mapped[int] = mapped_column(unique=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    chosen_name: Mapped[str] = mapped_column(sa.String(100))
    #: Encrypted at rest, like the phone number.
    legal_name: Mapped[str | None] = mapped_column(EncryptedText())
    pronouns: Mapped[str | None] = mapped_column(sa.String(40))
    phone: Mapped[str | None] = mapped_column(EncryptedText())
    contact_preference: Mapped[ContactPreference] = mapped_column(
        enum_type(ContactPreference)
    )
    membership_class: Mapped[MembershipClass] = mapped_column(
        enum_type(MembershipClass)
    )
    status: Mapped[MemberStatus] = mapped_column(enum_type(MemberStatus), index=True)
    dues_level_id: Mapped[int] = mapped_column(sa.ForeignKey("dues_levels.id"))
    joined_on: Mapped[date]
    accepted_on: Mapped[date | None]
    accepted_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    left_on: Mapped[date | None]
    #: The first month from joining that no payment or waiver covers: the member
    #: owes from this month on. Kept with the coverage rows, in the same transaction
    #: (union.services.ledger.note_coverage).
    first_uncovered_month: Mapped[date] = mapped_column(default=_month_joined)
    #: Covered months after that one (paid ahead across a gap, a waiver for later
    #: months, a refund in the middle): 0 for nearly everyone, whose arrears then
    #: follow from first_uncovered_month alone.
    months_covered_later: Mapped[int] = mapped_column(default=0)
    #: The latest month anything covers, if any. When it is not after the last
    #: month owed, every month covered later counts against the arrears, which can
    #: then be read without counting the covered months one by one.
    last_covered_month: Mapped[date | None]
    #: The member's Stripe customer, created before their first card payment.
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    #: The roster file that added the member, if one did: its members are invited
    #: to set up their accounts together.
    roster_import_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("roster_imports.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User | None] = relationship(
        back_populates="member", foreign_keys=[user_id]
    )
    dues_level: Mapped[DuesLevel] = relationship()
    employments: Mapped[list[Employment]] = relationship(
        back_populates="member",
        cascade="all, delete-orphan",
        order_by="Employment.id",
    )

    @validates("joined_on")
    def _owes_from_joining(self, _key: str, joined_on: date) -> date:
        """A member with nothing covered owes from the month they joined."""
        before = self.__dict__.get("joined_on")
        owed_from = self.__dict__.get("first_uncovered_month")
        if owed_from is None or (
            before is not None
            and owed_from == first_of_month(before)
            and not self.months_covered_later
        ):
            self.first_uncovered_month = first_of_month(joined_on)
        return joined_on

    @property
    def current_employments(self) -> list[Employment]:
        return [job for job in self.employments if job.ended_on is None]

    @property
    def email(self) -> str | None:
        return self.user.email if self.user is not None else None

    def __repr__(self) -> str:
        return f"<Member {self.member_number}>"


class RosterImport(Model):
    """One roster file imported (from the admin page or the command line)."""

    __tablename__ = "roster_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    imported_at: Mapped[datetime]
    imported_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    #: How many members the file added.
    members_added: Mapped[int]


class Employment(Model):
    """A member working (or having worked) at a workplace in a job classification."""

    __tablename__ = "employments"
    __table_args__ = (
        sa.Index("ix_employments_workplace_current", "workplace_id", "ended_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    workplace_id: Mapped[int] = mapped_column(sa.ForeignKey("workplaces.id"))
    classification_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("job_classifications.id")
    )
    started_on: Mapped[date | None]
    #: None while the member still works there.
    ended_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Member] = relationship(back_populates="employments")
    workplace: Mapped[Workplace] = relationship()
    classification: Mapped[JobClassification | None] = relationship()
