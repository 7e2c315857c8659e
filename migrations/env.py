"""Alembic environment: the app's engine and the metadata of every union model."""

import logging
from logging.config import fileConfig
from typing import Any

from alembic import context
from flask import current_app

import union.models  # noqa: F401  (registers every table on the metadata)
from union.adapters.crypto import EncryptedText
from union.db import Base, UTCDateTime, made_by_migrations

config = context.config
if config.config_file_name is not None and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def render_item(kind: str, item: Any, autogen_context: Any) -> Any:
    """Writes the app's own column types as the plain types they store as."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if kind == "type" and isinstance(item, EncryptedText):
        return "sa.Text()"
    return False


def skip_empty_autogenerate(context: Any, revision: Any, directives: list[Any]) -> None:
    if (
        getattr(config.cmd_opts, "autogenerate", False)
        and directives[0].upgrade_ops.is_empty()
    ):
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_online() -> None:
    engine = current_app.extensions["migrate"].db.engine
    options = dict(current_app.extensions["migrate"].configure_args)
    options.setdefault("process_revision_directives", skip_empty_autogenerate)
    options.setdefault("include_name", made_by_migrations)
    options.setdefault("render_item", render_item)
    options.setdefault("compare_type", True)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table by dropping the old one; with foreign keys
            # on, SQLite would apply ON DELETE to every row referring to it. The
            # pragma only works outside a transaction, hence the raw connection.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection, target_metadata=Base.metadata, **options
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                connection.connection.driver_connection.execute(
                    "PRAGMA foreign_keys=ON"
                )


def run_migrations_offline() -> None:
    engine = current_app.extensions["migrate"].db.engine
    context.configure(
        url=engine.url.render_as_string(hide_password=False),
        target_metadata=Base.metadata,
        literal_binds=True,
        render_item=render_item,
        include_name=made_by_migrations,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
