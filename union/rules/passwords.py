"""Password hashing (argon2id) and the password rules."""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from union.i18n import _

MIN_LENGTH = 8
MAX_LENGTH = 1024

_hasher = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
_dummy_hash = _hasher.hash("not a real password")


def configure(profile_name: str) -> None:
    """Chooses the argon2 parameters for this process (tests use CHEAPEST)."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher.from_parameters(getattr(profiles, profile_name))
    _dummy_hash = _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Checks a password. With no hash it still does the work, so that the time a
    sign-in takes does not tell whether the account exists."""
    try:
        return _hasher.verify(password_hash or _dummy_hash, password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The most common passwords, shipped with the app (see union/data/README.md)."""
    path = Path(__file__).resolve().parents[1] / "data" / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def password_problems(password: str, *, email: str | None = None) -> list[str]:
    """What is wrong with a new password, in plain words; empty when it is fine.

    Length is the rule, and no required mix of character kinds (NIST 800-63B, ASVS
    6.2); passwords everyone guesses first, and the account's own email, are refused.
    """
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(_("Use at least %(count)d characters.", count=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        problems.append(_("Use at most %(count)d characters.", count=MAX_LENGTH))
    lowered = password.strip().lower()
    if lowered in common_passwords():
        problems.append(
            _(
                "That password is one of the most common ones, which are guessed "
                "first. Choose another."
            )
        )
    elif email and lowered in {
        email.strip().lower(),
        email.split("@")[0].strip().lower(),
    }:
        problems.append(_("Don't use your email as your password."))
    return problems
