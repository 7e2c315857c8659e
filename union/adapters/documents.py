"""Uploaded documents: what kinds are accepted, and where their bytes are kept.

Storage sits behind a small protocol so that a deployment with several app
servers can keep documents in a shared store; the default is a local folder
outside the static folder, so nothing in it is ever served without a check.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from union.adapters import crypto


@dataclass(frozen=True, slots=True)
class DocumentType:
    content_type: str
    extension: str
    #: Shown in the browser (images) rather than downloaded (PDFs, which can
    #: carry scripts a browser's viewer might run).
    inline: bool


PDF = DocumentType("application/pdf", ".pdf", inline=False)
PNG = DocumentType("image/png", ".png", inline=True)
JPEG = DocumentType("image/jpeg", ".jpg", inline=True)

#: First bytes of each accepted kind of file. Names and browser-sent types are
#: never trusted: a renamed program is still refused.
SIGNATURES: tuple[tuple[bytes, DocumentType], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
)
TYPES_BY_CONTENT_TYPE = {kind.content_type: kind for _, kind in SIGNATURES}


def document_type(data: bytes) -> DocumentType | None:
    """The kind of document these bytes are, or None if it is not one we accept."""
    for signature, kind in SIGNATURES:
        if data.startswith(signature):
            return kind
    return None


#: What an uploaded file's name keeps when it is downloaded: letters and digits of
#: any language, spaces, dots, dashes, underscores and brackets. Anything else
#: (quotes, angle brackets, slashes, control characters) becomes "_", so a name
#: someone typed can never break out of the header or pass for a path.
_UNSAFE_IN_NAME = re.compile(r"[^\w .()-]")
MAX_NAME_LENGTH = 100


def download_name(filename: str, kind: DocumentType) -> str:
    """The uploaded name, reduced to safe characters, with the extension its
    content really has."""
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    stem = _UNSAFE_IN_NAME.sub("_", stem).strip(" .")[:MAX_NAME_LENGTH]
    return f"{stem or 'document'}{kind.extension}"


class DocumentStorage(Protocol):
    def save(self, data: bytes) -> str:
        """Stores the bytes under a new random key and returns the key."""

    def read(self, key: str) -> bytes:
        """The bytes stored under `key`; FileNotFoundError if there are none."""

    def replace(self, key: str, data: bytes) -> None:
        """Overwrites what is stored under `key` (key rotation), atomically."""

    def delete(self, key: str) -> None:
        """Removes what is stored under `key`; nothing stored there is fine."""


KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


@dataclass(frozen=True)
class LocalFolderStorage:
    """Keeps each document as a file named by its random key, in a folder of
    its own (DOCUMENT_STORAGE_PATH), readable only by the app's user."""

    root: Path

    def _path(self, key: str) -> Path:
        # Keys come from the database, but are checked anyway so that no key can
        # ever name a path outside the folder.
        if not KEY_PATTERN.match(key):
            raise FileNotFoundError(key)
        return self.root / key[:2] / key

    def save(self, data: bytes) -> str:
        key = secrets.token_urlsafe(32)
        self._write(self._path(key), data, exclusive=True)
        return key

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def replace(self, key: str, data: bytes) -> None:
        self._write(self._path(key), data, exclusive=False)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    @staticmethod
    def _write(path: Path, data: bytes, *, exclusive: bool) -> None:
        """Writes to a side file, then renames it over the target: a crash leaves
        either the old bytes or the new ones, never half of each."""
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        with open(partial, "xb" if exclusive else "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        partial.chmod(0o600)
        partial.replace(path)


def storage_from_config(
    config: Mapping[str, Any], kind: str | None = None
) -> DocumentStorage:
    """The store DOCUMENT_STORAGE names (or `kind`: "folder" or "s3"), as it is:
    wrap it in EncryptedStorage before putting documents in it."""
    if (kind or config["DOCUMENT_STORAGE"]) == "s3":
        # boto3 is loaded only by the deployments that use it.
        from union.adapters.s3 import S3Settings, S3Storage

        return S3Storage(S3Settings.from_config(config))
    return LocalFolderStorage(Path(config["DOCUMENT_STORAGE_PATH"]))


class EncryptedStorage:
    """Any storage, with the bytes encrypted before they leave the app (so a copied
    folder or bucket holds nothing readable without the keys)."""

    def __init__(self, inner: DocumentStorage) -> None:
        self.inner = inner

    def save(self, data: bytes) -> str:
        return self.inner.save(crypto.encrypt_bytes(data))

    def read(self, key: str) -> bytes:
        return crypto.decrypt_bytes(self.inner.read(key))

    def replace(self, key: str, data: bytes) -> None:
        self.inner.replace(key, crypto.encrypt_bytes(data))

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def rotate(self, key: str) -> None:
        """Re-encrypts one stored document under the newest key."""
        self.inner.replace(key, crypto.rotate_bytes(self.inner.read(key)))
