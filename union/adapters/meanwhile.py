"""A query that the database answers while this process works on something else.

Closing a survey round alternates between work only the database does (counting
200,000 answers) and work only Python does (the medians' disclosure rules), on a
machine with more than one core. Sent from a thread, the query runs on the
server while the main thread computes: the thread only waits on the socket,
which releases the GIL, so the two overlap instead of taking turns.

The connection is the caller's, in its transaction (the query sees what the
transaction wrote). Nothing else may use it until the block ends, which is why
this is a context manager: leaving the block waits for the query, even when the
block fails. On SQLite the query simply runs first: its connection belongs to
the thread that opened it.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

import sqlalchemy as sa


class Meanwhile:
    """`with Meanwhile(connection, statement) as query:` runs the statement while
    the block runs (the block must not touch the database); `query.rows` holds
    its rows, as the driver gives them, after the block."""

    def __init__(self, connection: sa.Connection, statement: sa.Executable) -> None:
        self._connection = connection
        self._statement = statement
        self._rows: list[Any] | None = None
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None

    @property
    def rows(self) -> list[Any]:
        if self._rows is None:
            raise RuntimeError("the query's rows are read after its block")
        return self._rows

    def _run(self) -> None:
        try:
            result = self._connection.execute(self._statement)
            cursor = result.cursor
            if cursor is None:
                raise RuntimeError("the statement returns no rows")
            self._rows = list(cursor.fetchall())
            result.close()
        except BaseException as failure:  # handed to the main thread on leaving
            self._failure = failure

    def __enter__(self) -> Meanwhile:
        if self._connection.dialect.name == "postgresql":
            self._thread = threading.Thread(
                target=self._run, name="query-meanwhile", daemon=True
            )
            self._thread.start()
        else:
            self._run()
            self._raise_failure()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if kind is None:
            self._raise_failure()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
