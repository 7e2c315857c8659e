"""While a round is open its answers are sealed boxes, not rows: a secret key per
round (AES-256-GCM, stored encrypted with ENCRYPTION_KEYS), the boxes in a table of
their own, both partitioned by round on PostgreSQL and dropped whole when the
round closes (services.survey says why). An open round's number of answers is
shown as a band counted at most once a day, kept on the round.

The two partition functions are replaced (the first now makes the round's three
partitions; the second also takes the table a new one, union_begin_round_answers,
began and the app filled with the answers opened at closing) and a fourth drops
a round's boxes and key.

A round open at upgrade time has its answers in the clear, written as members
answered. They are sealed here to a new key for the round, in random order, all in
this one transaction, and the clear rows dropped (their partition whole on
PostgreSQL), so the live database holds them as it holds answers given from now
on, or rather better: their boxes are not paired with receipts by the order or
transaction they were written in. Copies taken before the upgrade keep what they
kept. Run it with the app's configuration (ENCRYPTION_KEYS), like b6c8cd46cbff.
Downgrading opens the boxes of open rounds back into answer rows, in random
order, and refuses (changing nothing) if any does not open.

Revision ID: a1d3da1a3a0b
Revises: e7a1c9d3f5b2
Create Date: 2026-12-07 07:00:00

"""
import base64
import json
import os
import secrets

from alembic import op
import sqlalchemy as sa
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app


revision = 'a1d3da1a3a0b'
down_revision = 'e7a1c9d3f5b2'
branch_labels = None
depends_on = None

# The sealing as services.survey and adapters.sealing do it, version 1, written
# out here so that this migration keeps doing what it did whatever the app's code
# becomes: AES-256-GCM, a box is a random 12-byte nonce then the ciphertext and
# tag, the round's context as associated data, messages padded to SEALED_SIZE.
SEALED_SIZE = 256
NONCE_BYTES = 12
PAYLOAD_FIELDS = (
    "workplace_id",
    "classification_id",
    "employment_type",
    "hourly_wage_cents",
    "weekly_hours",
    "health_benefits",
    "dental_benefits",
    "paid_sick_days",
    "vacation_days",
    "months_since_raise",
    "never_had_raise",
    "grant_funded",
    "relies_on_social_assistance",
    "discrimination_lived_experience",
)
BOOLEANS = {
    "health_benefits",
    "dental_benefits",
    "never_had_raise",
    "relies_on_social_assistance",
    "discrimination_lived_experience",
}
COLUMNS = ("id", "round_id", *PAYLOAD_FIELDS)

MAKE = """
CREATE OR REPLACE FUNCTION union_make_answer_partition(for_round integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
BEGIN
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF survey_answers FOR VALUES IN (%s)',
        'survey_answers_round_' || for_round, for_round
    );
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF survey_sealed_answers FOR VALUES IN (%s)',
        'survey_sealed_answers_round_' || for_round, for_round
    );
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF survey_round_keys FOR VALUES IN (%s)',
        'survey_round_keys_round_' || for_round, for_round
    );
END
$$
"""

# Closing a round on PostgreSQL: union_begin_round_answers makes the table that
# will replace the round's partition, with any answers the round already had in
# the clear, in random-id order, and lets the app COPY the answers it has just
# opened into it (already in random-id order, after those). The grant is to
# PUBLIC, like the temporary table's it replaces, because the app may be running
# under SET ROLE: no other session can see the table before the closing commits,
# and union_reorder_round_answers takes the grant back before attaching it.
BEGIN = """
CREATE FUNCTION union_begin_round_answers(for_round integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
    fresh text := 'survey_answers_round_' || for_round || '_reordered';
BEGIN
    EXECUTE format(
        'CREATE TABLE %I (LIKE survey_answers INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
        fresh
    );
    EXECUTE format(
        'INSERT INTO %I SELECT * FROM survey_answers WHERE round_id = %s '
        'ORDER BY round_id, id',
        fresh, for_round
    );
    EXECUTE format('GRANT INSERT ON %I TO PUBLIC', fresh);
END
$$
"""

# As in d5e8f3b0a724, with two changes. The new table may have been begun by
# union_begin_round_answers and filled by the app (the answers opened at
# closing): it is then taken as it is, in the order its rows were written (the
# round's answers in random-id order, then the opened ones in theirs), without
# sorting them again, and PUBLIC loses its grant on it. Otherwise it is made here
# from the round's answers, as before.
# And the old partition is dropped where it is rather than detached first: a
# detached table's foreign keys are its own, and dropping it then locks the
# tables they refer to (rounds, workplaces, jobs) against every reader until the
# closing commits, which also deadlocked with an answer waiting on the round.
REORDER = """
CREATE OR REPLACE FUNCTION union_reorder_round_answers(for_round integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
    own_partition text := 'survey_answers_round_' || for_round;
    fresh text := own_partition || '_reordered';
BEGIN
    IF to_regclass(fresh) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE %I (LIKE survey_answers INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
            fresh
        );
        EXECUTE format(
            'INSERT INTO %I SELECT * FROM survey_answers WHERE round_id = %s '
            'ORDER BY round_id, id',
            fresh, for_round
        );
    ELSE
        EXECUTE format('REVOKE INSERT ON %I FROM PUBLIC', fresh);
    END IF;
    EXECUTE format(
        'ALTER TABLE %I ADD CONSTRAINT %I PRIMARY KEY (round_id, id)',
        fresh, fresh || '_pkey'
    );
    IF to_regclass(own_partition) IS NOT NULL THEN
        EXECUTE format('DROP TABLE %I', own_partition);
    ELSE
        DELETE FROM survey_answers WHERE survey_answers.round_id = for_round;
    END IF;
    EXECUTE format('ALTER TABLE %I RENAME TO %I', fresh, own_partition);
    EXECUTE format(
        'ALTER INDEX %I RENAME TO %I', fresh || '_pkey', own_partition || '_pkey'
    );
    EXECUTE format(
        'ALTER TABLE survey_answers ATTACH PARTITION %I FOR VALUES IN (%s)',
        own_partition, for_round
    );
END
$$
"""

# Dropping the partitions removes their files whole: no deleted row versions of
# the boxes or of the key stay in the database until a VACUUM.
DROP_SEALED = """
CREATE FUNCTION union_drop_sealed_answers(for_round integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
    boxes text := 'survey_sealed_answers_round_' || for_round;
    round_key text := 'survey_round_keys_round_' || for_round;
BEGIN
    IF to_regclass(boxes) IS NOT NULL THEN
        EXECUTE format('DROP TABLE %I', boxes);
    ELSE
        DELETE FROM survey_sealed_answers WHERE survey_sealed_answers.round_id = for_round;
    END IF;
    IF to_regclass(round_key) IS NOT NULL THEN
        EXECUTE format('DROP TABLE %I', round_key);
    ELSE
        DELETE FROM survey_round_keys WHERE survey_round_keys.round_id = for_round;
    END IF;
END
$$
"""

# The two functions as d5e8f3b0a724 made them, for downgrading.
OLD_MAKE = """
CREATE OR REPLACE FUNCTION union_make_answer_partition(for_round integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
BEGIN
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF survey_answers FOR VALUES IN (%s)',
        'survey_answers_round_' || for_round, for_round
    );
END
$$
"""

OLD_REORDER = """
CREATE OR REPLACE FUNCTION union_reorder_round_answers(for_round integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
    own_partition text := 'survey_answers_round_' || for_round;
    fresh text := own_partition || '_reordered';
BEGIN
    EXECUTE format(
        'CREATE TABLE %I (LIKE survey_answers INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
        fresh
    );
    EXECUTE format(
        'INSERT INTO %I SELECT * FROM survey_answers WHERE round_id = %s '
        'ORDER BY round_id, id',
        fresh, for_round
    );
    EXECUTE format(
        'ALTER TABLE %I ADD CONSTRAINT %I PRIMARY KEY (round_id, id)',
        fresh, fresh || '_pkey'
    );
    IF to_regclass(own_partition) IS NOT NULL THEN
        EXECUTE format('ALTER TABLE survey_answers DETACH PARTITION %I', own_partition);
        EXECUTE format('DROP TABLE %I', own_partition);
    ELSE
        DELETE FROM survey_answers WHERE survey_answers.round_id = for_round;
    END IF;
    EXECUTE format('ALTER TABLE %I RENAME TO %I', fresh, own_partition);
    EXECUTE format(
        'ALTER INDEX %I RENAME TO %I', fresh || '_pkey', own_partition || '_pkey'
    );
    EXECUTE format(
        'ALTER TABLE survey_answers ATTACH PARTITION %I FOR VALUES IN (%s)',
        own_partition, for_round
    );
END
$$
"""


def _fernet():
    keys = current_app.config.get("ENCRYPTION_KEYS")
    if not keys:
        raise RuntimeError(
            "an open survey round's answers are sealed to a key stored encrypted "
            "with ENCRYPTION_KEYS: run this migration with the app's configuration"
        )
    return MultiFernet([Fernet(key.strip().encode()) for key in keys])


def _context(round_id):
    return b"union survey answers, round %d" % round_id


def _pad(message):
    room = SEALED_SIZE - 2
    if len(message) > room:
        raise ValueError("an answer too long to seal")
    return len(message).to_bytes(2, "big") + message.ljust(room, b"\0")


def _unpad(padded):
    length = int.from_bytes(padded[:2], "big")
    return padded[2 : 2 + length]


def _postgresql():
    return op.get_bind().dialect.name == "postgresql"


def _schema():
    return op.get_bind().scalar(sa.text("SELECT quote_ident(current_schema())"))


def _open_rounds():
    return [
        int(round_id)
        for (round_id,) in op.get_bind().execute(
            sa.text("SELECT id FROM survey_rounds WHERE status = 'open' ORDER BY id")
        )
    ]


def _create_tables(postgresql):
    partitioned = {"postgresql_partition_by": "LIST (round_id)"} if postgresql else {}
    op.create_table('survey_round_keys',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('sealing_key', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_survey_round_keys_round_id_survey_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', name=op.f('pk_survey_round_keys')),
    **partitioned
    )
    op.create_table('survey_sealed_answers',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_survey_sealed_answers_round_id_survey_rounds'), ondelete='CASCADE'),
    **partitioned
    )
    if postgresql:
        op.execute("CREATE TABLE survey_round_keys_default PARTITION OF survey_round_keys DEFAULT")
        op.execute("CREATE TABLE survey_sealed_answers_default PARTITION OF survey_sealed_answers DEFAULT")


def _seal_open_round(round_id, fernet, postgresql):
    """Gives an open round its key, seals its answers in random order and drops
    the rows they were in."""
    bind = op.get_bind()
    if postgresql:
        for table in ("survey_sealed_answers", "survey_round_keys"):
            op.execute(
                f"CREATE TABLE {table}_round_{round_id} "
                f"PARTITION OF {table} FOR VALUES IN ({round_id})"
            )
    key = os.urandom(32)
    bind.execute(
        sa.text(
            "INSERT INTO survey_round_keys (round_id, sealing_key) "
            "VALUES (:round_id, :sealing_key)"
        ),
        {
            "round_id": round_id,
            "sealing_key": fernet.encrypt(base64.b64encode(key)).decode("ascii"),
        },
    )
    cipher = AESGCM(key)
    fields = ", ".join(PAYLOAD_FIELDS)
    rows = bind.execute(
        sa.text(f"SELECT {fields} FROM survey_answers WHERE round_id = :round_id"),  # noqa: S608
        {"round_id": round_id},
    ).all()
    boxes = []
    for row in rows:
        values = [1]
        for name, value in zip(PAYLOAD_FIELDS, row, strict=True):
            values.append(bool(value) if name in BOOLEANS and value is not None else value)
        message = json.dumps(values, separators=(",", ":")).encode("ascii")
        nonce = os.urandom(NONCE_BYTES)
        boxes.append(nonce + cipher.encrypt(nonce, _pad(message), _context(round_id)))
    secrets.SystemRandom().shuffle(boxes)
    if boxes:
        bind.execute(
            sa.text("INSERT INTO survey_sealed_answers (round_id, sealed) VALUES (:round_id, :sealed)"),
            [{"round_id": round_id, "sealed": box} for box in boxes],
        )
    own_partition = f"survey_answers_round_{round_id}"
    if postgresql and bind.scalar(sa.text("SELECT to_regclass(:name)"), {"name": own_partition}):
        op.execute(f"DROP TABLE {own_partition}")
        op.execute(
            f"CREATE TABLE {own_partition} PARTITION OF survey_answers "
            f"FOR VALUES IN ({round_id})"
        )
    else:
        bind.execute(
            sa.text("DELETE FROM survey_answers WHERE round_id = :round_id"),
            {"round_id": round_id},
        )


def _open_sealed_round(round_id, fernet):
    """Writes an open round's boxes back as answer rows, in random-id order."""
    bind = op.get_bind()
    key = bind.execute(
        sa.text("SELECT sealing_key FROM survey_round_keys WHERE round_id = :round_id"),
        {"round_id": round_id},
    ).one_or_none()
    boxes = bind.scalars(
        sa.text("SELECT sealed FROM survey_sealed_answers WHERE round_id = :round_id"),
        {"round_id": round_id},
    ).all()
    if not boxes:
        return
    if key is None:
        raise RuntimeError(f"survey round {round_id} has sealed answers and no key")
    cipher = AESGCM(base64.b64decode(fernet.decrypt(key.sealing_key.encode("ascii"))))
    rows = []
    for box in boxes:
        box = bytes(box)
        values = json.loads(
            _unpad(cipher.decrypt(box[:NONCE_BYTES], box[NONCE_BYTES:], _context(round_id)))
        )
        if values[0] != 1:
            raise RuntimeError(f"survey round {round_id} has a box of an unknown version")
        rows.append(
            {"id": secrets.token_hex(16), "round_id": round_id, **dict(zip(PAYLOAD_FIELDS, values[1:], strict=True))}
        )
    rows.sort(key=lambda row: row["id"])
    names = ", ".join(COLUMNS)
    marks = ", ".join(f":{name}" for name in COLUMNS)
    bind.execute(sa.text(f"INSERT INTO survey_answers ({names}) VALUES ({marks})"), rows)  # noqa: S608


def upgrade():
    postgresql = _postgresql()
    with op.batch_alter_table('survey_rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answers_band_low', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answers_band_high', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answers_counted_on', sa.Date(), nullable=True))
    _create_tables(postgresql)
    if postgresql:
        schema = _schema()
        op.execute(MAKE.replace("{schema}", schema))
        op.execute(BEGIN.replace("{schema}", schema))
        op.execute(REORDER.replace("{schema}", schema))
        op.execute(DROP_SEALED.replace("{schema}", schema))
        for function in ("union_begin_round_answers", "union_drop_sealed_answers"):
            op.execute(f"REVOKE ALL ON FUNCTION {function}(integer) FROM PUBLIC")
    open_rounds = _open_rounds()
    if open_rounds:
        fernet = _fernet()
        for round_id in open_rounds:
            _seal_open_round(round_id, fernet, postgresql)


def downgrade():
    postgresql = _postgresql()
    open_rounds = _open_rounds()
    if open_rounds:
        fernet = _fernet()
        for round_id in open_rounds:
            _open_sealed_round(round_id, fernet)
    if postgresql:
        schema = _schema()
        op.execute("DROP FUNCTION union_drop_sealed_answers(integer)")
        op.execute("DROP FUNCTION union_begin_round_answers(integer)")
        op.execute(OLD_MAKE.replace("{schema}", schema))
        op.execute(OLD_REORDER.replace("{schema}", schema))
    op.drop_table('survey_sealed_answers')
    op.drop_table('survey_round_keys')
    with op.batch_alter_table('survey_rounds', schema=None) as batch_op:
        batch_op.drop_column('answers_counted_on')
        batch_op.drop_column('answers_band_high')
        batch_op.drop_column('answers_band_low')
