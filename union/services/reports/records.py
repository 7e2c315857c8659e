"""Figures from the union's own records rather than the survey: grievances, grants
ending soon, membership density. Read once when a round closes, as of its end."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa

from union.db import db
from union.models import (
    FundingSource,
    Grievance,
    GrievanceCategory,
    MemberStatus,
    Workplace,
    WorkplaceStatus,
)
from union.rules import disclosure
from union.rules.disclosure import Equation, Rules
from union.services.reports.artifact import (
    CellStatus,
    DensityRow,
    Funding,
    FundingRecord,
    GrievanceTable,
    Level,
    MoneyCell,
    MoneyRow,
    Place,
    cell,
)
from union.services.workplaces import density, member_counts, precarious_until

GRIEVANCE_STATES = ("open", "won", "partly_won", "lost", "withdrawn")
ALL = "all"


def grievance_table(closed_on: date, rules: Rules) -> GrievanceTable:
    """Grievances opened by the end of the round, union-wide, by kind and where
    they stand, protected as one table with its margins. Published union-wide only:
    per sector or workplace, small counts could point at the people who filed."""
    counts, money = _grievance_counts(closed_on)
    categories = [c.value for c in GrievanceCategory]
    equations = [
        *(
            Equation((c, ALL), tuple((c, s) for s in GRIEVANCE_STATES))
            for c in [*categories, ALL]
        ),
        *(
            Equation((ALL, s), tuple((c, s) for c in categories))
            for s in [*GRIEVANCE_STATES, ALL]
        ),
    ]
    statuses = disclosure.protect_counts(counts, equations, rules)
    protected = disclosure.protect_money(
        {c: (money[c][0], money[c][1]) for c in categories if money[c][0]}
    )
    return {
        "states": list(GRIEVANCE_STATES),
        "rows": [
            {
                "category": c,
                "cells": [
                    cell(counts[(c, s)], statuses[(c, s)])
                    for s in [*GRIEVANCE_STATES, ALL]
                ],
            }
            for c in [*categories, ALL]
        ],
        "money": [_money_row(c, cents) for c, cents in protected.by_key.items()],
        "total_money": _money_cell(protected.total),
    }


def _money_cell(cents: int | None) -> MoneyCell:
    if cents is None:
        return {"s": CellStatus.TOO_FEW_CASES}
    return {"money": cents}


def _money_row(category: str, cents: int | None) -> MoneyRow:
    if cents is None:
        return {"category": category, "s": CellStatus.TOO_FEW_CASES}
    return {"category": category, "money": cents}


def _grievance_counts(
    closed_on: date,
) -> tuple[dict[Any, int], dict[str, list[int]]]:
    """Cases by (kind, state) with the margins, all zero to start; and per kind,
    [cases that recovered money, cents recovered]."""
    state = sa.case(
        (Grievance.closed_on.is_(None), "open"),
        else_=sa.func.coalesce(Grievance.outcome, "withdrawn"),
    )
    grouped = db.session.execute(
        sa.select(
            Grievance.category,
            state,
            sa.func.count(),
            sa.func.count(sa.case((Grievance.money_recovered_cents > 0, 1))),
            sa.func.coalesce(sa.func.sum(Grievance.money_recovered_cents), 0),
        )
        .where(Grievance.opened_on <= closed_on)
        .group_by(Grievance.category, state)
    ).all()
    kinds = [*(c.value for c in GrievanceCategory), ALL]
    counts = {(c, s): 0 for c in kinds for s in [*GRIEVANCE_STATES, ALL]}
    money: dict[str, list[int]] = {c.value: [0, 0] for c in GrievanceCategory}
    for category, state_name, count, with_money, recovered in grouped:
        for c in (category.value, ALL):
            for s in (str(state_name), ALL):
                counts[(c, s)] += count
        money[category.value][0] += with_money
        money[category.value][1] += int(recovered)
    return counts, money


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
