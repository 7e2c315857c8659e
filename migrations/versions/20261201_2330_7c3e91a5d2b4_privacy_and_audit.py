"""Append-only audit log (enforced by the database), correction requests and the
breach register.

The audit log's foreign key to users goes: an audit row keeps the id of whoever
acted even after their account is removed, and removing an account must not
rewrite audit rows (which the new triggers would refuse). Triggers on SQLite and
PostgreSQL then refuse every UPDATE of an audit row, and every DELETE except of rows
older than a cutoff the retention job has first recorded in audit_purges.

Revision ID: 7c3e91a5d2b4
Revises: 9a7c3e51d2b4
Create Date: 2026-12-01 23:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7c3e91a5d2b4'
down_revision = '9a7c3e51d2b4'
branch_labels = None
depends_on = None

APPEND_ONLY = "%s is append-only"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY % "audit_events"}'); END""",
    f"""CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    WHEN NOT EXISTS (SELECT 1 FROM audit_purges WHERE OLD.at < audit_purges.cutoff_at)
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY % "audit_events"}'); END""",
    f"""CREATE TRIGGER audit_purges_no_update BEFORE UPDATE ON audit_purges
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY % "audit_purges"}'); END""",
    f"""CREATE TRIGGER audit_purges_no_delete BEFORE DELETE ON audit_purges
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY % "audit_purges"}'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_events_no_update",
    "DROP TRIGGER IF EXISTS audit_events_no_delete",
    "DROP TRIGGER IF EXISTS audit_purges_no_update",
    "DROP TRIGGER IF EXISTS audit_purges_no_delete",
]

POSTGRESQL_TRIGGERS = [
    """CREATE FUNCTION audit_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND EXISTS (
            SELECT 1 FROM audit_purges WHERE OLD.at < audit_purges.cutoff_at
        ) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_events is append-only'
            USING ERRCODE = 'integrity_constraint_violation';
    END
    $$""",
    """CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END
    $$""",
    """CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()""",
    """CREATE TRIGGER audit_purges_append_only BEFORE UPDATE OR DELETE ON audit_purges
    FOR EACH ROW EXECUTE FUNCTION refuse_change()""",
    """CREATE TRIGGER audit_purges_no_truncate BEFORE TRUNCATE ON audit_purges
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()""",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    "DROP TRIGGER IF EXISTS audit_purges_append_only ON audit_purges",
    "DROP TRIGGER IF EXISTS audit_purges_no_truncate ON audit_purges",
    "DROP FUNCTION IF EXISTS audit_events_append_only()",
    "DROP FUNCTION IF EXISTS refuse_change()",
]


def upgrade():
    op.create_table('audit_purges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cutoff_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_purges'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint('fk_audit_events_actor_id_users', type_='foreignkey')
        batch_op.create_index('ix_audit_events_subject', ['subject_type', 'subject_id'], unique=False)

    op.create_table('correction_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('open', 'corrected', 'declined', name='correctionstatus', native_enum=False, length=32), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('response', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_correction_requests_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_correction_requests_resolved_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correction_requests'))
    )
    with op.batch_alter_table('correction_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_correction_requests_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_correction_requests_status'), ['status'], unique=False)

    op.create_table('breaches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=True),
    sa.Column('discovered_on', sa.Date(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('data_affected', sa.Text(), nullable=False),
    sa.Column('people_affected', sa.Integer(), nullable=False),
    sa.Column('real_risk_of_significant_harm', sa.Boolean(), nullable=False),
    sa.Column('individuals_notified_on', sa.Date(), nullable=True),
    sa.Column('commissioner_reported_on', sa.Date(), nullable=True),
    sa.Column('measures', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('people_affected >= 0', name=op.f('ck_breaches_people_nonnegative')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_breaches_recorded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breaches'))
    )

    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))

    # Last, after batch mode has rebuilt audit_events on SQLite (a rebuild would
    # drop triggers made before it).
    statements = (
        POSTGRESQL_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    )
    for statement in statements:
        op.execute(statement)


def downgrade():
    statements = (
        POSTGRESQL_DROP if op.get_bind().dialect.name == "postgresql" else SQLITE_DROP
    )
    for statement in statements:
        op.execute(statement)
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
    op.drop_table('breaches')
    with op.batch_alter_table('correction_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_correction_requests_status'))
        batch_op.drop_index(batch_op.f('ix_correction_requests_member_id'))
    op.drop_table('correction_requests')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_subject')
    # Rows whose actor no longer exists cannot keep a foreign key to them.
    op.execute(
        "UPDATE audit_events SET actor_id = NULL WHERE actor_id IS NOT NULL "
        "AND actor_id NOT IN (SELECT id FROM users)"
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_audit_events_actor_id_users', 'users', ['actor_id'], ['id'], ondelete='SET NULL')
    op.drop_table('audit_purges')
