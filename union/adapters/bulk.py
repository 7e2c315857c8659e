"""Bulk loading: COPY on PostgreSQL (psycopg 3), one executemany per batch on SQLite.

Rows go in as the app's own Python values (enums, aware datetimes, plain text for
encrypted columns); each column's SQLAlchemy bind processor turns them into what the
database stores, so encrypted columns are encrypted and datetimes normalised exactly
as the models would do it. Ids are handed out here rather than by the database, so
that child rows can name their parents without a round trip.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa

#: Rows per executemany call on SQLite.
SQLITE_BATCH = 5000


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
        self, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> int:
        """Writes rows (values in `columns` order) in the connection's transaction."""
        processors: list[Callable[[Any], Any] | None] = [
            table.c[name].type.bind_processor(self.dialect) for name in columns
        ]

        def stored(row: Sequence[Any]) -> list[Any]:
            return [
                value if process is None or value is None else process(value)
                for process, value in zip(processors, row, strict=True)
            ]

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
            batch: list[list[Any]] = []
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
