"""Grievance documents kept in an S3-compatible store (moto's server on loopback),
uploaded, read and removed through the app as a steward and the retention job
would."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.factories import PDF_BYTES, PNG_BYTES
from tests.s3_server import stored_objects
from union.adapters.documents import EncryptedStorage, storage_from_config
from union.adapters.s3 import S3Storage
from union.db import db
from union.models import GrievanceDocument, GrievanceOutcome, GrievanceStep
from union.services import retention


@pytest.fixture
def s3_documents(app, monkeypatch, s3_settings):
    """The app keeps its documents in a fresh bucket for this test, configured as
    an operator would configure it."""
    config = {**app.config, **s3_settings, "DOCUMENT_STORAGE": "s3"}
    store = storage_from_config(config)
    assert isinstance(store, S3Storage)
    monkeypatch.setitem(app.extensions, "union_documents", EncryptedStorage(store))
    return store


def upload(client, grievance, data, filename):
    url = f"/grievances/{grievance.public_id}"
    return client.post(
        f"{url}/documents",
        data={
            "csrf_token": client.csrf_token(url),
            "file": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
    )


def test_a_steward_uploads_a_document_and_reads_it_back_through_the_app(
    client, world, s3_documents, s3_endpoint
):
    client.sign_in("steward@example.org")
    assert upload(client, world.grievance, PNG_BYTES, "stub.png").status_code == 302
    document = db.session.scalars(
        sa.select(GrievanceDocument).where(
            GrievanceDocument.grievance_id == world.grievance.id,
            GrievanceDocument.content_type == "image/png",
        )
    ).one()

    stored = stored_objects(s3_endpoint, s3_documents.settings.bucket)
    assert list(stored) == [document.storage_key]
    assert PNG_BYTES not in stored[document.storage_key]  # encrypted by the app

    served = client.get(
        f"/grievances/{world.grievance.public_id}/documents/{document.id}"
    )
    assert served.status_code == 200
    assert served.data == PNG_BYTES
    assert served.headers["Cache-Control"] == "no-store"


def test_another_workplaces_steward_cannot_read_a_document_in_the_store(
    client, world, s3_documents
):
    client.sign_in("steward@example.org")
    upload(client, world.grievance, PDF_BYTES, "letter.pdf")
    document_id = db.session.scalar(
        sa.select(sa.func.max(GrievanceDocument.id)).where(
            GrievanceDocument.grievance_id == world.grievance.id
        )
    )
    client.sign_out()
    client.sign_in("other-steward@example.org")
    url = f"/grievances/{world.grievance.public_id}/documents/{document_id}"
    assert client.get(url).status_code == 404


def test_a_document_missing_from_the_store_is_not_found(client, world, s3_documents):
    # world.document was written to the folder before the switch; the store
    # does not have it.
    client.sign_in("steward@example.org")
    url = f"/grievances/{world.grievance.public_id}/documents/{world.document.id}"
    assert client.get(url).status_code == 404


def test_retention_removes_a_closed_cases_documents_from_the_store(
    app, make, now, s3_documents, s3_endpoint
):
    workplace = make.workplace()
    steward = make.steward(workplace)
    closed = make.grievance(workplace, steward=steward)
    closed.step, closed.closed_on = GrievanceStep.RESOLVED, now.date()
    closed.outcome = GrievanceOutcome.WON
    document = make.document(closed)
    bucket = s3_documents.settings.bucket
    assert document.storage_key in stored_objects(s3_endpoint, bucket)

    later = now + timedelta(days=450)
    retention.apply_retention(
        retention.RetentionPeriods(closed_grievances=timedelta(days=365)),
        now=later,
        storage=app.extensions["union_documents"],
    )

    assert stored_objects(s3_endpoint, bucket) == {}
    with pytest.raises(FileNotFoundError):
        app.extensions["union_documents"].read(document.storage_key)
