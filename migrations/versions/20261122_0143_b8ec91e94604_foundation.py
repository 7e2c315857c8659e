"""Foundation: accounts and roles, members, workplaces, dues levels, audit log.

Also seeds the default dues levels (the IWW North American schedule, in CAD) and
the member number sequence.

Revision ID: b8ec91e94604
Revises: 
Create Date: 2026-11-22 01:43:50.826046

"""
from datetime import date, datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = 'b8ec91e94604'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('counters',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_counters'))
    )
    op.create_table('dues_levels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('bracket', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('retired_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dues_levels')),
    sa.UniqueConstraint('code', name=op.f('uq_dues_levels_code'))
    )
    op.create_table('job_classifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_classifications')),
    sa.UniqueConstraint('name', name=op.f('uq_job_classifications_name'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('workplaces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employer', sa.String(length=200), nullable=False),
    sa.Column('site', sa.String(length=200), nullable=False),
    sa.Column('sector', sa.Enum('supervised_consumption', 'outreach', 'drop_in', 'shelter', 'peer_program', 'health_centre', 'housing', 'other', name='sector', native_enum=False, length=32), nullable=False),
    sa.Column('bargaining_status', sa.Enum('unorganized', 'organizing', 'recognized', 'certified', 'under_contract', name='bargainingstatus', native_enum=False, length=32), nullable=False),
    sa.Column('contract_expires_on', sa.Date(), nullable=True),
    sa.Column('estimated_headcount', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'confirmed', name='workplacestatus', native_enum=False, length=32), nullable=False),
    sa.Column('listed_on_join', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workplaces'))
    )
    op.create_table('account_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Enum('activate', 'reset', name='tokenpurpose', native_enum=False, length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_account_tokens_token_hash'))
    )
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=True),
    sa.Column('subject_id', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)

    op.create_table('dues_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('level_id', sa.Integer(), nullable=False),
    sa.Column('monthly_cents', sa.Integer(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('monthly_cents > 0', name=op.f('ck_dues_rates_monthly_positive')),
    sa.ForeignKeyConstraint(['level_id'], ['dues_levels.id'], name=op.f('fk_dues_rates_level_id_dues_levels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dues_rates')),
    sa.UniqueConstraint('level_id', 'effective_on', name=op.f('uq_dues_rates_level_id_effective_on'))
    )
    op.create_table('funding_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workplace_id', sa.Integer(), nullable=False),
    sa.Column('funder', sa.String(length=200), nullable=False),
    sa.Column('program', sa.String(length=200), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('positions_funded', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_funding_sources_amount_nonnegative')),
    sa.CheckConstraint('positions_funded >= 0', name=op.f('ck_funding_sources_positions_nonnegative')),
    sa.ForeignKeyConstraint(['workplace_id'], ['workplaces.id'], name=op.f('fk_funding_sources_workplace_id_workplaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funding_sources'))
    )
    with op.batch_alter_table('funding_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_sources_workplace_id'), ['workplace_id'], unique=False)

    op.create_table('login_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('authenticated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_login_sessions_token_hash'))
    )
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('member_number', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('chosen_name', sa.String(length=100), nullable=False),
    sa.Column('legal_name', sa.String(length=200), nullable=True),
    sa.Column('pronouns', sa.String(length=40), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('contact_preference', sa.Enum('email', 'text', 'phone', 'in_person', name='contactpreference', native_enum=False, length=32), nullable=False),
    sa.Column('membership_class', sa.Enum('employed', 'unemployed', 'student', name='membershipclass', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('applicant', 'active', 'lapsed', 'resigned', name='memberstatus', native_enum=False, length=32), nullable=False),
    sa.Column('dues_level_id', sa.Integer(), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], name=op.f('fk_members_accepted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['dues_level_id'], ['dues_levels.id'], name=op.f('fk_members_dues_level_id_dues_levels')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_members_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('member_number', name=op.f('uq_members_member_number')),
    sa.UniqueConstraint('public_id', name=op.f('uq_members_public_id')),
    sa.UniqueConstraint('user_id', name=op.f('uq_members_user_id'))
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_members_status'), ['status'], unique=False)

    op.create_table('role_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('member', 'steward', 'organizer', 'treasurer', 'admin', name='role', native_enum=False, length=32), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], name=op.f('fk_role_grants_granted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_role_grants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_grants')),
    sa.UniqueConstraint('user_id', 'role', name=op.f('uq_role_grants_user_id_role'))
    )
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_grants_user_id'), ['user_id'], unique=False)

    op.create_table('settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_settings_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_settings'))
    )
    op.create_table('steward_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('workplace_id', sa.Integer(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_steward_assignments_assigned_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_steward_assignments_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workplace_id'], ['workplaces.id'], name=op.f('fk_steward_assignments_workplace_id_workplaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_steward_assignments')),
    sa.UniqueConstraint('user_id', 'workplace_id', name=op.f('uq_steward_assignments_user_id_workplace_id'))
    )
    with op.batch_alter_table('steward_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_steward_assignments_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_steward_assignments_workplace_id'), ['workplace_id'], unique=False)

    op.create_table('workplace_classifications',
    sa.Column('workplace_id', sa.Integer(), nullable=False),
    sa.Column('classification_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['classification_id'], ['job_classifications.id'], name=op.f('fk_workplace_classifications_classification_id_job_classifications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workplace_id'], ['workplaces.id'], name=op.f('fk_workplace_classifications_workplace_id_workplaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workplace_id', 'classification_id', name=op.f('pk_workplace_classifications'))
    )
    op.create_table('employments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('workplace_id', sa.Integer(), nullable=False),
    sa.Column('classification_id', sa.Integer(), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['classification_id'], ['job_classifications.id'], name=op.f('fk_employments_classification_id_job_classifications')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_employments_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workplace_id'], ['workplaces.id'], name=op.f('fk_employments_workplace_id_workplaces')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employments'))
    )
    with op.batch_alter_table('employments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employments_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_employments_workplace_current', ['workplace_id', 'ended_on'], unique=False)

    created = datetime(2026, 1, 1, tzinfo=timezone.utc)
    levels = sa.table(
        "dues_levels",
        sa.column("id", sa.Integer),
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("bracket", sa.String),
        sa.column("position", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    rates = sa.table(
        "dues_rates",
        sa.column("level_id", sa.Integer),
        sa.column("monthly_cents", sa.Integer),
        sa.column("effective_on", sa.Date),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    schedule = [
        (1, "sub_minimum", "Sub-minimum",
         "Unemployed, underemployed, a student, or otherwise short of money", 600),
        (2, "minimum", "Minimum", "Under $2,000 a month", 1100),
        (3, "regular", "Regular", "$2,000 to $3,500 a month", 2200),
        (4, "high", "High", "Over $3,500 a month", 3300),
    ]
    op.bulk_insert(
        levels,
        [
            {"id": id_, "code": code, "name": name, "bracket": bracket,
             "position": id_, "created_at": created}
            for id_, code, name, bracket, _ in schedule
        ],
    )
    op.bulk_insert(
        rates,
        [
            {"level_id": id_, "monthly_cents": cents,
             "effective_on": date(2000, 1, 1), "created_at": created}
            for id_, _, _, _, cents in schedule
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('dues_levels', 'id'), 4)")
    op.bulk_insert(
        sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.Integer)),
        [{"name": "member_number", "value": 1000}],
    )


def downgrade():
    with op.batch_alter_table('employments', schema=None) as batch_op:
        batch_op.drop_index('ix_employments_workplace_current')
        batch_op.drop_index(batch_op.f('ix_employments_member_id'))

    op.drop_table('employments')
    op.drop_table('workplace_classifications')
    with op.batch_alter_table('steward_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_steward_assignments_workplace_id'))
        batch_op.drop_index(batch_op.f('ix_steward_assignments_user_id'))

    op.drop_table('steward_assignments')
    op.drop_table('settings')
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_grants_user_id'))

    op.drop_table('role_grants')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_members_status'))

    op.drop_table('members')
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_sessions_user_id'))

    op.drop_table('login_sessions')
    with op.batch_alter_table('funding_sources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funding_sources_workplace_id'))

    op.drop_table('funding_sources')
    op.drop_table('dues_rates')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_id'))

    op.drop_table('audit_events')
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_tokens_user_id'))

    op.drop_table('account_tokens')
    op.drop_table('workplaces')
    op.drop_table('users')
    op.drop_table('job_classifications')
    op.drop_table('dues_levels')
    op.drop_table('counters')
