"""Messages to members with their consent: what an organizer or admin wrote to a
segment, one delivery row per recipient (marked sent one by one, so a batch run
again never sends twice), consent per member and channel, and the keyed hashes
of unsubscribed contacts, which outlive erasure so an erased member is never
written to again.

Revision ID: 4f36fd155be9
Revises: 0d0ddf6bfc47
Create Date: 2026-12-09 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '4f36fd155be9'
down_revision = '0d0ddf6bfc47'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('unsubscribed_contacts',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_unsubscribed_contacts'))
    )
    op.create_table('member_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('segment_kind', sa.Enum('workplace', 'sector', 'good_standing', 'everyone', name='segmentkind', native_enum=False, length=32), nullable=False),
    sa.Column('segment_value', sa.String(length=64), nullable=False),
    sa.Column('draft_key', sa.String(length=64), nullable=True),
    sa.Column('subject_en', sa.String(length=150), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('subject_fr', sa.String(length=150), nullable=True),
    sa.Column('body_fr', sa.Text(), nullable=True),
    sa.Column('state', sa.Enum('draft', 'sending', 'paused', 'sent', name='messagestate', native_enum=False, length=32), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_member_messages_author_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_messages')),
    sa.UniqueConstraint('draft_key', name=op.f('uq_member_messages_draft_key'))
    )
    op.create_table('message_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('email', 'text', 'in_person', name='channel', native_enum=False, length=32), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.Enum('joining_form', 'profile', 'unsubscribe_link', 'admin', name='consentsource', native_enum=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_message_consents_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_consents')),
    sa.UniqueConstraint('member_id', 'channel', name=op.f('uq_message_consents_member_id_channel'))
    )
    op.create_table('message_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('email', 'text', 'in_person', name='channel', native_enum=False, length=32), nullable=False),
    sa.Column('state', sa.Enum('queued', 'sent', 'skipped', 'failed', name='deliverystate', native_enum=False, length=32), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_message_deliveries_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['member_messages.id'], name=op.f('fk_message_deliveries_message_id_member_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_deliveries')),
    sa.UniqueConstraint('message_id', 'member_id', name=op.f('uq_message_deliveries_message_id_member_id'))
    )
    with op.batch_alter_table('message_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_message_deliveries_member', ['member_id', 'channel', 'state'], unique=False)
        batch_op.create_index('ix_message_deliveries_progress', ['message_id', 'state', 'channel'], unique=False)


def downgrade():
    with op.batch_alter_table('message_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_message_deliveries_progress')
        batch_op.drop_index('ix_message_deliveries_member')

    op.drop_table('message_deliveries')
    op.drop_table('message_consents')
    op.drop_table('member_messages')
    op.drop_table('unsubscribed_contacts')
