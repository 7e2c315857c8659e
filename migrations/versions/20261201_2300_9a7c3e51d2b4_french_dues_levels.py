"""Dues levels get their name and bracket in French too; the default IWW levels
are filled in, and a treasurer can change or add them.

Revision ID: 9a7c3e51d2b4
Revises: 4f1d2a7c9e10
Create Date: 2026-12-01 23:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '9a7c3e51d2b4'
down_revision = '4f1d2a7c9e10'
branch_labels = None
depends_on = None

FRENCH = {
    "sub_minimum": (
        "Tarif réduit",
        "Sans emploi, sous-employé·e, aux études ou à court d'argent",
    ),
    "minimum": ("Minimum", "Moins de 2\u00a0000\u00a0$ par mois"),
    "regular": ("Régulier", "De 2\u00a0000\u00a0$ à 3\u00a0500\u00a0$ par mois"),
    "high": ("Élevé", "Plus de 3\u00a0500\u00a0$ par mois"),
}


def upgrade():
    with op.batch_alter_table("dues_levels") as batch_op:
        batch_op.add_column(sa.Column("name_fr", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("bracket_fr", sa.String(length=200), nullable=True))
    levels = sa.table(
        "dues_levels",
        sa.column("code", sa.String),
        sa.column("name_fr", sa.String),
        sa.column("bracket_fr", sa.String),
    )
    for code, (name, bracket) in FRENCH.items():
        op.execute(
            levels.update()
            .where(levels.c.code == code)
            .values(name_fr=name, bracket_fr=bracket)
        )


def downgrade():
    with op.batch_alter_table("dues_levels") as batch_op:
        batch_op.drop_column("bracket_fr")
        batch_op.drop_column("name_fr")
