"""`union backup` and `union restore`: a backup taken while the app runs restores
into an empty place, documents included, and a damaged backup is refused.

On SQLite (the default) the online backup API copies the file; in the PostgreSQL
pass of .ci/run the same test goes through pg_dump and pg_restore.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import TEST_DATABASE_URL, config_for_tests, reset_schema
from union import create_app
from union.db import db
from union.models import AuditEvent, GrievanceDocument, Member

POSTGRESQL = TEST_DATABASE_URL.startswith("postgresql")


def app_on(url: str, documents: Path) -> Any:
    return create_app(
        config_for_tests(
            SQLALCHEMY_DATABASE_URI=url, DOCUMENT_STORAGE_PATH=str(documents)
        )
    )


@pytest.fixture
def second_database_url(tmp_path: Path) -> Any:
    """Another empty database to restore into."""
    if not POSTGRESQL:
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"union_restore_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(TEST_DATABASE_URL).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_backup_restores_the_database_and_documents_elsewhere(
    fresh_database_url, second_database_url, tmp_path, now
):
    if POSTGRESQL and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    source = app_on(fresh_database_url, tmp_path / "documents")
    reset_schema(source)
    with source.app_context():
        make = factories.Factories(now)
        workplace = make.workplace("Backed Up Agency")
        member = make.member(workplace, name="Kept Member")
        member.phone = "416 555 0142"
        grievance = make.grievance(workplace, grievants=[member])
        make.document(grievance, data=factories.PNG_BYTES, filename="photo.png")
        db.session.commit()
        runner = source.test_cli_runner()
        result = runner.invoke(args=["union", "backup", str(tmp_path / "backups")])
        assert result.exit_code == 0, result.output
        db.session.remove()
        db.engine.dispose()
    [folder] = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["schema_revision"] and manifest["files"]
    assert all(
        (folder / name).stat().st_mode & 0o077 == 0 for name in manifest["files"]
    )
    # The documents in the backup are as encrypted as on disk.
    backed_up = [p for p in (folder / "documents").rglob("*") if p.is_file()]
    assert backed_up and not backed_up[0].read_bytes().startswith(b"\x89PNG")

    target = app_on(second_database_url, tmp_path / "restored-documents")
    with target.app_context():
        result = target.test_cli_runner().invoke(
            args=["union", "restore", str(folder), "--yes"]
        )
        assert result.exit_code == 0, result.output
        restored = db.session.scalar(
            sa.select(Member).where(Member.chosen_name == "Kept Member")
        )
        assert restored is not None and restored.phone == "416 555 0142"
        document = db.session.scalar(sa.select(GrievanceDocument))
        data = target.extensions["union_documents"].read(document.storage_key)
        assert data == factories.PNG_BYTES
        # The append-only rules came back with the schema.
        db.session.add(AuditEvent(at=now, action="restore.checked"))
        db.session.commit()
        with pytest.raises(sa.exc.DBAPIError):
            db.session.execute(sa.text("DELETE FROM audit_events"))
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def test_a_damaged_backup_is_refused_before_anything_changes(
    fresh_database_url, tmp_path, now
):
    app = app_on(fresh_database_url, tmp_path / "documents")
    reset_schema(app)
    with app.app_context():
        runner = app.test_cli_runner()
        assert (
            runner.invoke(args=["union", "backup", str(tmp_path / "b")]).exit_code == 0
        )
        [folder] = (tmp_path / "b").iterdir()
        database_file = next(p for p in folder.iterdir() if p.name.startswith("union."))
        database_file.write_bytes(database_file.read_bytes()[:-10] + b"0123456789")
        result = runner.invoke(args=["union", "restore", str(folder), "--yes"])
        assert result.exit_code == 1
        assert "missing or damaged" in result.output
        db.session.remove()
        db.engine.dispose()
