"""A query the database answers while the process works on something else
(union.adapters.meanwhile), as closing a survey round counts its answers."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import Factories
from union.adapters.meanwhile import Meanwhile
from union.db import db
from union.models import Workplace

#: An advisory lock key only this test takes.
LOCK = 424242


def test_the_rows_are_there_after_the_block_and_see_the_transaction(
    make: Factories,
) -> None:
    make.workplace(employer="Meanwhile Harm Reduction")
    db.session.flush()
    counted = sa.select(sa.func.count()).select_from(Workplace)
    query = Meanwhile(db.session.connection(), counted)
    with pytest.raises(RuntimeError):
        query.rows  # noqa: B018  # not before the block
    with query:
        pass
    assert query.rows == [(db.session.scalar(counted),)]
    assert query.rows[0][0] >= 1


def test_on_postgresql_the_query_runs_while_the_block_runs(database: Any) -> None:
    """The query waits for a lock that only the block lets go of: run before the
    block, it would wait for its lock timeout and fail."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's connection belongs to its thread: the query runs first")
    db.session.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
    pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
    with db.engine.connect() as other:
        other.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": LOCK})
        waiting = sa.text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE pid = :pid AND wait_event_type = 'Lock'"
        )
        statement = sa.text("SELECT pg_advisory_xact_lock_shared(:key)::text, 7")
        with Meanwhile(
            db.session.connection(), statement.bindparams(key=LOCK)
        ) as query:
            deadline = time.monotonic() + 5
            while not other.scalar(waiting, {"pid": pid}):
                assert time.monotonic() < deadline, "the query never ran"
                time.sleep(0.01)
            other.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK})
    assert query.rows[0][1] == 7


def test_a_failed_query_fails_when_the_block_ends(database: Any) -> None:
    missing = sa.text("SELECT * FROM no_such_table")
    with pytest.raises(sa.exc.DBAPIError), Meanwhile(db.session.connection(), missing):
        pass


def _fail() -> None:
    raise ValueError("the block failed")


def test_a_failed_block_still_waits_for_the_query(database: Any) -> None:
    slow = (
        sa.text("SELECT pg_sleep(0.2), 1")
        if db.engine.dialect.name == "postgresql"
        else sa.text("SELECT 1, 1")
    )
    with (
        pytest.raises(ValueError, match="the block failed"),
        Meanwhile(db.session.connection(), slow),
    ):
        _fail()
    assert not [t for t in threading.enumerate() if t.name == "query-meanwhile"]
    assert db.session.scalar(sa.text("SELECT 2")) == 2
