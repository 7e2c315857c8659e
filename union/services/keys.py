"""Key rotation: everything encrypted is rewritten under the newest key."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from union.adapters import crypto
from union.adapters.crypto import EncryptedText
from union.adapters.documents import EncryptedStorage
from union.db import Base, db
from union.models import GrievanceDocument
from union.services import audit

BATCH = 500


def encrypted_columns() -> list[tuple[sa.Table, sa.Column[str]]]:
    """Every (table, column) stored encrypted, found from the models themselves so
    that a new encrypted column cannot be forgotten here."""
    return [
        (table, column)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]


def rotate_keys(*, storage: EncryptedStorage, now: datetime) -> dict[str, int]:
    """Re-encrypts every encrypted value and document under the first key in
    ENCRYPTION_KEYS. Afterwards the older keys can be removed from configuration."""
    counts: dict[str, int] = {}
    for table, column in encrypted_columns():
        # Read and write the stored text as it is, bypassing the decrypting type.
        stored = sa.type_coerce(column, sa.Text())
        key_column = next(iter(table.primary_key.columns))
        rows = db.session.execute(
            sa.select(key_column, stored).where(column.is_not(None))
        ).all()
        for row_key, token in rows:
            db.session.execute(
                sa.update(table)
                .where(key_column == row_key)
                .values({column.name: sa.type_coerce(crypto.rotate(token), sa.Text())})
            )
        counts[f"{table.name}.{column.name}"] = len(rows)
    keys = db.session.scalars(sa.select(GrievanceDocument.storage_key)).all()
    for storage_key in keys:
        storage.rotate(storage_key)
    counts["documents"] = len(keys)
    audit.record(
        "keys.rotated", actor=None, now=now, detail=f"values={sum(counts.values())}"
    )
    db.session.flush()
    return counts
