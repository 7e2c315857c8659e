"""Two PostgreSQL functions that make a round's partition of the survey answers and
replace it with a reordered copy when the round closes. They run with the rights of
the tables' owner (SECURITY DEFINER), so the app itself still needs no more than
SELECT, INSERT, UPDATE and DELETE on its tables, plus EXECUTE on these two.

Revision ID: d5e8f3b0a724
Revises: c4d7e2a9b613
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd5e8f3b0a724'
down_revision = 'c4d7e2a9b613'
branch_labels = None
depends_on = None

MAKE = """
CREATE FUNCTION union_make_answer_partition(for_round integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
BEGIN
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF survey_answers FOR VALUES IN (%s)',
        'survey_answers_round_' || for_round, for_round
    );
END
$$
"""

# The new table is filled in primary-key order (round, then random id), which the
# old partition's index gives without a sort, and keyed before it is attached, so
# attaching checks the foreign keys once each instead of row by row. Dropping the
# old partition removes the table the answers were written into, in their order.
# A round without its own partition has its answers in the default one: they are
# deleted there instead.
REORDER = """
CREATE FUNCTION union_reorder_round_answers(for_round integer) RETURNS void
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

FUNCTIONS = (
    "union_make_answer_partition(integer)",
    "union_reorder_round_answers(integer)",
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # The app's own schema first, pg_temp last: nothing a caller puts on its
    # search path is found before the tables these functions mean.
    schema = op.get_bind().scalar(sa.text("SELECT quote_ident(current_schema())"))
    op.execute(MAKE.replace("{schema}", schema))
    op.execute(REORDER.replace("{schema}", schema))
    for function in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
