"""Each member's arrears summary (first uncovered month, months covered after it) and
the indexes that let the arrears list read a page at federation scale; indexes the
organizers' grievance counts read instead of the cases themselves.

Revision ID: 9b3e5d7a1c42
Revises: 7c3e91a5d2b4
Create Date: 2026-12-01 23:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '9b3e5d7a1c42'
down_revision = '7c3e91a5d2b4'
branch_labels = None
depends_on = None

ARREARS_ORDERED = (
    "status IN ('active', 'lapsed') AND months_covered_later = 0 AND left_on IS NULL"
)
ARREARS_COUNTED = (
    "status IN ('active', 'lapsed') "
    "AND (months_covered_later > 0 OR left_on IS NOT NULL)"
)

# The unbroken run of covered months from joining: a month is in it when it is as
# many months after the joining month as there are covered months before it.
POSTGRESQL_BACKFILL = """
UPDATE members SET first_uncovered_month = date_trunc('month', joined_on)::date;
WITH numbered AS (
    SELECT c.member_id,
           (EXTRACT(YEAR FROM c.month) * 12 + EXTRACT(MONTH FROM c.month))
         - (EXTRACT(YEAR FROM m.joined_on) * 12 + EXTRACT(MONTH FROM m.joined_on))
         - (ROW_NUMBER() OVER (PARTITION BY c.member_id ORDER BY c.month) - 1) AS gap
    FROM dues_coverage c JOIN members m ON m.id = c.member_id
    WHERE c.month >= date_trunc('month', m.joined_on)::date
), runs AS (
    SELECT member_id, count(*) FILTER (WHERE gap = 0) AS run, count(*) AS covered
    FROM numbered GROUP BY member_id
)
UPDATE members
SET first_uncovered_month =
        (date_trunc('month', members.joined_on) + runs.run * interval '1 month')::date,
    months_covered_later = runs.covered - runs.run
FROM runs WHERE runs.member_id = members.id;
"""
SQLITE_BACKFILL = """
UPDATE members SET first_uncovered_month = date(joined_on, 'start of month');
WITH numbered AS (
    SELECT c.member_id,
           (CAST(strftime('%Y', c.month) AS INTEGER) * 12
            + CAST(strftime('%m', c.month) AS INTEGER))
         - (CAST(strftime('%Y', m.joined_on) AS INTEGER) * 12
            + CAST(strftime('%m', m.joined_on) AS INTEGER))
         - (ROW_NUMBER() OVER (PARTITION BY c.member_id ORDER BY c.month) - 1) AS gap
    FROM dues_coverage c JOIN members m ON m.id = c.member_id
    WHERE c.month >= date(m.joined_on, 'start of month')
), runs AS (
    SELECT member_id, SUM(gap = 0) AS run, COUNT(*) AS covered
    FROM numbered GROUP BY member_id
)
UPDATE members
SET first_uncovered_month =
        date(members.joined_on, 'start of month', '+' || runs.run || ' months'),
    months_covered_later = runs.covered - runs.run
FROM runs WHERE runs.member_id = members.id;
"""


def upgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_uncovered_month', sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column('months_covered_later', sa.Integer(), nullable=False,
                      server_default='0')
        )

    backfill = (
        POSTGRESQL_BACKFILL if op.get_bind().dialect.name == 'postgresql'
        else SQLITE_BACKFILL
    )
    for statement in backfill.split(';'):
        if statement.strip():
            op.execute(statement)

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.alter_column('first_uncovered_month', existing_type=sa.Date(),
                              nullable=False)
        batch_op.alter_column('months_covered_later', existing_type=sa.Integer(),
                              server_default=None)
        batch_op.create_index(
            'ix_members_arrears', ['first_uncovered_month', 'member_number'],
            unique=False,
            postgresql_where=sa.text(ARREARS_ORDERED),
            sqlite_where=sa.text(ARREARS_ORDERED),
        )
        batch_op.create_index(
            'ix_members_arrears_counted', ['member_number'], unique=False,
            postgresql_where=sa.text(ARREARS_COUNTED),
            sqlite_where=sa.text(ARREARS_COUNTED),
        )


    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.create_index(
            'ix_grievances_counts',
            ['category', 'step', 'outcome', 'money_recovered_cents'], unique=False,
        )
        batch_op.create_index(
            'ix_grievances_workplace_counts',
            ['workplace_id', 'closed_on', 'money_recovered_cents'], unique=False,
        )

    with op.batch_alter_table('dues_subscriptions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_dues_subscriptions_retrying', ['member_id'], unique=False,
            postgresql_where=sa.text("status = 'past_due'"),
            sqlite_where=sa.text("status = 'past_due'"),
        )


def downgrade():
    with op.batch_alter_table('dues_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_dues_subscriptions_retrying')

    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.drop_index('ix_grievances_workplace_counts')
        batch_op.drop_index('ix_grievances_counts')

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_arrears_counted')
        batch_op.drop_index('ix_members_arrears')
        batch_op.drop_column('months_covered_later')
        batch_op.drop_column('first_uncovered_month')
