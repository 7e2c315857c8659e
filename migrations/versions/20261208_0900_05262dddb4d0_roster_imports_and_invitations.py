"""Roster imports and invitations: each imported file is remembered with the
members it added, and an account records when an admin's invitation to set it
up was emailed, so that everyone a file added can be invited together, once.

Members imported before this have no import and are not invited by it.

Revision ID: 05262dddb4d0
Revises: 5b9af361e17f
Create Date: 2026-12-08 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '05262dddb4d0'
down_revision = '5b9af361e17f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'roster_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('imported_by_id', sa.Integer(), nullable=True),
        sa.Column('members_added', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['imported_by_id'],
            ['users.id'],
            name=op.f('fk_roster_imports_imported_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_imports')),
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roster_import_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_members_roster_import_id'), ['roster_import_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_members_roster_import_id_roster_imports'), 'roster_imports', ['roster_import_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invited_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('invited_at')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_members_roster_import_id_roster_imports'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_members_roster_import_id'))
        batch_op.drop_column('roster_import_id')
    op.drop_table('roster_imports')
