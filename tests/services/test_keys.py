"""Encryption at rest of grievance text and documents, and key rotation."""

import sqlalchemy as sa
from flask import current_app

from tests.conftest import TEST_ENCRYPTION_KEY
from union.adapters import crypto
from union.db import db
from union.services import keys

LOOKUP = "test-lookup-hash-key-that-is-long-enough-0123456789"


def test_the_encrypted_columns_are_the_sensitive_ones():
    found = {
        f"{table.name}.{column.name}" for table, column in keys.encrypted_columns()
    }
    assert found == {
        "users.email",
        "account_tokens.new_email",
        "members.phone",
        "members.legal_name",
        "grievances.title",
        "grievances.what_happened",
        "grievances.remedy_sought",
        "grievances.remedy_obtained",
        "grievance_notes.body",
        "grievance_documents.filename",
        "correction_requests.details",
        "correction_requests.response",
        "breaches.description",
        "breaches.data_affected",
        "breaches.measures",
        "survey_round_keys.sealing_key",
        # A job's payload may hold an address, an email's body or an application.
        "jobs.payload",
    }


def test_grievance_text_notes_and_documents_are_unreadable_at_rest(make):
    workplace = make.workplace()
    grievance = make.grievance(workplace, title="Unpaid overtime at the van")
    grievance.what_happened = "Worked nine hours, paid for six."
    make.note(grievance, "The coordinator admitted it on the phone.")
    document = make.document(grievance, filename="paystub-march.pdf")
    db.session.flush()
    raw = db.session.execute(
        sa.text(
            "SELECT g.title, g.what_happened, n.body, d.filename FROM grievances g "
            "JOIN grievance_notes n ON n.grievance_id = g.id "
            "JOIN grievance_documents d ON d.grievance_id = g.id"
        )
    ).one()
    for value, secret in zip(
        raw, ("overtime", "nine hours", "admitted", "paystub"), strict=True
    ):
        assert secret not in value
    storage = current_app.extensions["union_documents"]
    on_disk = storage.inner.read(document.storage_key)
    assert b"%PDF" not in on_disk
    assert storage.read(document.storage_key).startswith(b"%PDF")


def test_rotation_rewrites_everything_so_the_old_key_can_go(make, now):
    member = make.member(account=True)
    member.phone = "416 555 0123"
    grievance = make.grievance(make.workplace(), title="Rotated title")
    document = make.document(grievance)
    db.session.flush()
    new = crypto.new_key()
    storage = current_app.extensions["union_documents"]
    try:
        crypto.configure([new, TEST_ENCRYPTION_KEY], LOOKUP)
        counts = keys.rotate_keys(storage=storage, now=now)
        assert counts["members.phone"] >= 1 and counts["documents"] >= 1
        crypto.configure([new], LOOKUP)
        db.session.expire_all()
        assert member.phone == "416 555 0123"
        assert grievance.title == "Rotated title"
        assert storage.read(document.storage_key).startswith(b"%PDF")
    finally:
        crypto.configure([TEST_ENCRYPTION_KEY], LOOKUP)


def test_new_key_command_prints_a_usable_key(app):
    result = app.test_cli_runner().invoke(args=["union", "new-key"])
    crypto.configure([result.output.strip()], LOOKUP)
    try:
        assert crypto.decrypt(crypto.encrypt("hello")) == "hello"
    finally:
        crypto.configure([TEST_ENCRYPTION_KEY], LOOKUP)
