"""Encrypt grievance narratives, notes, document names and files, members' phone
numbers and legal names, and emails; find accounts by a keyed hash of the email.

Existing rows are encrypted here with the app's configured keys (ENCRYPTION_KEYS,
LOOKUP_HASH_KEY), so run it with the same configuration as the app.

Revision ID: b6c8cd46cbff
Revises: bf585d7ef947
Create Date: 2026-11-22 02:56:20.912864

"""
import hashlib
import hmac
from pathlib import Path

from alembic import op
import sqlalchemy as sa
from cryptography.fernet import Fernet, MultiFernet
from flask import current_app


revision = 'b6c8cd46cbff'
down_revision = 'bf585d7ef947'
branch_labels = None
depends_on = None

#: (table, column, old type) of every text column that becomes encrypted.
ENCRYPTED = [
    ("grievance_documents", "filename", sa.String(200)),
    ("grievances", "title", sa.String(200)),
    ("grievances", "what_happened", sa.Text()),
    ("grievances", "remedy_sought", sa.Text()),
    ("grievances", "remedy_obtained", sa.Text()),
    ("grievance_notes", "body", sa.Text()),
    ("members", "legal_name", sa.String(200)),
    ("members", "phone", sa.String(30)),
    ("users", "email", sa.String(254)),
]


def _fernet():
    keys = current_app.config["ENCRYPTION_KEYS"]
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _email_hash(email):
    key = current_app.config["LOOKUP_HASH_KEY"].encode()
    normal = "email:" + email.strip().lower()
    return hmac.new(key, normal.encode(), hashlib.sha256).hexdigest()


def _rewrite(table, column, change):
    """Applies `change` to every non-null value of one column."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")).all()
    for row_id, value in rows:
        bind.execute(
            sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id"),
            {"value": change(value), "id": row_id},
        )


def _rewrite_documents(change):
    root = Path(current_app.config["DOCUMENT_STORAGE_PATH"])
    keys = op.get_bind().execute(sa.text("SELECT storage_key FROM grievance_documents")).scalars()
    for key in keys:
        path = root / key[:2] / key
        if path.exists():
            path.write_bytes(change(path.read_bytes()))


def upgrade():
    for table, column, old_type in ENCRYPTED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, existing_type=old_type, type_=sa.Text())
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("email_hash", sa.String(length=64), nullable=True))
        batch_op.drop_constraint("uq_users_email", type_="unique")

    bind = op.get_bind()
    for user_id, email in bind.execute(sa.text("SELECT id, email FROM users")).all():
        bind.execute(
            sa.text("UPDATE users SET email_hash = :hash WHERE id = :id"),
            {"hash": _email_hash(email), "id": user_id},
        )
    fernet = _fernet()
    for table, column, _old_type in ENCRYPTED:
        _rewrite(table, column, lambda value: fernet.encrypt(value.encode()).decode())
    _rewrite_documents(fernet.encrypt)

    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("email_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_users_email_hash", ["email_hash"])


def downgrade():
    fernet = _fernet()
    _rewrite_documents(fernet.decrypt)
    for table, column, _old_type in ENCRYPTED:
        _rewrite(table, column, lambda value: fernet.decrypt(value.encode()).decode())
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint("uq_users_email_hash", type_="unique")
        batch_op.drop_column("email_hash")
        batch_op.create_unique_constraint("uq_users_email", ["email"])
    for table, column, old_type in ENCRYPTED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, existing_type=sa.Text(), type_=old_type)
