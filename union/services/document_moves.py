"""Moving the grievance documents from one store to another (the folder and an
S3-compatible store, either way), for `union move-documents`.

The encrypted bytes are copied as they are, under the same keys, so the database
does not change. Each document is checked before it is copied (it must decrypt to
the SHA-256 recorded when it was uploaded), read back from the new store and
compared, and only then removed from the old one. A run that stops can be run
again: a document already in the new store, whole, is skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from union.adapters import crypto
from union.adapters.documents import DocumentStorage
from union.db import db
from union.models import Grievance, GrievanceDocument
from union.services import audit


class MoveStopped(RuntimeError):
    """A document could not be moved safely; the message names it and says why.
    Documents moved before it stay moved."""


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: int
    case_number: str
    storage_key: str
    sha256: str

    def describe(self) -> str:
        return (
            f"document {self.id} of case {self.case_number} "
            f"(stored as {self.storage_key})"
        )


@dataclass(frozen=True, slots=True)
class MoveResult:
    moved: int
    already_there: int

    @property
    def total(self) -> int:
        return self.moved + self.already_there


Progress = Callable[[int, int], None]


def stored_documents() -> list[StoredDocument]:
    """Every document the database knows, oldest first, in one query."""
    rows = db.session.execute(
        sa.select(
            GrievanceDocument.id,
            Grievance.number,
            GrievanceDocument.storage_key,
            GrievanceDocument.sha256,
        )
        .join(Grievance, Grievance.id == GrievanceDocument.grievance_id)
        .order_by(GrievanceDocument.id)
    ).all()
    return [StoredDocument(*row) for row in rows]


def _is_whole(document: StoredDocument, encrypted: bytes) -> bool:
    """Whether these stored bytes decrypt to the document as it was uploaded."""
    try:
        plain = crypto.decrypt_bytes(encrypted)
    except crypto.InvalidToken:
        return False
    return hashlib.sha256(plain).hexdigest() == document.sha256


def _read(store: DocumentStorage, key: str) -> bytes | None:
    try:
        return store.read(key)
    except FileNotFoundError:
        return None


def move_document(
    document: StoredDocument,
    *,
    source: DocumentStorage,
    destination: DocumentStorage,
    source_name: str,
    destination_name: str,
) -> bool:
    """Moves one document; False if it was already in the destination, whole."""
    already = _read(destination, document.storage_key)
    if already is not None and _is_whole(document, already):
        source.delete(document.storage_key)
        return False
    encrypted = _read(source, document.storage_key)
    if encrypted is None:
        raise MoveStopped(
            f"{document.describe()} is in neither {source_name} nor {destination_name}"
        )
    if not _is_whole(document, encrypted):
        raise MoveStopped(
            f"{document.describe()} fails its checksum in {source_name}: it is "
            "damaged there, or was encrypted with a key that is no longer in "
            "ENCRYPTION_KEYS; it was not copied"
        )
    # A copy found damaged in the destination is replaced by the sound one.
    destination.replace(document.storage_key, encrypted)
    copied = _read(destination, document.storage_key)
    if copied is None or hashlib.sha256(copied).digest() != (
        hashlib.sha256(encrypted).digest()
    ):
        raise MoveStopped(
            f"{document.describe()} fails its checksum when read back from "
            f"{destination_name}; it is still in {source_name}"
        )
    source.delete(document.storage_key)
    return True


def move_documents(
    *,
    source: DocumentStorage,
    destination: DocumentStorage,
    source_name: str,
    destination_name: str,
    now: datetime,
    progress: Progress | None = None,
) -> MoveResult:
    """Moves every document the database knows from `source` to `destination`
    (both unencrypted stores: the bytes are copied as they are), stopping at the
    first that cannot be moved safely (MoveStopped names it)."""
    documents = stored_documents()
    moved = already_there = 0
    for done, document in enumerate(documents, start=1):
        if move_document(
            document,
            source=source,
            destination=destination,
            source_name=source_name,
            destination_name=destination_name,
        ):
            moved += 1
        else:
            already_there += 1
        if progress is not None:
            progress(done, len(documents))
    audit.record(
        "documents.moved",
        actor=None,
        now=now,
        detail=f"moved={moved} already={already_there}",
    )
    db.session.flush()
    return MoveResult(moved=moved, already_there=already_there)
