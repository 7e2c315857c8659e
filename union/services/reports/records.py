"""Figures from the union's own records rather than the survey: grants ending soon
and membership density, read once when a round closes, as of its end. (Grievance
figures are the quarter's grievance release: union.services.grievance_releases.)"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa

from union.db import db
from union.models import (
    FundingSource,
    MemberStatus,
    Workplace,
    WorkplaceStatus,
)
from union.services.reports.artifact import (
    DensityRow,
    Funding,
    FundingRecord,
    Level,
    Place,
)
from union.services.workplaces import density, member_counts, precarious_until


def funding_by_place(closed_on: date) -> dict[Place, Funding]:
    """Grants ending within the precarity window after the round's end, for the
    union, each sector and each workplace: the workplaces' own funding records,
    which name funders and programs, never people."""
    found = db.session.execute(
        sa.select(FundingSource, Workplace.sector)
        .join(Workplace, Workplace.id == FundingSource.workplace_id)
        .where(
            FundingSource.ends_on.is_not(None),
            FundingSource.ends_on >= closed_on,
            FundingSource.ends_on <= precarious_until(closed_on),
        )
        .order_by(FundingSource.ends_on, FundingSource.id)
    ).all()
    by_place: dict[Place, Funding] = defaultdict(
        lambda: {"ending_soon": [], "positions_ending_soon": 0}
    )
    for funding, sector in found:
        record: FundingRecord = {
            "workplace_id": funding.workplace_id,
            "funder": funding.funder,
            "program": funding.program,
            "ends_on": funding.ends_on.isoformat() if funding.ends_on else None,
            "positions": funding.positions_funded,
        }
        for place in (
            Place(Level.UNION, ""),
            Place(Level.SECTOR, sector.value),
            Place(Level.WORKPLACE, str(funding.workplace_id)),
        ):
            by_place[place]["ending_soon"].append(record)
            by_place[place]["positions_ending_soon"] += funding.positions_funded
    return by_place


def density_rows(found: Sequence[Workplace]) -> list[DensityRow]:
    confirmed = [w for w in found if w.status is WorkplaceStatus.CONFIRMED]
    counts = member_counts([w.id for w in confirmed])
    rows: list[DensityRow] = []
    for workplace in confirmed:
        members = counts.get((workplace.id, MemberStatus.ACTIVE), 0)
        share = density(members, workplace.estimated_headcount)
        rows.append(
            {
                "workplace": workplace.name,
                "workplace_id": workplace.id,
                "sector": workplace.sector.value,
                "members": members,
                "headcount": workplace.estimated_headcount,
                "density_percent": None if share is None else round(100 * share),
            }
        )
    return rows
