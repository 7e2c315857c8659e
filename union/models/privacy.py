"""Members' privacy rights and the union's duties: correction requests and the
register of breaches of security safeguards (PIPEDA s. 10.1 and its regulations)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from union.adapters.crypto import EncryptedText
from union.clock import utcnow
from union.db import Model
from union.models.types import enum_type

if TYPE_CHECKING:
    from union.models.members import Member
    from union.models.users import User


class CorrectionStatus(enum.StrEnum):
    OPEN = "open"
    #: The record was corrected as asked (by the admin, or the member themselves).
    CORRECTED = "corrected"
    #: Not changed; the response says why (the member can answer with a new request).
    DECLINED = "declined"


class CorrectionRequest(Model):
    """A member asking for something held about them to be corrected."""

    __tablename__ = "correction_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    #: In the member's words: what is wrong and what it should say. Encrypted.
    details: Mapped[str] = mapped_column(EncryptedText())
    status: Mapped[CorrectionStatus] = mapped_column(
        enum_type(CorrectionStatus), index=True
    )
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    #: What the admin did or why not, shown to the member. Encrypted.
    response: Mapped[str | None] = mapped_column(EncryptedText())

    member: Mapped[Member] = relationship()
    resolved_by: Mapped[User | None] = relationship()


class Breach(Model):
    """One breach of security safeguards involving personal information. Every
    breach is recorded, whether or not it must be reported, and kept at least 24
    months (the retention job never removes these)."""

    __tablename__ = "breaches"
    __table_args__ = (
        sa.CheckConstraint("people_affected >= 0", name="people_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: When it happened, if known, and when the union learned of it.
    occurred_on: Mapped[date | None]
    discovered_on: Mapped[date]
    #: What happened. Encrypted: it may name people or systems.
    description: Mapped[str] = mapped_column(EncryptedText())
    #: Which kinds of personal information were involved. Encrypted.
    data_affected: Mapped[str] = mapped_column(EncryptedText())
    #: How many people (an estimate when not known exactly).
    people_affected: Mapped[int]
    #: Whether it creates a real risk of significant harm (which makes reporting
    #: to the Commissioner and notifying the people affected mandatory).
    real_risk_of_significant_harm: Mapped[bool] = mapped_column(default=False)
    individuals_notified_on: Mapped[date | None]
    commissioner_reported_on: Mapped[date | None]
    #: What was done to contain it and to stop it happening again. Encrypted.
    measures: Mapped[str] = mapped_column(EncryptedText(), default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
