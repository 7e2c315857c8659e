"""Signing in and out at the web edge: Flask-Login wiring and safe redirects."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from union.clock import utcnow
from union.db import db
from union.extensions import login_manager
from union.i18n import _, _l
from union.models import User
from union.services import accounts
from union.web.devices import remember_device


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see that page.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)


def load_user(token: str) -> User | None:
    user = accounts.user_for_login_token(
        token,
        now=utcnow(),
        idle_timeout=current_app.config["LOGIN_SESSION_IDLE_TIMEOUT"],
    )
    # Recording "last seen" is the one write a read-only page may make. It happens
    # before the view runs (see access.py), so committing it here commits nothing else.
    if db.session.dirty:
        db.session.commit()
    return user


def sign_in(user: User, *, now: datetime) -> None:
    """Starts a new server-side session and a fresh cookie for it, and makes this
    browser one the account is known to sign in from (see devices.py)."""
    token = accounts.start_login_session(
        user, now=now, max_age=current_app.config["LOGIN_SESSION_MAX_AGE"]
    )
    session.clear()
    user.login_token = token
    login_user(user)
    remember_device(user)


def sign_out(user: User, *, now: datetime) -> None:
    """Ends the session. The device cookie stays: it signs nobody in, and this
    browser is still one the account signs in from."""
    if user.login_token:
        accounts.end_login_session(user.login_token, now=now, actor=user)
    logout_user()
    session.clear()


View = TypeVar("View", bound=Callable[..., Any])


def is_fresh() -> bool:
    """Whether the signed-in user typed their password in this session recently."""
    return current_user.is_authenticated and accounts.is_fresh(
        current_user._get_current_object(),
        now=utcnow(),
        window=current_app.config["FRESH_SIGN_IN"],
    )


def fresh_required(return_to: str | None = None) -> Callable[[View], View]:
    """For changing what protects the account (email, password) or what it pays
    (dues level): a session whose password was not typed in the last few minutes
    is first sent to type it again. After a POST, the person comes back to the page
    named by the endpoint `return_to` (the form has to be sent again); after a GET,
    to the page itself."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.is_authenticated and not is_fresh():
                if request.method == "GET" or return_to is None:
                    back = request.full_path.rstrip("?")
                else:
                    back = url_for(return_to)
                flash(_("For your safety, type your password again first."), "info")
                return redirect(url_for("auth.confirm_password", next=back))
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def safe_next_url(target: str | None, default: str) -> str:
    """A redirect target from the query string, kept only if it stays on this site."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(char) < 32 for char in target)
    ):
        return default
    return target
