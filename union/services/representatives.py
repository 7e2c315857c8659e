"""Who a member can turn to: the stewards covering the workplaces where they work,
and their delegate.

Names only. The app hands a member no steward's email or phone: they reach
stewards at work, or by raising a problem online, which only the stewards of
that workplace and admins read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from union.db import db
from union.models import (
    HAND_METHODS,
    DuesPayment,
    Member,
    Role,
    RoleGrant,
    StewardAssignment,
    User,
)

#: Who may take dues by hand (union.views.dues.DELEGATES).
DELEGATE_ROLES = (Role.STEWARD, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class WorkplaceStewards:
    workplace_id: int
    workplace_name: str
    #: Names of the active stewards covering it, alphabetical; empty when nobody
    #: covers it yet.
    steward_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Representatives:
    #: One entry for each workplace where the member works now.
    workplaces: tuple[WorkplaceStewards, ...]
    #: Who last took the member's dues by hand, while they still take dues.
    delegate_name: str | None


def _name(user: User) -> str | None:
    """A person's chosen name, or their account's name; never the email address
    that display_name falls back to."""
    return user.member.chosen_name if user.member is not None else user.name


def steward_names(workplace_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """The names of the active stewards covering each workplace, in one query."""
    wanted = set(workplace_ids)
    names: dict[int, list[str]] = {workplace_id: [] for workplace_id in wanted}
    if not wanted:
        return {}
    rows = db.session.execute(
        sa.select(StewardAssignment.workplace_id, User)
        .join(User, User.id == StewardAssignment.user_id)
        .where(
            StewardAssignment.workplace_id.in_(wanted),
            User.disabled_at.is_(None),
            User.id.in_(
                sa.select(RoleGrant.user_id).where(RoleGrant.role == Role.STEWARD)
            ),
        )
        .options(joinedload(User.member))
    ).all()
    for workplace_id, user in rows:
        name = _name(user)
        if name:
            names[workplace_id].append(name)
    # Names are sorted here: a member's chosen name is plain, an account's is not
    # always set, so SQL could not order both together.
    return {
        workplace_id: tuple(sorted(found, key=str.lower))
        for workplace_id, found in names.items()
    }


def _delegate_name(member: Member) -> str | None:
    recorder = db.session.scalar(
        sa.select(User)
        .where(
            User.id
            == sa.select(DuesPayment.recorded_by_id)
            .where(
                DuesPayment.member_id == member.id,
                DuesPayment.method.in_(HAND_METHODS),
                DuesPayment.recorded_by_id.is_not(None),
            )
            .order_by(DuesPayment.paid_on.desc(), DuesPayment.id.desc())
            .limit(1)
            .scalar_subquery(),
            User.disabled_at.is_(None),
        )
        .options(joinedload(User.member), selectinload(User.role_grants))
    )
    if recorder is None or not recorder.has_role(*DELEGATE_ROLES):
        return None
    return _name(recorder)


def representatives_of(member: Member) -> Representatives:
    """The member's stewards at each workplace where they work now, and their
    delegate: three queries at most, however many workplaces and payments."""
    places = {job.workplace.id: job.workplace for job in member.current_employments}
    names = steward_names(places)
    return Representatives(
        workplaces=tuple(
            WorkplaceStewards(workplace.id, workplace.name, names[workplace.id])
            for workplace in sorted(places.values(), key=lambda w: w.name.lower())
        ),
        delegate_name=_delegate_name(member),
    )
