"""Bulk loading: COPY on PostgreSQL (psycopg 3), one executemany per batch on SQLite.

Rows go in as the app's own Python values (enums, aware datetimes, plain text for
encrypted columns); each column's SQLAlchemy bind processor turns them into what the
database stores, so encrypted columns are encrypted and datetimes normalised exactly
as the models would do it. Ids are handed out here rather than by the database, so
that child rows can name their parents without a round trip.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from psycopg.copy import QueuedLibpqWriter

#: Rows per executemany call on SQLite.
SQLITE_BATCH = 5000
#: Rows per piece of COPY text that write_columns makes at a time.
COPY_BATCH = 20000
#: COPY's text format for None and the booleans.
_NULL = "\\N"
_BOOLEANS = {True: "t", False: "f"}
#: What COPY's text format escapes in a string, and how.
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def _one_copy_text(value: Any) -> str:
    if value is None:
        return _NULL
    if type(value) is bool:
        return _BOOLEANS[value]
    if type(value) is int:
        return str(value)
    if type(value) is str:
        text: str = value
        for special, escaped in _ESCAPES:
            text = text.replace(special, escaped)
        return text
    raise TypeError(f"no COPY text for a {type(value).__name__}")


def _copy_text(values: Sequence[Any]) -> list[str]:
    """One column's values in COPY's text format. Only None, ints, booleans and
    strings: anything else is refused rather than guessed at. Each distinct value
    is written out once (a column of answers holds few), then looked up."""
    kinds = set(map(type, values))
    if len(kinds - {type(None)}) > 1:
        raise TypeError(f"a column of {sorted(kind.__name__ for kind in kinds)}")
    if kinds == {str} and not any(
        special in "".join(values) for special, _escaped in _ESCAPES
    ):
        return list(values)
    texts = {value: _one_copy_text(value) for value in set(values)}
    return list(map(texts.__getitem__, values))


def table(model: type[Any]) -> sa.Table:
    """A model's table, typed as one."""
    found = model.__table__
    if not isinstance(found, sa.Table):
        raise TypeError(f"{model!r} is not mapped to a table")
    return found


class BulkWriter:
    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.postgresql = self.dialect.name == "postgresql"
        self._next_id: dict[str, int] = {}
        self._tables: dict[str, sa.Table] = {}
        #: Rows written so far, by table name.
        self.written: Counter[str] = Counter()

    def ids(self, table: sa.Table, count: int) -> range:
        """`count` new primary keys for `table`, after any already there."""
        if table.name not in self._next_id:
            highest = self.connection.scalar(sa.select(sa.func.max(table.c.id)))
            self._next_id[table.name] = (highest or 0) + 1
            self._tables[table.name] = table
        first = self._next_id[table.name]
        self._next_id[table.name] = first + count
        return range(first, first + count)

    def write_numbered(
        self, table: sa.Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> int:
        """Writes rows with new primary keys: `columns` starts with "id", and each
        row holds the values of the other columns."""
        ids = self.ids(table, len(rows))
        return self.write(
            table,
            columns,
            [(row_id, *row) for row_id, row in zip(ids, rows, strict=True)],
        )

    def write(
        self,
        table: sa.Table,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        stored_values: bool = False,
    ) -> int:
        """Writes rows (values in `columns` order) in the connection's transaction.

        With `stored_values` the rows already hold what the database stores (plain
        ints, booleans, strings and None: no enum members, no encrypted or
        datetime columns) and go in as they are, skipping the per-value
        conversion."""
        processors: list[Callable[[Any], Any] | None] = [
            table.c[name].type.bind_processor(self.dialect) for name in columns
        ]

        def converted(row: Sequence[Any]) -> Sequence[Any]:
            return [
                value if process is None or value is None else process(value)
                for process, value in zip(processors, row, strict=True)
            ]

        def as_is(row: Sequence[Any]) -> Sequence[Any]:
            return row

        stored = as_is if stored_values else converted

        quote = self.dialect.identifier_preparer.quote
        names = ", ".join(quote(name) for name in columns)
        raw = self.connection.connection.driver_connection
        if raw is None:
            raise RuntimeError("the connection is closed")
        count = 0
        if self.postgresql:
            sql = f"COPY {quote(table.name)} ({names}) FROM STDIN"
            with raw.cursor() as cursor, cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(stored(row))
                    count += 1
        else:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608 -- names come from the models
            cursor = raw.cursor()
            batch: list[Sequence[Any]] = []
            for row in rows:
                batch.append(stored(row))
                if len(batch) == SQLITE_BATCH:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch.clear()
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
            cursor.close()
        self.written[table.name] += count
        return count

    def write_columns(
        self, table: sa.Table, columns: Mapping[str, Sequence[Any]]
    ) -> int:
        """Writes rows given as columns of stored values (as `write` with
        `stored_values`: ints, booleans, strings, None), in their order. On
        PostgreSQL the COPY text is made a column at a time, mostly in C, rather
        than row by row: some five times faster for a few hundred thousand rows."""
        names = list(columns)
        if not self.postgresql:
            rows = zip(*(columns[name] for name in names), strict=True)
            return self.write(table, names, rows, stored_values=True)
        texts = [_copy_text(columns[name]) for name in names]
        if len(set(map(len, texts))) > 1:
            raise ValueError("columns of different lengths")
        count = len(texts[0]) if texts else 0
        if not count:
            return 0
        # In batches, so that the whole text is never in memory at once.
        batches = (
            zip(*(text[start : start + COPY_BATCH] for text in texts), strict=True)
            for start in range(0, count, COPY_BATCH)
        )
        pieces = ("\n".join(map("\t".join, rows)) + "\n" for rows in batches)
        self.copy_lines(table, names, pieces, null=_NULL)
        self.written[table.name] += count
        return count

    def copy_lines(
        self,
        table: sa.Table,
        columns: Sequence[str],
        pieces: Iterable[bytes | str],
        *,
        null: str,
    ) -> None:
        """PostgreSQL only: COPY text made by the caller, who vouches for it (lines
        of `columns`, tab-separated, `null` for None), piece by piece. Each piece
        is sent by a thread of the driver's while the next one is made."""
        if not self.postgresql:
            raise RuntimeError("COPY lines are for PostgreSQL")
        quote = self.dialect.identifier_preparer.quote
        sql = (
            f"COPY {quote(table.name)} ({', '.join(quote(n) for n in columns)}) "
            "FROM STDIN WITH (NULL %s)"
        )
        raw = self.connection.connection.driver_connection
        if raw is None:
            raise RuntimeError("the connection is closed")
        with (
            raw.cursor() as cursor,
            cursor.copy(sql, (null,), writer=QueuedLibpqWriter(cursor)) as copy,
        ):
            for piece in pieces:
                copy.write(piece)

    def update(
        self, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        """Sets `columns` of the rows whose id comes first in each row: through a
        temporary table and one UPDATE on PostgreSQL, executemany on SQLite."""
        quote = self.dialect.identifier_preparer.quote
        name = quote(table.name)
        if not self.postgresql:
            assignments = ", ".join(f"{quote(column)} = ?" for column in columns)
            sql = f"UPDATE {name} SET {assignments} WHERE id = ?"  # noqa: S608 -- names come from the models
            processors = [table.c[c].type.bind_processor(self.dialect) for c in columns]
            raw = self.connection.connection.driver_connection
            if raw is None:
                raise RuntimeError("the connection is closed")
            cursor = raw.cursor()
            cursor.executemany(
                sql,
                (
                    [
                        *(
                            v if p is None or v is None else p(v)
                            for p, v in zip(processors, row[1:], strict=True)
                        ),
                        row[0],
                    ]
                    for row in rows
                ),
            )
            cursor.close()
            return
        staging = sa.Table(
            f"staging_{table.name}",
            sa.MetaData(),
            sa.Column("id", sa.Integer),
            *(sa.Column(c, table.c[c].type) for c in columns),
            prefixes=["TEMPORARY"],
        )
        staging.create(self.connection)
        self.write(staging, ("id", *columns), rows)
        assignments = ", ".join(f"{quote(c)} = staging.{quote(c)}" for c in columns)
        self.connection.execute(
            sa.text(
                f"UPDATE {name} SET {assignments} FROM {quote(staging.name)} AS staging "  # noqa: S608 -- names come from the models
                f"WHERE {name}.id = staging.id"
            )
        )
        staging.drop(self.connection)
        del self.written[staging.name]

    def finish(self) -> None:
        """Moves PostgreSQL's id sequences past the ids handed out here."""
        if not self.postgresql:
            return
        for name, table in self._tables.items():
            highest = self._next_id[name] - 1
            if highest > 0:
                self.connection.execute(
                    sa.text(
                        "SELECT setval(pg_get_serial_sequence(:table, 'id'), :value)"
                    ),
                    {"table": table.name, "value": highest},
                )
