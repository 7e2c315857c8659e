"""Accounts: signing in, server-side sessions, emailed tokens, roles."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from union.db import db
from union.errors import DomainError, NotFound, ValidationFailed
from union.i18n import _
from union.models import (
    GRANTABLE_ROLES,
    AccountToken,
    LoginSession,
    Member,
    Role,
    RoleGrant,
    StewardAssignment,
    TokenPurpose,
    User,
    email_digest,
    normalise_email,
)
from union.rules.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from union.services import audit
from union.services.paging import LIKE_ESCAPE, Page, contains_pattern, paginate

#: "Last seen" is written at most this often, so pages do not all write.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


class TokenInvalid(DomainError):
    """The link is unknown, already used or expired; the page says so kindly."""


#: Accounts given a token per statement (well under SQLite's parameter limit).
TOKEN_BATCH = 500


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_by_email(email: str) -> User | None:
    """The account with this email, found through its keyed hash."""
    return db.session.scalar(
        sa.select(User).where(User.email_hash == email_digest(email))
    )


def user_by_id(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound
    return user


def authenticate(email: str, password: str, *, now: datetime) -> User | None:
    """The account these credentials open, or None, taking the same time either way."""
    user = user_by_email(email)
    if not verify_password(user.password_hash if user else None, password):
        return None
    if user is None or user.is_disabled or user.password_hash is None:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record("account.signed_in", actor=user, now=now)
    db.session.flush()
    return user


def start_login_session(user: User, *, now: datetime, max_age: timedelta) -> str:
    """Opens a server-side session and returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(
            user=user,
            token_hash=digest(token),
            created_at=now,
            authenticated_at=now,
            last_seen_at=now,
            expires_at=now + max_age,
        )
    )
    db.session.flush()
    return token


def user_for_login_token(
    token: str, *, now: datetime, idle_timeout: timedelta
) -> User | None:
    """The signed-in user for a cookie's token, if that session is still open.

    Two lookups by key, every request of every page: the session by its token's
    hash, then its user (with their roles and membership) by id. One query
    joining the three let PostgreSQL choose a merge join that read the users and
    members tables from the start up to this user: 4 ms for the 4,000th user of
    a 100,000-member union, and more for every later one."""
    login = db.session.scalar(
        sa.select(LoginSession).where(
            LoginSession.token_hash == digest(token),
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now,
        )
    )
    if login is None:
        return None
    user = db.session.get(
        User,
        login.user_id,
        options=(joinedload(User.role_grants), joinedload(User.member)),
    )
    if user is None or user.is_disabled:
        return None
    if login.last_seen_at + idle_timeout <= now:
        return None
    if now - login.last_seen_at > LAST_SEEN_RESOLUTION:
        login.last_seen_at = now
        db.session.flush()
    user.login_token = token
    return user


def record_failed_sign_in(email: str, *, now: datetime, throttled: bool) -> None:
    """Audits a refused sign-in: against which account, if the email has one (the
    person trying is not told either way)."""
    user = user_by_email(email)
    audit.record(
        "account.sign_in_throttled" if throttled else "account.sign_in_failed",
        actor=None,
        now=now,
        subject=user,
    )
    db.session.flush()


def end_login_session(token: str, *, now: datetime, actor: User | None = None) -> None:
    """Signs one browser out (its cookie's session ends on the server)."""
    db.session.execute(
        sa.update(LoginSession)
        .where(
            LoginSession.token_hash == digest(token), LoginSession.revoked_at.is_(None)
        )
        .values(revoked_at=now)
    )
    if actor is not None:
        audit.record("account.signed_out", actor=actor, now=now)


def end_all_login_sessions(user: User, *, now: datetime) -> None:
    """Signs the user out of every browser (password reset, account disabled)."""
    db.session.execute(
        sa.update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def open_login_sessions(user: User, *, now: datetime) -> list[LoginSession]:
    """The browsers signed in to this account, most recently used first."""
    return list(
        db.session.scalars(
            sa.select(LoginSession)
            .where(
                LoginSession.user_id == user.id,
                LoginSession.revoked_at.is_(None),
                LoginSession.expires_at > now,
            )
            .order_by(LoginSession.last_seen_at.desc())
        )
    )


def end_other_login_sessions(user: User, *, now: datetime) -> int:
    """Signs the account out everywhere except in the browser asking."""
    statement = sa.update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
    )
    if user.login_token:
        statement = statement.where(LoginSession.token_hash != digest(user.login_token))
    result = db.session.execute(statement.values(revoked_at=now))
    audit.record("account.other_sessions_ended", actor=user, now=now, subject=user)
    db.session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def is_current_session(user: User, login: LoginSession) -> bool:
    return user.login_token is not None and login.token_hash == digest(user.login_token)


def issue_token(
    user: User,
    purpose: TokenPurpose,
    *,
    now: datetime,
    lifetime: timedelta,
    new_email: str | None = None,
) -> str:
    """Creates a single-use link token; earlier unused ones of the same kind stop working."""
    db.session.execute(
        sa.update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            user=user,
            purpose=purpose,
            token_hash=digest(token),
            created_at=now,
            expires_at=now + lifetime,
            new_email=new_email,
        )
    )
    db.session.flush()
    return token


def issue_tokens(
    user_ids: Sequence[int],
    purpose: TokenPurpose,
    *,
    now: datetime,
    lifetime: timedelta,
) -> dict[int, str]:
    """issue_token for many accounts at once, in a few statements however many:
    a new link token for each, by account id, and their earlier unused links of
    that kind stop working."""
    tokens = {user_id: secrets.token_urlsafe(32) for user_id in user_ids}
    for start in range(0, len(user_ids), TOKEN_BATCH):
        batch = user_ids[start : start + TOKEN_BATCH]
        db.session.execute(
            sa.update(AccountToken)
            .where(
                AccountToken.user_id.in_(batch),
                AccountToken.purpose == purpose,
                AccountToken.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            sa.insert(AccountToken),
            [
                {
                    "user_id": user_id,
                    "purpose": purpose,
                    "token_hash": digest(tokens[user_id]),
                    "created_at": now,
                    "expires_at": now + lifetime,
                }
                for user_id in batch
            ],
        )
    return tokens


def end_open_links(user: User, *, now: datetime) -> None:
    """Ends every unused emailed link of the account: reset, activation and email
    change. Called when the password or the email changes: a link asked for before
    then was sent under what the change replaced (to the old address, or perhaps by
    whoever knew the old password), and must not outlive it."""
    db.session.execute(
        sa.update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None))
        .values(used_at=now)
    )


def request_password_reset(
    email: str, *, now: datetime, lifetime: timedelta
) -> tuple[User, str] | None:
    """A reset link token for the account with this email, or None when there is no
    such account (the caller must answer the same either way)."""
    user = user_by_email(email)
    if user is None or user.is_disabled:
        return None
    return user, issue_token(user, TokenPurpose.RESET, now=now, lifetime=lifetime)


def valid_token(token: str, purpose: TokenPurpose, *, now: datetime) -> AccountToken:
    row = db.session.scalar(
        sa.select(AccountToken)
        .where(
            AccountToken.token_hash == digest(token), AccountToken.purpose == purpose
        )
        .options(joinedload(AccountToken.user))
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise TokenInvalid
    if row.user.is_disabled:
        raise TokenInvalid
    return row


def set_password_with_token(
    token: str, purpose: TokenPurpose, password: str, *, now: datetime
) -> User:
    """Uses an emailed link to choose a password. The link then stops working, the
    email counts as confirmed, and every other browser is signed out."""
    row = valid_token(token, purpose, now=now)
    problems = password_problems(password, email=row.user.email)
    if problems:
        raise ValidationFailed({"password": problems})
    user = row.user
    user.password_hash = hash_password(password)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
    row.used_at = now
    end_open_links(user, now=now)
    end_all_login_sessions(user, now=now)
    audit.record(
        f"account.password_set.{purpose.value}", actor=user, now=now, subject=user
    )
    db.session.flush()
    return user


def is_fresh(user: User, *, now: datetime, window: timedelta) -> bool:
    """Whether the user typed their password in this session within `window`."""
    if not user.login_token:
        return False
    authenticated_at = db.session.scalar(
        sa.select(LoginSession.authenticated_at).where(
            LoginSession.token_hash == digest(user.login_token)
        )
    )
    return authenticated_at is not None and now - authenticated_at < window


def confirm_password(user: User, password: str, *, now: datetime) -> bool:
    """Re-checks the password of a signed-in user, making the session fresh."""
    if not user.login_token or not verify_password(user.password_hash, password):
        return False
    db.session.execute(
        sa.update(LoginSession)
        .where(LoginSession.token_hash == digest(user.login_token))
        .values(authenticated_at=now)
    )
    audit.record("account.password_confirmed", actor=user, now=now)
    db.session.flush()
    return True


def request_email_change(
    user: User, new_email: str, *, now: datetime, lifetime: timedelta
) -> str | None:
    """A link token to confirm a new address, or None when the address already
    belongs to an account (the caller answers the same either way)."""
    new_email = normalise_email(new_email)
    if new_email == normalise_email(user.email):
        raise ValidationFailed({"new_email": _("That is already your email.")})
    if user_by_email(new_email) is not None:
        return None
    return issue_token(
        user,
        TokenPurpose.CHANGE_EMAIL,
        now=now,
        lifetime=lifetime,
        new_email=new_email,
    )


def confirm_email_change(token: str, *, now: datetime) -> tuple[User, str]:
    """Moves the account to the confirmed address; returns it and the old address."""
    row = valid_token(token, TokenPurpose.CHANGE_EMAIL, now=now)
    if row.new_email is None or user_by_email(row.new_email) is not None:
        raise TokenInvalid
    user, old = row.user, row.user.email
    user.email = row.new_email
    row.used_at = now
    end_open_links(user, now=now)
    audit.record("account.email_changed", actor=user, now=now, subject=user)
    db.session.flush()
    return user, old


def change_password(
    user: User, current_password: str, new_password: str, *, now: datetime
) -> None:
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed(
            {"current_password": _("That is not your current password.")}
        )
    problems = password_problems(new_password, email=user.email)
    if problems:
        raise ValidationFailed({"new_password": problems})
    user.password_hash = hash_password(new_password)
    end_open_links(user, now=now)
    end_all_login_sessions(user, now=now)
    audit.record("account.password_changed", actor=user, now=now, subject=user)
    db.session.flush()


def create_account(
    email: str,
    *,
    name: str | None,
    password: str | None,
    roles: tuple[Role, ...] = (),
    actor: User | None,
    now: datetime,
) -> User:
    """An account for someone who is not joining as a member (staff, the first admin)."""
    if user_by_email(email) is not None:
        raise ValidationFailed(
            {"email": _("An account with this email already exists.")}
        )
    if password is not None:
        problems = password_problems(password, email=email)
        if problems:
            raise ValidationFailed({"password": problems})
    user = User(
        email=normalise_email(email),
        name=name,
        password_hash=hash_password(password) if password else None,
        email_confirmed_at=now if password else None,
        created_at=now,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("account.created", actor=actor, now=now, subject=user)
    for role in roles:
        grant_role(user, role, actor=actor, now=now)
    return user


def grant_role(user: User, role: Role, *, actor: User | None, now: datetime) -> None:
    if role not in GRANTABLE_ROLES:
        raise ValidationFailed({"role": _("That role cannot be granted by hand.")})
    if role in {grant.role for grant in user.role_grants}:
        return
    user.role_grants.append(
        RoleGrant(role=role, granted_at=now, granted_by_id=actor.id if actor else None)
    )
    audit.record(
        "role.granted", actor=actor, now=now, subject=user, detail=f"role={role}"
    )
    db.session.flush()


def revoke_role(user: User, role: Role, *, actor: User, now: datetime) -> None:
    """Takes a role away; it stops working on the user's very next request."""
    grant = next((g for g in user.role_grants if g.role == role), None)
    if grant is None:
        return
    if role is Role.ADMIN and admin_count() <= 1:
        raise ValidationFailed({"role": _("The union needs at least one admin.")})
    user.role_grants.remove(grant)
    if role is Role.STEWARD:
        db.session.execute(
            sa.delete(StewardAssignment).where(StewardAssignment.user_id == user.id)
        )
        db.session.expire(user, ["steward_assignments"])
    # Whatever the person had open with the old role ends now; they sign in again.
    end_all_login_sessions(user, now=now)
    audit.record(
        "role.revoked", actor=actor, now=now, subject=user, detail=f"role={role}"
    )
    db.session.flush()


def admin_count() -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RoleGrant)
            .join(User, User.id == RoleGrant.user_id)
            .where(RoleGrant.role == Role.ADMIN, User.disabled_at.is_(None))
        )
        or 0
    )


def set_disabled(user: User, disabled: bool, *, actor: User, now: datetime) -> None:
    """Disabling signs the account out everywhere and stops it signing in."""
    if disabled == user.is_disabled:
        return
    if disabled:
        if user.id == actor.id:
            raise ValidationFailed({"": _("You cannot disable your own account.")})
        if user.has_role(Role.ADMIN) and admin_count() <= 1:
            raise ValidationFailed({"": _("The union needs at least one admin.")})
        user.disabled_at = now
        end_all_login_sessions(user, now=now)
    else:
        user.disabled_at = None
    action = "account.disabled" if disabled else "account.enabled"
    audit.record(action, actor=actor, now=now, subject=user)
    db.session.flush()


def accounts_page(query: str, *, page: int, per_page: int) -> Page[User]:
    """Accounts for the admin list, newest first. Emails are encrypted, so a search
    finds a whole email address exactly, or part of a staff or chosen name."""
    statement = sa.select(User).options(
        selectinload(User.role_grants), joinedload(User.member)
    )
    if query.strip():
        pattern = contains_pattern(query)
        statement = statement.outerjoin(Member, Member.user_id == User.id).where(
            sa.or_(
                User.email_hash == email_digest(query),
                sa.func.lower(User.name).like(pattern, escape=LIKE_ESCAPE),
                sa.func.lower(Member.chosen_name).like(pattern, escape=LIKE_ESCAPE),
            )
        )
    return paginate(statement.order_by(User.id.desc()), page=page, per_page=per_page)


def set_language(user: User, language: str, *, languages: tuple[str, ...]) -> None:
    """Remembers the language a person reads the app and their emails in."""
    if language not in languages:
        raise ValidationFailed({"language": _("Choose one of the languages offered.")})
    user.locale = language
    db.session.flush()
