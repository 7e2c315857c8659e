"""Grievances: cases and their grievants, step records with deadlines, the
append-only timeline, confidential notes, documents, per-workplace step days,
reminders sent, and stewards' calendar feeds.

Revision ID: ce62bdbfc03c
Revises: b8ec91e94604
Create Date: 2026-11-22 02:26:12.748620

"""
from alembic import op
import sqlalchemy as sa


revision = 'ce62bdbfc03c'
down_revision = 'b8ec91e94604'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash')),
    sa.UniqueConstraint('user_id', name=op.f('uq_calendar_feeds_user_id'))
    )
    op.create_table('grievance_step_deadlines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workplace_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Enum('intake', 'step_1', 'step_2', 'arbitration', 'resolved', 'withdrawn', 'lost', name='grievancestep', native_enum=False, length=32), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('days > 0', name=op.f('ck_grievance_step_deadlines_days_positive')),
    sa.ForeignKeyConstraint(['workplace_id'], ['workplaces.id'], name=op.f('fk_grievance_step_deadlines_workplace_id_workplaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grievance_step_deadlines')),
    sa.UniqueConstraint('workplace_id', 'step', name=op.f('uq_grievance_step_deadlines_workplace_id_step'))
    )
    op.create_table('grievances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('workplace_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('wage_discrepancy', 'no_raise', 'benefits', 'time_off', 'social_assistance', 'lived_experience', 'precarious_funding', 'scheduling', 'health_safety', 'other', name='grievancecategory', native_enum=False, length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('what_happened', sa.Text(), nullable=False),
    sa.Column('remedy_sought', sa.Text(), nullable=False),
    sa.Column('incident_on', sa.Date(), nullable=True),
    sa.Column('steward_id', sa.Integer(), nullable=True),
    sa.Column('step', sa.Enum('intake', 'step_1', 'step_2', 'arbitration', 'resolved', 'withdrawn', 'lost', name='grievancestep', native_enum=False, length=32), nullable=False),
    sa.Column('deadline_on', sa.Date(), nullable=True),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('outcome', sa.Enum('won', 'partly_won', 'lost', 'withdrawn', name='grievanceoutcome', native_enum=False, length=32), nullable=True),
    sa.Column('money_recovered_cents', sa.BigInteger(), nullable=True),
    sa.Column('remedy_obtained', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('money_recovered_cents >= 0', name=op.f('ck_grievances_money_recovered_nonnegative')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_grievances_opened_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['steward_id'], ['users.id'], name=op.f('fk_grievances_steward_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workplace_id'], ['workplaces.id'], name=op.f('fk_grievances_workplace_id_workplaces')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grievances')),
    sa.UniqueConstraint('number', name=op.f('uq_grievances_number')),
    sa.UniqueConstraint('public_id', name=op.f('uq_grievances_public_id'))
    )
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grievances_step'), ['step'], unique=False)
        batch_op.create_index('ix_grievances_steward_deadline', ['steward_id', 'deadline_on'], unique=False)
        batch_op.create_index('ix_grievances_workplace_step', ['workplace_id', 'step'], unique=False)

    op.create_table('grievance_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grievance_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.CheckConstraint('size_bytes >= 0', name=op.f('ck_grievance_documents_size_nonnegative')),
    sa.ForeignKeyConstraint(['grievance_id'], ['grievances.id'], name=op.f('fk_grievance_documents_grievance_id_grievances'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_grievance_documents_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grievance_documents')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_grievance_documents_storage_key'))
    )
    with op.batch_alter_table('grievance_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grievance_documents_grievance_id'), ['grievance_id'], unique=False)

    op.create_table('grievance_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grievance_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('opened', 'moved', 'outcome_recorded', 'note_added', 'document_added', 'steward_reassigned', 'grievant_added', 'details_changed', name='grievanceeventkind', native_enum=False, length=32), nullable=False),
    sa.Column('step', sa.Enum('intake', 'step_1', 'step_2', 'arbitration', 'resolved', 'withdrawn', 'lost', name='grievancestep', native_enum=False, length=32), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_grievance_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['grievance_id'], ['grievances.id'], name=op.f('fk_grievance_events_grievance_id_grievances'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_grievance_events_member_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_grievance_events_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grievance_events'))
    )
    with op.batch_alter_table('grievance_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grievance_events_grievance_id'), ['grievance_id'], unique=False)

    op.create_table('grievance_grievants',
    sa.Column('grievance_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['grievance_id'], ['grievances.id'], name=op.f('fk_grievance_grievants_grievance_id_grievances'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_grievance_grievants_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('grievance_id', 'member_id', name=op.f('pk_grievance_grievants'))
    )
    with op.batch_alter_table('grievance_grievants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grievance_grievants_member_id'), ['member_id'], unique=False)

    op.create_table('grievance_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grievance_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_grievance_notes_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['grievance_id'], ['grievances.id'], name=op.f('fk_grievance_notes_grievance_id_grievances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grievance_notes'))
    )
    with op.batch_alter_table('grievance_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grievance_notes_grievance_id'), ['grievance_id'], unique=False)

    op.create_table('grievance_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grievance_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Enum('intake', 'step_1', 'step_2', 'arbitration', 'resolved', 'withdrawn', 'lost', name='grievancestep', native_enum=False, length=32), nullable=False),
    sa.Column('deadline_on', sa.Date(), nullable=False),
    sa.Column('days_before', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['grievance_id'], ['grievances.id'], name=op.f('fk_grievance_reminders_grievance_id_grievances'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_grievance_reminders_recipient_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grievance_reminders')),
    sa.UniqueConstraint('grievance_id', 'step', 'deadline_on', 'days_before', name=op.f('uq_grievance_reminders_grievance_id_step_deadline_on_days_before'))
    )
    op.create_table('grievance_step_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grievance_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Enum('intake', 'step_1', 'step_2', 'arbitration', 'resolved', 'withdrawn', 'lost', name='grievancestep', native_enum=False, length=32), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entered_on', sa.Date(), nullable=False),
    sa.Column('deadline_on', sa.Date(), nullable=True),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_grievance_step_records_entered_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['grievance_id'], ['grievances.id'], name=op.f('fk_grievance_step_records_grievance_id_grievances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grievance_step_records'))
    )
    with op.batch_alter_table('grievance_step_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grievance_step_records_grievance_id'), ['grievance_id'], unique=False)



def downgrade():
    with op.batch_alter_table('grievance_step_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grievance_step_records_grievance_id'))

    op.drop_table('grievance_step_records')
    op.drop_table('grievance_reminders')
    with op.batch_alter_table('grievance_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grievance_notes_grievance_id'))

    op.drop_table('grievance_notes')
    with op.batch_alter_table('grievance_grievants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grievance_grievants_member_id'))

    op.drop_table('grievance_grievants')
    with op.batch_alter_table('grievance_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grievance_events_grievance_id'))

    op.drop_table('grievance_events')
    with op.batch_alter_table('grievance_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grievance_documents_grievance_id'))

    op.drop_table('grievance_documents')
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.drop_index('ix_grievances_workplace_step')
        batch_op.drop_index('ix_grievances_steward_deadline')
        batch_op.drop_index(batch_op.f('ix_grievances_step'))

    op.drop_table('grievances')
    op.drop_table('grievance_step_deadlines')
    op.drop_table('calendar_feeds')
