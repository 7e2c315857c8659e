"""Writing to the append-only audit log."""

from __future__ import annotations

from datetime import datetime

from union.db import db
from union.models import AuditEvent, User


def record(
    action: str,
    *,
    actor: User | None,
    now: datetime,
    subject: object | None = None,
    detail: str | None = None,
) -> AuditEvent:
    """Adds one audit row: who did what to which object, never the values involved."""
    subject_type = subject_id = None
    if subject is not None:
        subject_type = type(subject).__name__.lower()
        subject_id = str(getattr(subject, "id", "") or "") or None
    event = AuditEvent(
        at=now,
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail,
    )
    db.session.add(event)
    return event
