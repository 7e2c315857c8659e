"""Device cookies: a browser's signed proof that it signed in to an account before.

OWASP's "Slow Down Online Guessing Attacks with Device Cookies": failed sign-ins
from a browser holding one for the account count against that browser alone, so
an attacker's failures, from however many addresses, cannot keep the owner out of
the browsers they use. Everywhere else shares the account's "untrusted" allowance.

The cookie only decides which counter a try goes to; it never signs anyone in, and
a correct password is still needed. That makes it safe to leave behind on a
shared computer (a drop-in centre's), and signing out keeps it. It carries a
random nonce naming this browser, and names the account only through a keyed hash
of the account's id and that nonce: never the email (which changes, and which a
shared computer must not show), and never a value common to all of an account's
cookies, so cookies found on two computers do not show that one person used both.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from flask import Response, after_this_request, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

from union.adapters.crypto import lookup_digest
from union.models import User

_SALT = "union.device-cookie"


def _account_key(user: User, nonce: str) -> str:
    return lookup_digest(f"device:{user.id}:{nonce}")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def trusted_device(user: User | None) -> str | None:
    """The nonce of this browser's device cookie when it is valid for `user`:
    signed here, not expired, and naming that account. None otherwise, and always
    for an unknown account."""
    cookie = request.cookies.get(current_app.config["DEVICE_COOKIE_NAME"])
    if not cookie:
        return None
    max_age = current_app.config["DEVICE_COOKIE_MAX_AGE"]
    try:
        payload: Any = _serializer().loads(cookie, max_age=int(max_age.total_seconds()))
    except BadData:
        return None
    if not isinstance(payload, Mapping) or user is None:
        return None
    nonce = payload.get("n")
    if not isinstance(nonce, str) or payload.get("a") != _account_key(user, nonce):
        return None
    return nonce


def remember_device(user: User) -> None:
    """Gives this browser a new device cookie for `user` with the response (after a
    password was typed or an emailed link was used). A browser holds one: signing
    in to another account on it moves the cookie there."""
    nonce = secrets.token_urlsafe(16)
    value = _serializer().dumps({"a": _account_key(user, nonce), "n": nonce})

    @after_this_request
    def set_cookie(response: Response) -> Response:
        config = current_app.config
        response.set_cookie(
            config["DEVICE_COOKIE_NAME"],
            value,
            max_age=config["DEVICE_COOKIE_MAX_AGE"],
            path="/",
            secure=config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Strict",
        )
        return response
