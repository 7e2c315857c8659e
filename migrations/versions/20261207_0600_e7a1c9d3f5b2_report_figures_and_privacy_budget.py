"""Published figures and the privacy budget: what the reports have published
exactly (and over how many answers), so later rounds are checked against every
earlier one, and what each noisy release spent.

Revision ID: e7a1c9d3f5b2
Revises: 684047247ed8
Create Date: 2026-12-07 06:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e7a1c9d3f5b2'
down_revision = '684047247ed8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'published_figures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('figure', sa.String(length=60), nullable=False),
        sa.Column('level', sa.String(length=20), nullable=False),
        sa.Column('scope', sa.String(length=40), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['round_id'], ['survey_rounds.id'],
            name=op.f('fk_published_figures_round_id_survey_rounds'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_published_figures')),
        sa.UniqueConstraint(
            'round_id', 'figure', 'level', 'scope',
            name=op.f('uq_published_figures_round_id_figure_level_scope'),
        ),
    )
    with op.batch_alter_table('published_figures', schema=None) as batch_op:
        batch_op.create_index(
            'ix_published_figures_figure', ['figure', 'level', 'scope'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_published_figures_round_id'), ['round_id'], unique=False
        )
    op.create_table(
        'privacy_spends',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('question', sa.String(length=60), nullable=False),
        sa.Column('released_on', sa.Date(), nullable=False),
        sa.Column('epsilon_thousandths', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['round_id'], ['survey_rounds.id'],
            name=op.f('fk_privacy_spends_round_id_survey_rounds'),
            ondelete='RESTRICT',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_spends')),
        sa.UniqueConstraint(
            'round_id', 'question', name=op.f('uq_privacy_spends_round_id_question')
        ),
    )
    with op.batch_alter_table('privacy_spends', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_privacy_spends_released_on'), ['released_on'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_privacy_spends_round_id'), ['round_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('privacy_spends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_spends_round_id'))
        batch_op.drop_index(batch_op.f('ix_privacy_spends_released_on'))
    op.drop_table('privacy_spends')
    with op.batch_alter_table('published_figures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_published_figures_round_id'))
        batch_op.drop_index('ix_published_figures_figure')
    op.drop_table('published_figures')
