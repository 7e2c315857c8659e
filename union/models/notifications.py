"""What people are told: one row per person and event, and their choices.

A notification keeps only small, non-sensitive values (a case number, a step code,
a date, an amount in cents, a month) and its kind; the words are written when it
is shown or emailed, in the reader's language. Never a note, a grievance title,
a name or anything a person typed.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from union.clock import utcnow
from union.db import Model
from union.models.types import enum_type


class NotificationKind(enum.StrEnum):
    #: To stewards of the applicant's workplaces and admins.
    APPLICANT_WAITING = "applicant_waiting"
    APPLICATION_ACCEPTED = "application_accepted"
    APPLICATION_DECLINED = "application_declined"
    GRIEVANCE_OPENED = "grievance_opened"
    GRIEVANCE_MOVED = "grievance_moved"
    GRIEVANCE_CLOSED = "grievance_closed"
    WAIVER_DECIDED = "waiver_decided"
    SURVEY_OPENED = "survey_opened"
    PAYMENT_RECEIVED = "payment_received"


class Notification(Model):
    __tablename__ = "notifications"
    __table_args__ = (
        # A person's list, newest first, and their unread count.
        sa.Index("ix_notifications_user_created", "user_id", "created_at", "id"),
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(enum_type(NotificationKind))
    #: kind:subject:event:recipient, so an action done twice tells each person once.
    key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    #: JSON: the values the words are made from (see the module docstring).
    params: Mapped[str] = mapped_column(sa.Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the person read it, or a steward told them in person.
    read_at: Mapped[datetime | None]


class NotificationChoice(Model):
    """A person's choice about email for one kind. No row: the default, email on.
    In-app notifications are always kept."""

    __tablename__ = "notification_choices"
    __table_args__ = (sa.UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(enum_type(NotificationKind))
    email: Mapped[bool] = mapped_column(default=True)
