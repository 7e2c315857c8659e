"""Who may see which members: the one rule every member lookup goes through."""

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
