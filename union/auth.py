"""Signing in and out at the web edge: Flask-Login wiring and safe redirects."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app, session
from flask_login import login_user, logout_user

from union.clock import utcnow
from union.db import db
from union.extensions import login_manager
from union.i18n import _l
from union.models import User
from union.services import accounts


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
    """Starts a new server-side session and a fresh cookie for it."""
    token = accounts.start_login_session(
        user, now=now, max_age=current_app.config["LOGIN_SESSION_MAX_AGE"]
    )
    session.clear()
    user.login_token = token
    login_user(user)


def sign_out(user: User, *, now: datetime) -> None:
    if user.login_token:
        accounts.end_login_session(user.login_token, now=now)
    logout_user()
    session.clear()


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
