"""Job titles get a French name too, shown on French pages; the titles the demo
and the data generator use are filled in, and organizers add others with a job.

Revision ID: cdf5e994bcef
Revises: 2c2a708e0075
Create Date: 2026-12-09 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'cdf5e994bcef'
down_revision = '2c2a708e0075'
branch_labels = None
depends_on = None

FRENCH = {
    "Community worker": "Intervenant·e communautaire",
    "Coordinator": "Coordonnateur·rice",
    "Harm reduction worker": "Intervenant·e en réduction des méfaits",
    "Kit maker": "Préparateur·rice de trousses",
    "Outreach worker": "Travailleur·se de proximité",
    "Peer worker": "Pair·e aidant·e",
    "Shelter worker": "Intervenant·e en refuge",
    "Drop-in worker": "Intervenant·e en centre de jour",
    "Overdose response worker": "Intervenant·e en prévention des surdoses",
    "Housing support worker": "Intervenant·e en soutien au logement",
    "Case worker": "Intervenant·e de suivi",
    "Nurse": "Infirmier·ère",
}


def upgrade():
    with op.batch_alter_table("job_classifications") as batch_op:
        batch_op.add_column(sa.Column("name_fr", sa.String(length=80), nullable=True))
    jobs = sa.table(
        "job_classifications",
        sa.column("name", sa.String),
        sa.column("name_fr", sa.String),
    )
    for name, french in FRENCH.items():
        op.execute(
            jobs.update()
            .where(jobs.c.name == name, jobs.c.name_fr.is_(None))
            .values(name_fr=french)
        )


def downgrade():
    with op.batch_alter_table("job_classifications") as batch_op:
        batch_op.drop_column("name_fr")
