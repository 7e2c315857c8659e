"""Inviting the members a roster file added to set up their accounts.

Members imported from a spreadsheet have an account (when the file gave an email)
but never chose a password: they did not join online, so no link was ever sent.
An admin invites everyone a file added in one go; each account is invited once,
and whoever already set theirs up, was invited before, has no email or has left
is counted, with the reason, and not written to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from union.db import db
from union.errors import NotFound
from union.models import (
    Member,
    MemberStatus,
    RosterImport,
    TokenPurpose,
    User,
)
from union.services import accounts, audit

#: Accounts loaded per statement when sending (well under SQLite's parameter limit).
LOAD_BATCH = 500


@dataclass(frozen=True, slots=True)
class Invitations:
    """The members of one import, by what inviting them would do."""

    #: An email, an account never set up, never invited: these get an invitation.
    to_invite: int = 0
    #: They chose a password already (through a reset link, for instance).
    already_set_up: int = 0
    already_invited: int = 0
    #: The file gave no email, so there is nowhere to write.
    no_email: int = 0
    #: Resigned, or their account was closed (left the union, erased).
    left: int = 0

    @property
    def not_invited(self) -> int:
        return self.already_set_up + self.already_invited + self.no_email + self.left


@dataclass(frozen=True, slots=True)
class Invited:
    #: The accounts invited, each with the link token to email them.
    sent: list[tuple[User, str]]
    #: Everyone else the import added, by reason.
    skipped: Invitations


def roster_import(import_id: int) -> RosterImport:
    found = db.session.get(RosterImport, import_id)
    if found is None:
        raise NotFound
    return found


def latest_import() -> RosterImport | None:
    return db.session.scalar(
        sa.select(RosterImport).order_by(RosterImport.id.desc()).limit(1)
    )


def _invitable(import_id: int) -> sa.ColumnElement[bool]:
    """The conditions on a member and their account for an invitation."""
    return sa.and_(
        Member.roster_import_id == import_id,
        Member.status != MemberStatus.RESIGNED,
        User.disabled_at.is_(None),
        User.password_hash.is_(None),
        User.invited_at.is_(None),
    )


def invitations(imported: RosterImport) -> Invitations:
    """What inviting the import's members would do, counted in one query."""
    reason = sa.case(
        (Member.user_id.is_(None), "no_email"),
        (
            sa.or_(
                Member.status == MemberStatus.RESIGNED, User.disabled_at.is_not(None)
            ),
            "left",
        ),
        (User.password_hash.is_not(None), "already_set_up"),
        (User.invited_at.is_not(None), "already_invited"),
        else_="to_invite",
    ).label("reason")
    counts = {
        str(name): int(count)
        for name, count in db.session.execute(
            sa.select(reason, sa.func.count())
            .select_from(Member)
            .outerjoin(User, User.id == Member.user_id)
            .where(Member.roster_import_id == imported.id)
            .group_by(reason)
        )
    }
    return Invitations(**counts)


def invite_imported_members(
    imported: RosterImport, *, actor: User, now: datetime, lifetime: timedelta
) -> Invited:
    """Marks every account of the import that can be invited as invited and gives
    each a link to choose a password, for the caller to email once committed.

    The marking is one conditional UPDATE: an account is invited by whichever
    request marks it first, so confirming twice, or two admins at once, invite
    each person once."""
    before = invitations(imported)
    invitable = sa.select(Member.user_id).join(User, User.id == Member.user_id)
    marked = list(
        db.session.scalars(
            sa.update(User)
            .where(
                User.id.in_(invitable.where(_invitable(imported.id))),
                User.invited_at.is_(None),
            )
            .values(invited_at=now)
            .returning(User.id)
            .execution_options(synchronize_session=False)
        )
    )
    tokens = accounts.issue_tokens(
        marked, TokenPurpose.ACTIVATE, now=now, lifetime=lifetime
    )
    sent: list[tuple[User, str]] = []
    for start in range(0, len(marked), LOAD_BATCH):
        batch = marked[start : start + LOAD_BATCH]
        for user in db.session.scalars(
            sa.select(User).where(User.id.in_(batch)).options(joinedload(User.member))
        ):
            sent.append((user, tokens[user.id]))
    audit.record(
        "roster.invited",
        actor=actor,
        now=now,
        subject=imported,
        detail=f"invited={len(sent)}",
    )
    db.session.flush()
    skipped = Invitations(
        already_set_up=before.already_set_up,
        # Invited by someone else between the count and the marking.
        already_invited=before.already_invited + max(0, before.to_invite - len(sent)),
        no_email=before.no_email,
        left=before.left,
    )
    return Invited(sent=sent, skipped=skipped)
