"""Who may use each endpoint.

Every view declares its rule with one of the decorators below. A before-request hook
enforces the rule, and an endpoint with no rule answers 404: access is denied by
default, and tests/views/test_access_policy.py fails for any undeclared endpoint.
Object-level scope (which members a steward sees) is enforced by the services.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask_login import current_user
from werkzeug.exceptions import Forbidden, NotFound

from union.extensions import login_manager
from union.models import Role

ATTRIBUTE = "access_rule"

View = TypeVar("View", bound=Callable[..., Any])


class Audience(enum.Enum):
    #: Anyone, signed in or not.
    PUBLIC = "public"
    #: Anyone signed in; the view's service scopes what they see.
    SIGNED_IN = "signed in"
    #: Signed in and holding at least one of the listed roles.
    ROLES = "roles"


@dataclass(frozen=True)
class AccessRule:
    audience: Audience
    roles: frozenset[Role] = frozenset()

    def allows(self, user: Any) -> bool:
        if self.audience is Audience.PUBLIC:
            return True
        if not user.is_authenticated:
            return False
        return self.audience is Audience.SIGNED_IN or user.has_role(*self.roles)

    def __str__(self) -> str:
        if self.audience is Audience.ROLES:
            return ", ".join(sorted(str(role) for role in self.roles))
        return str(self.audience.value)


def public(view: View) -> View:
    setattr(view, ATTRIBUTE, AccessRule(Audience.PUBLIC))
    return view


def signed_in(view: View) -> View:
    setattr(view, ATTRIBUTE, AccessRule(Audience.SIGNED_IN))
    return view


def roles(*allowed: Role) -> Callable[[View], View]:
    if not allowed:
        raise ValueError("name at least one role")

    def declare(view: View) -> View:
        setattr(view, ATTRIBUTE, AccessRule(Audience.ROLES, frozenset(allowed)))
        return view

    return declare


def rule_for(app: Flask, endpoint: str) -> AccessRule | None:
    rule = getattr(app.view_functions.get(endpoint), ATTRIBUTE, None)
    return rule if isinstance(rule, AccessRule) else None


def enforce_access_rule() -> Any:
    if request.endpoint is None:
        return None  # no route matched: Flask answers 404 or 405 itself
    rule = rule_for(current_app, request.endpoint)
    if rule is None:
        raise NotFound
    # Loading the user first means the loader's own small write is committed before
    # the view starts its unit of work.
    if rule.allows(current_user._get_current_object()):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    raise Forbidden


def init_app(app: Flask) -> None:
    public(app.view_functions["static"])
    app.before_request(enforce_access_rule)
