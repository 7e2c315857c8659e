"""Login accounts, the roles they hold, their server-side sessions and emailed tokens."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from union.adapters.crypto import EncryptedText, lookup_digest
from union.clock import utcnow
from union.db import Model
from union.models.types import enum_type

if TYPE_CHECKING:
    from union.models.members import Member
    from union.models.workplaces import StewardAssignment


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_digest(email: str, *, key: bytes | None = None) -> str:
    """The keyed hash an account's email is found by (under `key`, if given,
    instead of LOOKUP_HASH_KEY)."""
    return lookup_digest("email:" + normalise_email(email), key=key)


class Role(enum.StrEnum):
    #: Held by every account linked to a member record; not granted by hand.
    MEMBER = "member"
    #: Stewards and delegates: members and grievances of the workplaces they cover.
    STEWARD = "steward"
    #: Workplaces, counts and anonymized reports; never member-level rows.
    ORGANIZER = "organizer"
    #: Dues levels, the ledger, remittances.
    TREASURER = "treasurer"
    #: Accounts, roles, settings, the audit log.
    ADMIN = "admin"


GRANTABLE_ROLES = (Role.STEWARD, Role.ORGANIZER, Role.TREASURER, Role.ADMIN)


class User(Model):
    __tablename__ = "users"
    # Lets `login_token` below be a plain per-instance attribute, not a column.
    __allow_unmapped__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Trimmed and lower-cased, then stored encrypted.
    email: Mapped[str] = mapped_column(EncryptedText())
    #: Keyed hash of the email: how sign-in and duplicate checks find an account.
    email_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: Shown for accounts with no member record (staff); members show their chosen name.
    name: Mapped[str | None] = mapped_column(sa.String(100))
    #: None until the owner chooses a password through an emailed link.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    email_confirmed_at: Mapped[datetime | None]
    #: When an admin's invitation to set up the account was emailed (to members
    #: added from a roster file, who did not join online), so it goes once.
    invited_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    role_grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        foreign_keys="RoleGrant.user_id",
    )
    member: Mapped[Member | None] = relationship(
        back_populates="user", foreign_keys="Member.user_id"
    )
    steward_assignments: Mapped[list[StewardAssignment]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        foreign_keys="StewardAssignment.user_id",
    )

    #: The raw token of the login session this object was loaded for (not a column).
    login_token: str | None = None

    @validates("email")
    def _hash_email(self, _key: str, email: str) -> str:
        self.email_hash = email_digest(email)
        return email

    @property
    def roles(self) -> frozenset[Role]:
        granted = {grant.role for grant in self.role_grants}
        if self.member is not None:
            granted.add(Role.MEMBER)
        return frozenset(granted)

    def has_role(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def display_name(self) -> str:
        if self.member is not None:
            return self.member.chosen_name
        return self.name or self.email

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None

    # Flask-Login's protocol. The id it stores in the cookie is the login session's
    # token, not the user id, so ending the session on the server signs the user out.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return not self.is_disabled

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.login_token

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class RoleGrant(Model):
    __tablename__ = "role_grants"
    __table_args__ = (sa.UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(enum_type(Role))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(
        back_populates="role_grants", foreign_keys=[user_id]
    )


class LoginSession(Model):
    """A signed-in browser. Deleting or revoking the row signs that browser out."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    #: SHA-256 of the token in the cookie; a leaked table cannot sign anyone in.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the password was last typed in this session (for "fresh" sign-in checks).
    authenticated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class TokenPurpose(enum.StrEnum):
    #: Sent on joining (or to an imported member): confirms the email, sets a password.
    ACTIVATE = "activate"
    RESET = "reset"
    #: Sent to a new address: confirms it before the account's email changes.
    CHANGE_EMAIL = "change_email"


class AccountToken(Model):
    """A single-use, expiring link sent by email."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[TokenPurpose] = mapped_column(enum_type(TokenPurpose))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    #: For CHANGE_EMAIL: the address being confirmed.
    new_email: Mapped[str | None] = mapped_column(EncryptedText())

    user: Mapped[User] = relationship()
