"""Encryption at rest for the most sensitive fields, and keyed hashes for lookups.

Grievance narratives, notes and documents, members' phone numbers and legal names,
and email addresses are stored encrypted with Fernet (AES-128-CBC plus HMAC-SHA256,
from the well-reviewed `cryptography` package). Keys come from configuration:
ENCRYPTION_KEYS lists one or more keys, newest first; the first encrypts, all of
them decrypt, so a key can be rotated in without downtime (`union rotate-keys`
rewrites everything under the newest key, after which old keys can be dropped).

An encrypted email cannot be searched, so each account also stores a keyed hash
(HMAC-SHA256 under LOOKUP_HASH_KEY) of its normalised email: sign-in and duplicate
checks compare hashes. Without the key, a leaked table does not reveal whether a
given address is in it.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import Dialect


class NotConfigured(RuntimeError):
    """No encryption or lookup key is configured."""


class _Keys:
    def __init__(self) -> None:
        self.fernet: MultiFernet | None = None
        self.lookup_key: bytes = b""


_keys = _Keys()


def configure(encryption_keys: list[str], lookup_key: str) -> None:
    """Sets this process's keys (from ENCRYPTION_KEYS and LOOKUP_HASH_KEY)."""
    if not encryption_keys or not lookup_key:
        raise NotConfigured("ENCRYPTION_KEYS and LOOKUP_HASH_KEY must be set")
    _keys.fernet = MultiFernet(
        [Fernet(key.strip().encode()) for key in encryption_keys]
    )
    _keys.lookup_key = lookup_key.encode()


def new_key() -> str:
    return Fernet.generate_key().decode()


def _fernet() -> MultiFernet:
    if _keys.fernet is None:
        raise NotConfigured("encryption keys are not configured")
    return _keys.fernet


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str, *, ttl: int | None = None) -> str:
    """The plaintext; with `ttl`, InvalidToken too once the token is older than
    that many seconds."""
    return _fernet().decrypt(token.encode("ascii"), ttl=ttl).decode("utf-8")


def encrypt_bytes(data: bytes) -> bytes:
    return _fernet().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    return _fernet().decrypt(token)


def rotate(token: str) -> str:
    """The same plaintext, encrypted under the newest key."""
    return _fernet().rotate(token.encode("ascii")).decode("ascii")


def rotate_bytes(token: bytes) -> bytes:
    return _fernet().rotate(token)


def lookup_digest(value: str, *, key: bytes | None = None) -> str:
    """The keyed hash stored for looking a value up without storing it in clear;
    under LOOKUP_HASH_KEY, or under `key` to check a key the app is not using."""
    lookup_key = _keys.lookup_key if key is None else key
    return hmac.new(lookup_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


class EncryptedText(sa.TypeDecorator[str]):
    """A text column stored encrypted; the app reads and writes plain strings."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(value)


__all__ = [
    "EncryptedText",
    "InvalidToken",
    "NotConfigured",
    "configure",
    "decrypt",
    "decrypt_bytes",
    "encrypt",
    "encrypt_bytes",
    "lookup_digest",
    "new_key",
    "rotate",
    "rotate_bytes",
]
