"""Backups of the database and the grievance documents, and restoring them.

A backup is a folder:

    backup-20261122T150000Z/
      union.sqlite3 or union.pgdump   the database (SQLite online backup, or pg_dump
                                       in its custom format)
      documents/                      the document files, still encrypted
      manifest.json                   when, which schema revision, and a SHA-256 of
                                       every file, checked before anything is restored

The encryption keys (ENCRYPTION_KEYS, LOOKUP_HASH_KEY) are deliberately not in it:
keep them apart (a password manager, a sealed envelope). A stolen backup is then
unreadable where it matters, and a backup without its keys is useless, so test a
restore with the keys you have.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

MANIFEST = "manifest.json"
SQLITE_FILE = "union.sqlite3"
POSTGRESQL_FILE = "union.pgdump"
DOCUMENTS = "documents"


class BackupError(RuntimeError):
    """The backup or restore cannot be done; the message says why."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    folder: Path
    database_file: str
    documents: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def _schema_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        try:
            return connection.execute(
                sa.text("SELECT version_num FROM alembic_version")
            ).scalar()
        except sa.exc.DBAPIError:
            return None


def _postgresql_environment(url: sa.URL) -> dict[str, str]:
    """libpq settings for pg_dump and pg_restore, passed in the environment so the
    password never shows in the process list."""
    environment = dict(os.environ)
    for name, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value:
            environment[name] = str(value)
    return environment


def _run(command: list[str], url: sa.URL) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (it comes with PostgreSQL)")
    completed = subprocess.run(  # noqa: S603 -- fixed program, arguments built here
        command,
        env=_postgresql_environment(url),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        # pg_dump's messages name tables and the server, not row values.
        raise BackupError(f"{command[0]} failed: {completed.stderr.strip()[-500:]}")


def make_backup(
    engine: sa.Engine, documents: Path, destination: Path, *, now: datetime
) -> BackupResult:
    """Writes a consistent copy of the database and the documents to a new folder
    under `destination`, safe to run while the app is serving."""
    folder = destination / f"backup-{now:%Y%m%dT%H%M%SZ}"
    if folder.exists():
        raise BackupError(f"{folder} already exists")
    folder.mkdir(parents=True, mode=0o700)
    if engine.dialect.name == "sqlite":
        database_file = SQLITE_FILE
        target = sqlite3.connect(folder / SQLITE_FILE)
        try:
            raw = engine.raw_connection()
            try:
                # SQLite's online backup: a consistent snapshot even while others write.
                raw.driver_connection.backup(target)  # type: ignore[union-attr]
            finally:
                raw.close()
        finally:
            target.close()
    elif engine.dialect.name == "postgresql":
        database_file = POSTGRESQL_FILE
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--file",
                str(folder / POSTGRESQL_FILE),
            ],
            engine.url,
        )
    else:
        raise BackupError(f"no backup method for {engine.dialect.name}")
    copied = 0
    if documents.is_dir():
        for source in _files(documents):
            if source.suffix == ".part":
                continue
            target_path = folder / DOCUMENTS / source.relative_to(documents)
            target_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copy2(source, target_path)
            copied += 1
    manifest = {
        "created_at": now.isoformat(),
        "database": engine.dialect.name,
        "database_file": database_file,
        "schema_revision": _schema_revision(engine),
        "files": {
            str(path.relative_to(folder)): _sha256(path) for path in _files(folder)
        },
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    for path in _files(folder):
        path.chmod(0o600)
    return BackupResult(folder, database_file, copied)


def check_backup(folder: Path) -> dict[str, object]:
    """The backup's manifest, after checking every file against it."""
    try:
        manifest: dict[str, object] = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{folder} has no readable {MANIFEST}") from error
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise BackupError(f"{MANIFEST} lists no files")
    for name, expected in files.items():
        path = folder / name
        if not path.is_file() or _sha256(path) != expected:
            raise BackupError(f"{name} is missing or damaged")
    return manifest


def restore_backup(
    engine: sa.Engine, documents: Path, folder: Path
) -> dict[str, object]:
    """Puts a checked backup back: the database replaced whole, the documents
    copied into the documents folder. Stop the app first."""
    manifest = check_backup(folder)
    if manifest.get("database") != engine.dialect.name:
        raise BackupError(
            f"this backup is of a {manifest.get('database')} database, "
            f"but DATABASE_URL is {engine.dialect.name}"
        )
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(folder / SQLITE_FILE)
        try:
            raw = engine.raw_connection()
            try:
                source.backup(raw.driver_connection)  # type: ignore[arg-type]
            finally:
                raw.close()
        finally:
            source.close()
        engine.dispose()
    else:
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--dbname",
                str(engine.url.database),
                str(folder / POSTGRESQL_FILE),
            ],
            engine.url,
        )
        engine.dispose()
    backed_up = folder / DOCUMENTS
    if backed_up.is_dir():
        for source_path in _files(backed_up):
            target_path = documents / source_path.relative_to(backed_up)
            target_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copy2(source_path, target_path)
    return manifest
