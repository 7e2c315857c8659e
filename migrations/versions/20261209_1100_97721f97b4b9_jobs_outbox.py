"""The outbox of the job queue: work recorded in the same transaction as the
change it follows, run by the worker, retried with backoff and parked when it
keeps failing.

Revision ID: 97721f97b4b9
Revises: 0d0d00cbf4f4
Create Date: 2026-12-09 11:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '97721f97b4b9'
down_revision = '0d0d00cbf4f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('state', sa.Enum('waiting', 'running', 'done', 'parked', name='jobstate', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('run_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error_class', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('key', name=op.f('uq_jobs_key'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_state_run_after', ['state', 'run_after'], unique=False)



def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_state_run_after')

    op.drop_table('jobs')
