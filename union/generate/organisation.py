"""Workplaces across a federation: agencies of very different sizes, their jobs and
their funding."""

from __future__ import annotations

from union import clock
from union.adapters.bulk import table
from union.generate import Context
from union.models import (
    BargainingStatus,
    FundingSource,
    JobClassification,
    Sector,
    Workplace,
    WorkplaceStatus,
    workplace_classifications,
)

JOBS = (
    "Community worker",
    "Coordinator",
    "Harm reduction worker",
    "Kit maker",
    "Outreach worker",
    "Peer worker",
    "Shelter worker",
    "Drop-in worker",
    "Overdose response worker",
    "Housing support worker",
    "Case worker",
    "Nurse",
)

#: The same titles in French, shown on French pages (a migration fills them in
#: for unions that already have these jobs).
JOB_NAMES_FR = {
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

PLACE_NAMES = (
    "Riverside", "Eastside", "Queen West", "Harbourfront", "Parkdale", "Northgate",
    "Lakeview", "Old Mill", "Cedar Hill", "Bayfront", "Southcore", "Maple Grove",
    "Stonebridge", "Westend", "Millbrook", "Fairview", "Highland", "Ravine",
    "Union Station", "Market Square", "Elmwood", "Birchmount", "Oakridge", "Pinecrest",
)  # fmt: skip
AGENCY_KINDS = {
    Sector.SUPERVISED_CONSUMPTION: "Community Health Centre",
    Sector.OUTREACH: "Harm Reduction Collective",
    Sector.DROP_IN: "Drop-In",
    Sector.SHELTER: "Shelter Network",
    Sector.PEER_PROGRAM: "Peer Works",
    Sector.HEALTH_CENTRE: "Health Services",
    Sector.HOUSING: "Housing Support",
    Sector.OTHER: "Community Services",
}
CITIES = (
    "Toronto", "Ottawa", "Hamilton", "Winnipeg", "Vancouver", "Halifax", "Montreal",
    "Calgary", "Edmonton", "Regina", "Saskatoon", "Victoria", "London", "Kingston",
    "Thunder Bay", "Sudbury", "St. John's", "Fredericton", "Charlottetown", "Whitehorse",
)  # fmt: skip
SITES = (
    "", "", "Supervised consumption site", "Street outreach", "Overnight program",
    "Kit making program", "Mobile van", "Drop-in", "Transitional housing",
)  # fmt: skip
FUNDERS = (
    ("Province", "Consumption and treatment services"),
    ("City", "Overdose prevention"),
    ("Federal substance use program", "Peer outreach"),
    ("United Way", "Drop-in meals and supplies"),
    ("Community foundation", "Peer employment"),
    ("Health authority", "Harm reduction supplies"),
)
BARGAINING = (
    (BargainingStatus.UNORGANIZED, 0.10),
    (BargainingStatus.ORGANIZING, 0.30),
    (BargainingStatus.RECOGNIZED, 0.15),
    (BargainingStatus.CERTIFIED, 0.15),
    (BargainingStatus.UNDER_CONTRACT, 0.30),
)


def workplaces(context: Context) -> None:
    rng, writer, now = context.rng, context.writer, context.now
    today = context.today
    count = context.scale.workplaces

    job_table = table(JobClassification)
    job_ids = list(writer.ids(job_table, len(JOBS)))
    writer.write(
        job_table,
        ("id", "name", "name_fr", "created_at"),
        [
            (job_id, name, JOB_NAMES_FR[name], now)
            for job_id, name in zip(job_ids, JOBS, strict=True)
        ],
    )

    places = table(Workplace)
    ids = list(writer.ids(places, count))
    sectors = list(AGENCY_KINDS)
    statuses = [status for status, _weight in BARGAINING]
    weights = [weight for _status, weight in BARGAINING]
    # A few big agencies and many small ones, as in the sector.
    sizes = [min(rng.paretovariate(1.3), 40.0) for _ in ids]
    rows = []
    for workplace_id, size in zip(ids, sizes, strict=True):
        sector = rng.choice(sectors)
        status = rng.choices(statuses, weights)[0]
        city = rng.choice(CITIES)
        site = rng.choice(SITES)
        contract = None
        if status is BargainingStatus.UNDER_CONTRACT:
            contract = clock.add_months(today, rng.randint(-2, 36))
        rows.append(
            (
                workplace_id,
                f"{rng.choice(PLACE_NAMES)} {AGENCY_KINDS[sector]}",
                f"{city} \u2013 {site}" if site else city,
                sector,
                status,
                contract,
                None if rng.random() < 0.1 else max(3, int(size * 12)),
                WorkplaceStatus.CONFIRMED
                if rng.random() > 0.01
                else WorkplaceStatus.PENDING,
                rng.random() > 0.05,
                now,
                now,
            )
        )
    writer.write(
        places,
        (
            "id",
            "employer",
            "site",
            "sector",
            "bargaining_status",
            "contract_expires_on",
            "estimated_headcount",
            "status",
            "listed_on_join",
            "created_at",
            "updated_at",
        ),
        rows,
    )
    context.workplace_ids = ids
    context.workplace_weights = sizes

    links: list[tuple[int, int]] = []
    for workplace_id in ids:
        chosen = rng.sample(job_ids, rng.randint(3, 6))
        context.classification_ids_by_workplace[workplace_id] = chosen
        links.extend((workplace_id, job_id) for job_id in chosen)
    writer.write(
        workplace_classifications, ("workplace_id", "classification_id"), links
    )

    funding_table = table(FundingSource)
    grants = []
    for workplace_id, size in zip(ids, sizes, strict=True):
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            funder, program = rng.choice(FUNDERS)
            ongoing = rng.random() < 0.3
            grants.append(
                (
                    workplace_id,
                    funder,
                    program,
                    int(size * rng.randint(20_000, 200_000)) * 100,
                    clock.add_months(today, -rng.randint(6, 36)),
                    None if ongoing else clock.add_months(today, rng.randint(-3, 30)),
                    max(1, int(size * rng.uniform(1, 6))),
                    now,
                )
            )
    funding_ids = writer.ids(funding_table, len(grants))
    writer.write(
        funding_table,
        (
            "id",
            "workplace_id",
            "funder",
            "program",
            "amount_cents",
            "starts_on",
            "ends_on",
            "positions_funded",
            "created_at",
        ),
        [
            (grant_id, *grant)
            for grant_id, grant in zip(funding_ids, grants, strict=True)
        ],
    )
    context.progress("workplaces", count, count)
