"""Run-time settings with typed defaults, changed by admins (and the treasurer for dues)."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from union.db import db
from union.errors import ValidationFailed
from union.i18n import _
from union.models import Setting, User
from union.services import audit


@dataclass(frozen=True, slots=True)
class UnionSettings:
    #: Applicants become active members as soon as they confirm their email.
    auto_accept_applicants: bool = False
    #: A member is in good standing while their arrears are at most this many months
    #: (AFSCME uses 2, NewsGuild 1, IUPAT 3).
    good_standing_max_arrears: int = 2
    #: The parent union's share of dues collected by hand, in percent; the branch
    #: keeps the rest.
    parent_union_share_percent: int = 50


DEFAULTS = UnionSettings()

#: Allowed ranges of the whole-number settings.
RANGES = {
    "good_standing_max_arrears": (0, 12),
    "parent_union_share_percent": (0, 100),
}


def current_settings() -> UnionSettings:
    rows = db.session.scalars(sa.select(Setting)).all()
    stored: dict[str, Any] = {row.key: json.loads(row.value) for row in rows}
    known = {
        field.name: stored[field.name]
        for field in fields(UnionSettings)
        if field.name in stored
    }
    return UnionSettings(**known)


def update_settings(
    changes: dict[str, Any], *, actor: User, now: datetime
) -> UnionSettings:
    """Saves changed settings, refusing unknown names, wrong kinds and out-of-range numbers."""
    current = current_settings()
    names = {field.name for field in fields(UnionSettings)}
    errors: dict[str, str] = {}
    for name, value in changes.items():
        if name not in names:
            errors[""] = _("Unknown setting.")
        elif type(value) is not type(getattr(DEFAULTS, name)):
            errors[name] = _("This setting has the wrong kind of value.")
        elif name in RANGES and not RANGES[name][0] <= value <= RANGES[name][1]:
            low, high = RANGES[name]
            errors[name] = _(
                "Choose a number from %(low)d to %(high)d.", low=low, high=high
            )
    if errors:
        raise ValidationFailed(errors)
    for name, value in changes.items():
        if getattr(current, name) == value:
            continue
        row = db.session.get(Setting, name)
        if row is None:
            row = Setting(key=name, value="null")
            db.session.add(row)
        row.value = json.dumps(value)
        row.updated_at = now
        row.updated_by_id = actor.id
        audit.record("setting.changed", actor=actor, now=now, detail=f"setting={name}")
    db.session.flush()
    return current_settings()
