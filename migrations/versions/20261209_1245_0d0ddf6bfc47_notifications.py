"""Notifications: what each person has been told (in the app, with email as
they choose) and their email choices. Rows keep values, never words, so the
words are written in the reader's language when read; a unique key per kind,
event and person keeps an action done twice from telling anyone twice.

Revision ID: 0d0ddf6bfc47
Revises: 6e187ea37993
Create Date: 2026-12-09 12:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0d0ddf6bfc47'
down_revision = '6e187ea37993'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('applicant_waiting', 'application_accepted', 'application_declined', 'grievance_opened', 'grievance_moved', 'grievance_closed', 'waiver_decided', 'survey_opened', 'payment_received', name='notificationkind', native_enum=False, length=32), nullable=False),
    sa.Column('email', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_choices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_choices')),
    sa.UniqueConstraint('user_id', 'kind', name=op.f('uq_notification_choices_user_id_kind'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('applicant_waiting', 'application_accepted', 'application_declined', 'grievance_opened', 'grievance_moved', 'grievance_closed', 'waiver_decided', 'survey_opened', 'payment_received', name='notificationkind', native_enum=False, length=32), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('key', name=op.f('uq_notifications_key'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_created', ['user_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_notifications_user_unread', ['user_id', 'read_at'], unique=False)



def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_unread')
        batch_op.drop_index('ix_notifications_user_created')

    op.drop_table('notifications')
    op.drop_table('notification_choices')
