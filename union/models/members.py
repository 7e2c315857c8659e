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
from sqlalchemy.orm import Mapped, mapped_column, relationship

from union.clock import utcnow
from union.crypto import EncryptedText
from union.db import Model
from union.models.types import enum_type

if TYPE_CHECKING:
    from union.models.dues import DuesLevel
    from union.models.users import User
    from union.models.workplaces import JobClassification, Workplace


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


class Member(Model):
    __tablename__ = "members"

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
    #: The member's Stripe customer, created before their first card payment.
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
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

    @property
    def current_employments(self) -> list[Employment]:
        return [job for job in self.employments if job.ended_on is None]

    @property
    def email(self) -> str | None:
        return self.user.email if self.user is not None else None

    def __repr__(self) -> str:
        return f"<Member {self.member_number}>"


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
