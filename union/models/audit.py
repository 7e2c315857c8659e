"""The append-only record of who did or saw what. It never holds the values."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from union.clock import utcnow
from union.db import Model


class AuditEvent(Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    #: A dotted verb such as "role.granted" or "roster.exported".
    action: Mapped[str] = mapped_column(sa.String(64))
    subject_type: Mapped[str | None] = mapped_column(sa.String(32))
    subject_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: Non-personal context such as "role=steward" or "rows=120"; never names or text.
    detail: Mapped[str | None] = mapped_column(sa.String(200))
