"""Grievance releases: the grievance figures of each closed calendar quarter,
computed once and kept as they were published, for the organizers' grievance
page and the survey reports alike; with the size of the group behind each
exactly published figure (never shown), so later quarters are checked against it.

Revision ID: f3b6a2c8d9e1
Revises: a1d3da1a3a0b
Create Date: 2026-12-07 08:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f3b6a2c8d9e1'
down_revision = 'a1d3da1a3a0b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'grievance_releases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('quarter_start', sa.Date(), nullable=False),
        sa.Column('quarter_end', sa.Date(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('sizes', sa.Text(), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_grievance_releases')),
        sa.UniqueConstraint(
            'quarter_start', name=op.f('uq_grievance_releases_quarter_start')
        ),
    )


def downgrade():
    op.drop_table('grievance_releases')
