"""Bulk writing column by column (union.adapters.bulk.BulkWriter.write_columns):
what goes in is what comes out, in order, on either database, COPY's escapes
included."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from union.adapters import bulk
from union.adapters.bulk import BulkWriter
from union.db import db


def test_columns_come_back_as_written_in_order(database):
    db.session.execute(
        sa.text(
            "CREATE TEMPORARY TABLE bulk_columns_check "
            "(n INTEGER, b BOOLEAN, s VARCHAR(40), z INTEGER)"
        )
    )
    staging = sa.Table(
        "bulk_columns_check",
        sa.MetaData(),
        sa.Column("n", sa.Integer()),
        sa.Column("b", sa.Boolean()),
        sa.Column("s", sa.String(40)),
        sa.Column("z", sa.Integer()),
    )
    columns: dict[str, list[Any]] = {
        "n": [3, None, -7, 2**31 - 1, 0],
        "b": [True, False, None, True, False],
        "s": ["plain", "tab\there", "back\\slash", None, "line\nbreak\r"],
        "z": [None] * 5,
    }
    written = BulkWriter(db.session.connection()).write_columns(staging, columns)
    assert written == 5
    rows = db.session.execute(sa.text("SELECT n, b, s, z FROM bulk_columns_check"))
    assert [tuple(row) for row in rows] == list(zip(*columns.values(), strict=True))
    db.session.execute(sa.text("DROP TABLE bulk_columns_check"))


def test_copy_text_refuses_what_it_would_have_to_guess():
    assert bulk._copy_text([1, None, 1]) == ["1", "\\N", "1"]
    assert bulk._copy_text([True, None, False]) == ["t", "\\N", "f"]
    assert bulk._copy_text(["a\\b"]) == ["a\\\\b"]
    for values in ([1.5], [b"x"], [1, "1"], [True, 1]):
        with pytest.raises(TypeError):
            bulk._copy_text(values)
