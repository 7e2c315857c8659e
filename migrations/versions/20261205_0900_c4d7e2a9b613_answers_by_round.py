"""On PostgreSQL, each round's survey answers live in a partition of their own, so
that closing a round can put a reordered copy in its place and drop the original
file whole, rather than rewriting rows and leaving the old ones behind. The answers'
primary key leads with the round, which also serves looking a round's answers up.

Revision ID: c4d7e2a9b613
Revises: 5e2c8a7b4d19
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4d7e2a9b613'
down_revision = '5e2c8a7b4d19'
branch_labels = None
depends_on = None

COLUMNS = (
    "id, round_id, workplace_id, classification_id, employment_type, "
    "hourly_wage_cents, weekly_hours, health_benefits, dental_benefits, "
    "paid_sick_days, vacation_days, months_since_raise, never_had_raise, "
    "grant_funded, relies_on_social_assistance, discrimination_lived_experience"
)


def _create_answers(primary_key, **options):
    op.create_table('survey_answers',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('workplace_id', sa.Integer(), nullable=False),
    sa.Column('classification_id', sa.Integer(), nullable=False),
    sa.Column('employment_type', sa.Enum('permanent_full_time', 'permanent_part_time', 'casual', 'temporary', name='employmenttype', native_enum=False, length=32), nullable=True),
    sa.Column('hourly_wage_cents', sa.Integer(), nullable=True),
    sa.Column('weekly_hours', sa.Integer(), nullable=True),
    sa.Column('health_benefits', sa.Boolean(), nullable=True),
    sa.Column('dental_benefits', sa.Boolean(), nullable=True),
    sa.Column('paid_sick_days', sa.Integer(), nullable=True),
    sa.Column('vacation_days', sa.Integer(), nullable=True),
    sa.Column('months_since_raise', sa.Integer(), nullable=True),
    sa.Column('never_had_raise', sa.Boolean(), nullable=True),
    sa.Column('grant_funded', sa.Enum('yes', 'no', 'not_sure', name='yesnounsure', native_enum=False, length=32), nullable=True),
    sa.Column('relies_on_social_assistance', sa.Boolean(), nullable=True),
    sa.Column('discrimination_lived_experience', sa.Boolean(), nullable=True),
    sa.CheckConstraint('hourly_wage_cents IS NULL OR hourly_wage_cents BETWEEN 500 AND 20000', name=op.f('ck_survey_answers_wage_plausible')),
    sa.CheckConstraint('months_since_raise IS NULL OR months_since_raise BETWEEN 0 AND 600', name=op.f('ck_survey_answers_months_since_raise_plausible')),
    sa.CheckConstraint('paid_sick_days IS NULL OR paid_sick_days BETWEEN 0 AND 60', name=op.f('ck_survey_answers_sick_days_plausible')),
    sa.CheckConstraint('vacation_days IS NULL OR vacation_days BETWEEN 0 AND 60', name=op.f('ck_survey_answers_vacation_days_plausible')),
    sa.CheckConstraint('weekly_hours IS NULL OR weekly_hours BETWEEN 1 AND 80', name=op.f('ck_survey_answers_hours_plausible')),
    sa.ForeignKeyConstraint(['classification_id'], ['job_classifications.id'], name=op.f('fk_survey_answers_classification_id_job_classifications')),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_survey_answers_round_id_survey_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workplace_id'], ['workplaces.id'], name=op.f('fk_survey_answers_workplace_id_workplaces')),
    sa.PrimaryKeyConstraint(*primary_key, name=op.f('pk_survey_answers')),
    **options
    )


def _set_aside_answers():
    op.execute("ALTER TABLE survey_answers RENAME TO survey_answers_before")
    op.execute(
        "ALTER TABLE survey_answers_before "
        "RENAME CONSTRAINT pk_survey_answers TO pk_survey_answers_before"
    )


def _copy_back():
    op.execute(
        f"INSERT INTO survey_answers ({COLUMNS}) SELECT {COLUMNS} "  # noqa: S608
        'FROM survey_answers_before ORDER BY round_id, id COLLATE "C"'
    )
    op.execute("DROP TABLE survey_answers_before")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table('survey_answers', recreate='always') as batch_op:
            batch_op.drop_index('ix_survey_answers_round_id')
            batch_op.drop_constraint('pk_survey_answers', type_='primary')
            batch_op.create_primary_key('pk_survey_answers', ['round_id', 'id'])
        return
    op.execute("DROP INDEX ix_survey_answers_round_id")
    _set_aside_answers()
    _create_answers(('round_id', 'id'), postgresql_partition_by='LIST (round_id)')
    op.execute("CREATE TABLE survey_answers_default PARTITION OF survey_answers DEFAULT")
    for (round_id,) in op.get_bind().execute(sa.text("SELECT id FROM survey_rounds")):
        op.execute(
            f"CREATE TABLE survey_answers_round_{int(round_id)} "
            f"PARTITION OF survey_answers FOR VALUES IN ({int(round_id)})"
        )
    _copy_back()


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table('survey_answers', recreate='always') as batch_op:
            batch_op.drop_constraint('pk_survey_answers', type_='primary')
            batch_op.create_primary_key('pk_survey_answers', ['id'])
            batch_op.create_index('ix_survey_answers_round_id', ['round_id'], unique=False)
        return
    _set_aside_answers()
    _create_answers(('id',))
    op.create_index('ix_survey_answers_round_id', 'survey_answers', ['round_id'], unique=False)
    _copy_back()
