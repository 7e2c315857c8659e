"""The S3-compatible document store, against moto's server on loopback: the
storage itself, its settings, and `union move-documents` both ways."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import config_for_tests
from tests.factories import PDF_BYTES, PNG_BYTES
from tests.s3_server import s3_client, stored_objects
from tests.stripe_peer import free_port
from union.adapters import crypto
from union.adapters.documents import (
    EncryptedStorage,
    LocalFolderStorage,
    storage_from_config,
)
from union.adapters.s3 import S3Settings, S3Storage, StoreUnavailable
from union.config import ConfigError, build_config
from union.db import db
from union.models import AuditEvent, GrievanceDocument
from union.services import grievances


@pytest.fixture
def store(s3_settings):
    return S3Storage(S3Settings.from_config(s3_settings))


def test_saving_reading_replacing_and_deleting(store):
    key = store.save(b"first")
    assert store.read(key) == b"first"
    store.replace(key, b"second")
    assert store.read(key) == b"second"
    store.delete(key)
    with pytest.raises(FileNotFoundError):
        store.read(key)
    store.delete(key)  # already gone is fine


def test_documents_are_encrypted_and_rotated_in_the_store(app, store):
    with app.app_context():
        encrypted = EncryptedStorage(store)
        key = encrypted.save(PDF_BYTES)
        before = store.read(key)
        encrypted.rotate(key)
        assert PDF_BYTES not in store.read(key)
        assert store.read(key) != before
        assert encrypted.read(key) == PDF_BYTES


@pytest.mark.parametrize("key", ["../escape", "short", "a/" + "b" * 40, ""])
def test_a_key_that_is_not_a_documents_key_names_nothing(store, key):
    with pytest.raises(FileNotFoundError):
        store.read(key)


def test_a_store_that_does_not_answer_is_named(s3_settings):
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = {**s3_settings, "DOCUMENT_S3_ENDPOINT_URL": nowhere}
    store = S3Storage(S3Settings.from_config(settings))
    with pytest.raises(StoreUnavailable, match=re.escape(f"at {nowhere}")):
        store.read("k" * 43)


def test_the_settings_never_show_the_keys(s3_settings):
    settings = S3Settings.from_config(s3_settings)
    shown = repr(settings) + repr(S3Storage(settings)) + settings.describe()
    assert s3_settings["DOCUMENT_S3_SECRET_ACCESS_KEY"] not in shown
    assert s3_settings["DOCUMENT_S3_ACCESS_KEY_ID"] not in shown
    assert s3_settings["DOCUMENT_S3_BUCKET"] in settings.describe()


def test_the_write_check_passes_and_leaves_nothing(store, s3_endpoint):
    store.check_writable()
    assert stored_objects(s3_endpoint, store.settings.bucket) == {}


def test_the_write_check_names_a_missing_bucket(s3_settings):
    missing = {**s3_settings, "DOCUMENT_S3_BUCKET": "no-such-bucket"}
    with pytest.raises(StoreUnavailable, match=r"'no-such-bucket'.*NoSuchBucket"):
        S3Storage(S3Settings.from_config(missing)).check_writable()


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"DOCUMENT_STORAGE": "cloud"}, "DOCUMENT_STORAGE must be 'folder' or 's3'"),
        ({"DOCUMENT_STORAGE": "s3"}, "DOCUMENT_S3_BUCKET must be set"),
        (
            {"DOCUMENT_S3_BUCKET": "b", "DOCUMENT_S3_ACCESS_KEY_ID": "only-half"},
            "go together",
        ),
        (
            {"DOCUMENT_S3_BUCKET": "b", "DOCUMENT_S3_ENDPOINT_URL": "s3.example.org"},
            "must be an http(s) address",
        ),
    ],
)
def test_unsound_storage_settings_stop_the_app(tmp_path, settings, named):
    with pytest.raises(ConfigError, match=re.escape(named)):
        build_config(config_for_tests(**settings), tmp_path)


def test_s3_configuration_chooses_the_store(tmp_path, s3_settings):
    config = build_config(
        config_for_tests(DOCUMENT_STORAGE="s3", **s3_settings), tmp_path
    )
    assert isinstance(storage_from_config(config), S3Storage)
    assert isinstance(storage_from_config(config, "folder"), LocalFolderStorage)


# Moving documents -------------------------------------------------------------------


@pytest.fixture
def folder(app, monkeypatch, tmp_path) -> Path:
    """The app keeps its documents in a folder of this test's own."""
    documents = tmp_path / "documents"
    monkeypatch.setitem(app.config, "DOCUMENT_STORAGE_PATH", str(documents))
    monkeypatch.setitem(
        app.extensions,
        "union_documents",
        EncryptedStorage(LocalFolderStorage(documents)),
    )
    return documents


@pytest.fixture
def runner(app, database, monkeypatch, s3_settings, folder):
    for name, value in s3_settings.items():
        monkeypatch.setitem(app.config, name, value)
    return app.test_cli_runner()


@pytest.fixture
def uploaded(app, make, now, folder) -> list[GrievanceDocument]:
    """Three documents uploaded to the folder as a steward would upload them."""
    workplace = make.workplace()
    steward = make.steward(workplace)
    grievance = make.grievance(workplace, steward=steward)
    documents = [
        grievances.add_document(
            grievance,
            filename=f"letter {number}.pdf",
            data=data,
            storage=app.extensions["union_documents"],
            max_bytes=1_000_000,
            actor=steward,
            now=now,
        )
        for number, data in enumerate((PDF_BYTES, PNG_BYTES, PDF_BYTES + b"3"))
    ]
    db.session.commit()  # as the upload's request does
    return documents


def folder_keys(folder: Path) -> set[str]:
    return {path.name for path in folder.rglob("*") if path.is_file()}


def move(runner, to):
    return runner.invoke(args=["union", "move-documents", "--to", to])


def test_moving_documents_to_the_store_and_back(
    runner, uploaded, folder, s3_endpoint, s3_bucket
):
    keys = {document.storage_key for document in uploaded}

    result = move(runner, "s3")

    assert result.exit_code == 0, result.output
    assert "Moved 3 documents; 0 were already there." in result.output
    assert "Now set DOCUMENT_STORAGE=s3" in result.output
    in_store = stored_objects(s3_endpoint, s3_bucket)
    assert set(in_store) == keys
    assert folder_keys(folder) == set()
    for document in uploaded:
        plain = crypto.decrypt_bytes(in_store[document.storage_key])
        assert hashlib.sha256(plain).hexdigest() == document.sha256

    back = move(runner, "folder")

    assert back.exit_code == 0, back.output
    assert "Moved 3 documents; 0 were already there." in back.output
    assert stored_objects(s3_endpoint, s3_bucket) == {}
    assert folder_keys(folder) == keys
    moves = db.session.scalars(
        sa.select(AuditEvent.detail).where(AuditEvent.action == "documents.moved")
    ).all()
    assert len(moves) == 2 and all("moved=3 already=0" in move for move in moves)


def test_a_move_that_stopped_resumes_skipping_what_was_moved(
    runner, uploaded, folder, s3_endpoint, s3_bucket
):
    first, damaged, last = uploaded
    path = folder / damaged.storage_key[:2] / damaged.storage_key
    sound = path.read_bytes()
    path.write_bytes(b"not what was uploaded")

    stopped = move(runner, "s3")

    assert stopped.exit_code == 1
    assert f"document {damaged.id} of case" in stopped.output
    assert damaged.storage_key in stopped.output
    assert "fails its checksum in the folder" in stopped.output
    assert set(stored_objects(s3_endpoint, s3_bucket)) == {first.storage_key}
    assert folder_keys(folder) == {damaged.storage_key, last.storage_key}

    path.write_bytes(sound)  # restored from a backup, say
    resumed = move(runner, "s3")

    assert resumed.exit_code == 0, resumed.output
    assert "Moved 2 documents; 1 were already there." in resumed.output
    assert len(stored_objects(s3_endpoint, s3_bucket)) == 3
    again = move(runner, "s3")
    assert "Moved 0 documents; 3 were already there." in again.output


def test_a_corrupted_object_in_the_store_stops_the_move_back_and_is_named(
    runner, uploaded, folder, s3_endpoint, s3_bucket
):
    assert move(runner, "s3").exit_code == 0
    corrupted = uploaded[1]
    s3_client(s3_endpoint).put_object(
        Bucket=s3_bucket, Key=corrupted.storage_key, Body=b"flipped bits"
    )

    stopped = move(runner, "folder")

    assert stopped.exit_code == 1
    assert f"document {corrupted.id} of case" in stopped.output
    assert "fails its checksum in S3 bucket" in stopped.output
    assert folder_keys(folder) == {uploaded[0].storage_key}
    # Nothing damaged was copied, and the store keeps what it had.
    assert corrupted.storage_key in stored_objects(s3_endpoint, s3_bucket)


def test_a_damaged_copy_already_in_the_store_is_replaced_by_the_sound_one(
    runner, uploaded, folder, s3_endpoint, s3_bucket
):
    half_done = uploaded[0]
    s3_client(s3_endpoint).put_object(
        Bucket=s3_bucket, Key=half_done.storage_key, Body=b"damaged earlier"
    )

    result = move(runner, "s3")

    assert result.exit_code == 0, result.output
    assert "Moved 3 documents; 0 were already there." in result.output
    plain = crypto.decrypt_bytes(
        stored_objects(s3_endpoint, s3_bucket)[half_done.storage_key]
    )
    assert hashlib.sha256(plain).hexdigest() == half_done.sha256


def test_a_document_in_neither_store_is_named(runner, uploaded, folder):
    lost = uploaded[0]
    (folder / lost.storage_key[:2] / lost.storage_key).unlink()

    result = move(runner, "s3")

    assert result.exit_code == 1
    assert f"document {lost.id} of case" in result.output
    assert "is in neither the folder" in result.output


def test_the_move_names_an_unreachable_store_before_touching_anything(
    runner, app, monkeypatch, uploaded, folder
):
    nowhere = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setitem(app.config, "DOCUMENT_S3_ENDPOINT_URL", nowhere)

    result = move(runner, "s3")

    assert result.exit_code == 1
    assert f"at {nowhere} cannot be written" in result.output
    assert len(folder_keys(folder)) == 3


def test_the_move_needs_the_store_configured(app, database, monkeypatch, folder):
    monkeypatch.setitem(app.config, "DOCUMENT_S3_BUCKET", None)
    result = move(app.test_cli_runner(), "s3")
    assert result.exit_code != 0
    assert "Set DOCUMENT_S3_BUCKET" in result.output
