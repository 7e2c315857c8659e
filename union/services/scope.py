"""Who may see which members, and where a steward may act: the rules every member
lookup and every change at a workplace go through."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import defer

from union.models import Employment, Member, Role, StewardAssignment, User

#: Lists of members show no legal name or phone: leaving those columns out of the
#: query spares decrypting two values a row.
NOT_DECRYPTED = (defer(Member.legal_name), defer(Member.phone))


def visible_members(actor: User) -> sa.Select[Member]:
    """Members the actor may see: everyone for admins, the members currently working
    at the workplaces a steward covers, nobody for anyone else."""
    statement = sa.select(Member)
    if actor.has_role(Role.ADMIN):
        return statement
    if actor.has_role(Role.STEWARD):
        covered = sa.select(StewardAssignment.workplace_id).where(
            StewardAssignment.user_id == actor.id
        )
        working_there = sa.select(Employment.member_id).where(
            Employment.workplace_id.in_(covered), Employment.ended_on.is_(None)
        )
        return statement.where(Member.id.in_(working_there))
    return statement.where(sa.false())


def acts_at(actor: User, workplace_id: int) -> bool:
    """Whether the actor may change things at this workplace (a member's job there,
    its cases): admins anywhere, a steward only at the workplaces they cover.

    Seeing a member is not enough: a member working at two workplaces is on both
    stewards' rosters, and each steward acts only at their own."""
    if actor.has_role(Role.ADMIN):
        return True
    return actor.has_role(Role.STEWARD) and any(
        assignment.workplace_id == workplace_id
        for assignment in actor.steward_assignments
    )
