"""Removing what has been kept long enough (PIPEDA principle 4.5.3).

`apply_retention` is run by the worker every day (and by `union apply-retention`). It is
idempotent: a second run the same day finds nothing more to do. Every run leaves an
audit row saying how much it removed. Periods come from configuration; None keeps a
kind of record for good. Never touched: the ledger (payments and months covered,
kept for the union's financial records), the breach register (kept at least 24
months, as the breach regulations require, and here for good), and audit rows
unless an audit period is configured.

Sign-in throttling counters need nothing here: they expire on their own, in Redis
(a TTL on every key) as in memory (fixed windows of minutes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from union import clock
from union.adapters.documents import DocumentStorage
from union.db import db
from union.models import (
    AccountToken,
    CheckoutAttempt,
    DuesNotice,
    Grievance,
    GrievanceDocument,
    GrievanceEvent,
    GrievanceNote,
    Job,
    JobState,
    LoginSession,
    Member,
    MemberStatus,
    Notification,
    RoleGrant,
    StripeEvent,
    User,
    grievance_grievants,
)
from union.services import audit


@dataclass(frozen=True, slots=True)
class RetentionPeriods:
    #: Emailed links, counted from when they expired or were used.
    account_tokens: timedelta = timedelta(days=30)
    #: Signed-in sessions, counted from when they ended (sign-out, expiry, idling).
    login_sessions: timedelta = timedelta(days=30)
    #: Applications whose email was never confirmed, counted from joining.
    unconfirmed_applications: timedelta = timedelta(days=60)
    #: Card checkout attempts (what a member started paying for).
    checkout_attempts: timedelta = timedelta(days=180)
    #: Stripe webhook event ids (deduplication only needs Stripe's retry window).
    stripe_events: timedelta = timedelta(days=400)
    #: The record of dues emails sent (reminders, failed payments).
    dues_notices: timedelta = timedelta(days=730)
    #: What people were told in the app (read or not), counted from the telling.
    notifications: timedelta = timedelta(days=365)
    #: Finished background work (an email's encrypted body among it), counted
    #: from finishing; parked work waits for an admin whatever its age.
    finished_jobs: timedelta = timedelta(days=30)
    #: Closed grievances, counted from closing: narrative, notes, documents and
    #: grievants are removed; step, category, outcome and money stay for counts.
    #: None keeps them until the union's counsel sets a period.
    closed_grievances: timedelta | None = None
    #: Audit rows; None keeps them for good.
    audit_events: timedelta | None = None

    @classmethod
    def from_days(cls, days: dict[str, int | None]) -> RetentionPeriods:
        """Periods from a mapping of field name to days (None: keep for good)."""
        values = {
            name: None if value is None else timedelta(days=value)
            for name, value in days.items()
        }
        return cls(**values)  # type: ignore[arg-type]


def apply_retention(
    periods: RetentionPeriods, *, now: datetime, storage: DocumentStorage
) -> dict[str, int]:
    """Removes or anonymizes everything past its period; returns what it did."""
    counts = {
        "account_tokens": _delete(
            AccountToken,
            sa.func.coalesce(AccountToken.used_at, AccountToken.expires_at)
            < now - periods.account_tokens,
        ),
        "login_sessions": _delete(
            LoginSession,
            sa.or_(
                sa.func.coalesce(LoginSession.revoked_at, LoginSession.expires_at)
                < now - periods.login_sessions,
                LoginSession.last_seen_at < now - periods.login_sessions,
            ),
        ),
        "unconfirmed_applications": _remove_unconfirmed_applications(
            now - periods.unconfirmed_applications
        ),
        "checkout_attempts": _delete(
            CheckoutAttempt,
            CheckoutAttempt.created_at < now - periods.checkout_attempts,
        ),
        "stripe_events": _delete(
            StripeEvent, StripeEvent.received_at < now - periods.stripe_events
        ),
        "dues_notices": _delete(
            DuesNotice, DuesNotice.sent_at < now - periods.dues_notices
        ),
        "notifications": _delete(
            Notification, Notification.created_at < now - periods.notifications
        ),
        "finished_jobs": _delete(
            Job,
            sa.and_(
                Job.state == JobState.DONE,
                Job.finished_at < now - periods.finished_jobs,
            ),
        ),
        "closed_grievances": 0,
        "audit_events": 0,
    }
    if periods.closed_grievances is not None:
        counts["closed_grievances"] = _erase_closed_grievances(
            clock.today(now - periods.closed_grievances), now=now, storage=storage
        )
    if periods.audit_events is not None:
        counts["audit_events"] = audit.purge_older_than(
            now - periods.audit_events, now=now
        )
    audit.record(
        "retention.applied",
        actor=None,
        now=now,
        detail=" ".join(f"{name}={count}" for name, count in counts.items() if count),
    )
    db.session.flush()
    return counts


def _delete(model: type, condition: sa.ColumnElement[bool]) -> int:
    result = db.session.execute(sa.delete(model).where(condition))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _remove_unconfirmed_applications(joined_before: datetime) -> int:
    """Applicants who never confirmed their email: nothing is kept about someone
    who did not become a member."""
    stale = db.session.execute(
        sa.select(Member.id, User.id)
        .join(User, User.id == Member.user_id)
        .where(
            Member.status == MemberStatus.APPLICANT,
            User.email_confirmed_at.is_(None),
            User.password_hash.is_(None),
            Member.created_at < joined_before,
        )
    ).all()
    if not stale:
        return 0
    member_ids = [member_id for member_id, _user_id in stale]
    user_ids = [user_id for _member_id, user_id in stale]
    db.session.execute(sa.delete(Member).where(Member.id.in_(member_ids)))
    staff = sa.select(RoleGrant.user_id).where(RoleGrant.user_id.in_(user_ids))
    db.session.execute(
        sa.delete(User).where(User.id.in_(user_ids), User.id.not_in(staff))
    )
    return len(member_ids)


def _erase_closed_grievances(
    closed_before: object, *, now: datetime, storage: DocumentStorage
) -> int:
    ids = list(
        db.session.scalars(
            sa.select(Grievance.id).where(
                Grievance.closed_on < closed_before,
                Grievance.erased_at.is_(None),
            )
        )
    )
    if not ids:
        return 0
    keys = db.session.scalars(
        sa.select(GrievanceDocument.storage_key).where(
            GrievanceDocument.grievance_id.in_(ids)
        )
    ).all()
    db.session.execute(
        sa.delete(GrievanceDocument).where(GrievanceDocument.grievance_id.in_(ids))
    )
    db.session.execute(
        sa.delete(GrievanceNote).where(GrievanceNote.grievance_id.in_(ids))
    )
    db.session.execute(
        sa.delete(grievance_grievants).where(
            grievance_grievants.c.grievance_id.in_(ids)
        )
    )
    db.session.execute(
        sa.update(GrievanceEvent)
        .where(GrievanceEvent.grievance_id.in_(ids))
        .values(member_id=None)
    )
    # Encrypted columns are written through the ORM so the empty text is encrypted
    # like any other value.
    for grievance in db.session.scalars(
        sa.select(Grievance).where(Grievance.id.in_(ids))
    ):
        grievance.title = ""
        grievance.what_happened = ""
        grievance.remedy_sought = ""
        grievance.remedy_obtained = None
        grievance.erased_at = now
    db.session.flush()
    for key in keys:
        storage.delete(key)
    return len(ids)
