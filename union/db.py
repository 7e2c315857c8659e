"""The database handle, the declarative base and the column types every model shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, registry

#: Named constraints let Alembic drop and alter them later on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware.

    SQLite keeps no zone, so values are normalised to UTC before they are written;
    naive values are refused rather than guessed at.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use union.clock.utcnow()")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


db = SQLAlchemy(model_class=Base)

# Flask-SQLAlchemy builds db.Model at run time, so type checkers see Any. Models
# subclass Model: db.Model when running, the typed Base when checked.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


def configure_sqlite(engine: sa.Engine) -> None:
    """Turns on foreign keys, secure deletion and real transactions (with
    savepoints) for SQLite.

    Python's sqlite3 module opens transactions lazily and cannot nest savepoints, so
    SQLAlchemy's documented recipe hands transaction control back to SQLAlchemy.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # Deleted and replaced rows are overwritten with zeros rather than left in
        # free space, where a copy of the file would still show them: the sealed
        # survey answers and their key when a round closes, what erasing a member
        # replaces.
        cursor.execute("PRAGMA secure_delete=ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    # A file shared by the web server and the worker (make run) or by a test
    # server's threads: each transaction takes the write lock when it begins,
    # waiting up to the busy timeout. A deferred BEGIN would fail at once, with
    # "database is locked", when a transaction that has read tries to write
    # after another connection has written.
    begin = (
        "BEGIN" if engine.url.database in (None, "", ":memory:") else "BEGIN IMMEDIATE"
    )

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql(begin)


#: The largest value an integer column holds on every database the app runs on.
INTEGER_MAX = 2**31 - 1


def database_integer(text: str | None) -> int | None:
    """A whole number typed or sent as text, if an integer column can hold it:
    digits only (of any script int() reads), at most INTEGER_MAX. Anything else
    is None, so that a number too large is no such record rather than an error
    from the database."""
    if not text or not text.isdecimal():
        return None
    number = int(text)
    return number if number <= INTEGER_MAX else None


#: Tables the app makes while running: on PostgreSQL, each survey round's
#: partitions of the answers, the sealed answers and the round's key (see
#: services.survey).
RUN_TIME_TABLE_PREFIXES = (
    "survey_answers_",
    "survey_sealed_answers_",
    "survey_round_keys_",
)


def made_by_migrations(name: str | None, type_: str, _parents: Any) -> bool:
    """For Alembic's include_name: the run-time partitions are not stray tables."""
    return not (
        type_ == "table"
        and name is not None
        and name.startswith(RUN_TIME_TABLE_PREFIXES)
    )
