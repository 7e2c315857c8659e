"""Workplaces: records, funding, classifications, stewards, density and precarity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from union import clock
from union.db import db
from union.errors import NotFound, ValidationFailed
from union.i18n import _
from union.models import (
    BargainingStatus,
    Employment,
    FundingSource,
    JobClassification,
    Member,
    MemberStatus,
    Role,
    RoleGrant,
    Sector,
    StewardAssignment,
    User,
    Workplace,
    WorkplaceStatus,
)
from union.services import audit
from union.services.paging import Sort, SortKeys

#: A grant ending this many months ahead (or sooner) makes its positions precarious.
PRECARIOUS_WITHIN_MONTHS = 6


@dataclass(frozen=True, slots=True)
class WorkplaceDetails:
    employer: str
    sector: Sector
    bargaining_status: BargainingStatus
    site: str = ""
    contract_expires_on: date | None = None
    estimated_headcount: int | None = None
    listed_on_join: bool = True
    classification_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class FundingDetails:
    funder: str
    program: str = ""
    amount_cents: int | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    positions_funded: int = 0


@dataclass(frozen=True, slots=True)
class WorkplaceSummary:
    """A workplace's numbers for lists: counts only, never member rows."""

    workplace: Workplace
    active_members: int
    applicants: int
    precarious_positions: int

    @property
    def density(self) -> float | None:
        return density(self.active_members, self.workplace.estimated_headcount)


def density(active_members: int, headcount: int | None) -> float | None:
    """Active members per estimated worker, or None when the headcount is unknown."""
    if not headcount:
        return None
    return active_members / headcount


def precarious_until(today: date) -> date:
    return clock.add_months(today, PRECARIOUS_WITHIN_MONTHS)


def is_precarious(funding: FundingSource, today: date) -> bool:
    return funding.ends_on is not None and today <= funding.ends_on <= precarious_until(
        today
    )


def is_joinable(workplace: Workplace) -> bool:
    return workplace.status is WorkplaceStatus.CONFIRMED and workplace.listed_on_join


def joinable_workplaces() -> list[Workplace]:
    return list(
        db.session.scalars(
            sa.select(Workplace)
            .where(
                Workplace.status == WorkplaceStatus.CONFIRMED,
                Workplace.listed_on_join.is_(True),
            )
            .order_by(Workplace.employer, Workplace.site)
        )
    )


def visible_workplaces(actor: User) -> sa.Select[Workplace]:
    """All workplaces for organizers and admins; the covered ones for a steward."""
    statement = sa.select(Workplace)
    if actor.has_role(Role.ADMIN, Role.ORGANIZER):
        return statement
    if actor.has_role(Role.STEWARD):
        return statement.where(
            Workplace.id.in_(
                sa.select(StewardAssignment.workplace_id).where(
                    StewardAssignment.user_id == actor.id
                )
            )
        )
    return statement.where(sa.false())


def visible_list(actor: User) -> list[Workplace]:
    """The workplaces the actor may see, by name, for pick lists."""
    statement = visible_workplaces(actor).order_by(Workplace.employer, Workplace.site)
    return list(db.session.scalars(statement))


def workplace_for(actor: User, workplace_id: int) -> Workplace:
    workplace = db.session.scalar(
        visible_workplaces(actor)
        .where(Workplace.id == workplace_id)
        .options(
            selectinload(Workplace.classifications),
            selectinload(Workplace.funding_sources),
            selectinload(Workplace.steward_assignments).joinedload(
                StewardAssignment.user
            ),
        )
    )
    if workplace is None:
        raise NotFound
    return workplace


#: How the workplace list can be sorted; by name unless asked otherwise.
WORKPLACE_SORTS = SortKeys(
    ("name", "members", "headcount", "density", "precarious", "contract"),
    default="name",
    first_descending=frozenset({"members", "headcount", "density", "precarious"}),
)


def _counted(status: MemberStatus) -> Any:
    """Distinct members with this status, among the rows grouped (SQL)."""
    return sa.func.count(sa.distinct(sa.case((Member.status == status, Member.id))))


def summaries(
    actor: User,
    *,
    today: date,
    status: WorkplaceStatus | None = None,
    sort: Sort | None = None,
) -> list[WorkplaceSummary]:
    """Every visible workplace with its counts, by name unless `sort` says
    otherwise: one query whatever the size.

    The counts are grouped once for all the visible workplaces and joined, rather
    than counted workplace by workplace, so that sorting by them costs no more
    than showing them."""
    sort = sort or WORKPLACE_SORTS.read(None)
    visible_ids = visible_workplaces(actor).with_only_columns(Workplace.id)
    members_now = (
        sa.select(
            Employment.workplace_id,
            _counted(MemberStatus.ACTIVE).label("active"),
            _counted(MemberStatus.APPLICANT).label("applicants"),
        )
        .join(Member, Member.id == Employment.member_id)
        .where(Employment.ended_on.is_(None), Employment.workplace_id.in_(visible_ids))
        .group_by(Employment.workplace_id)
        .subquery()
    )
    ending = (
        sa.select(
            FundingSource.workplace_id,
            sa.func.sum(FundingSource.positions_funded).label("positions"),
        )
        .where(
            FundingSource.workplace_id.in_(visible_ids),
            FundingSource.ends_on >= today,
            FundingSource.ends_on <= precarious_until(today),
        )
        .group_by(FundingSource.workplace_id)
        .subquery()
    )
    active = sa.func.coalesce(members_now.c.active, 0)
    applicants = sa.func.coalesce(members_now.c.applicants, 0)
    precarious = sa.func.coalesce(ending.c.positions, 0)
    by_key: dict[str, Any] = {
        "members": active,
        "headcount": Workplace.estimated_headcount,
        # As union.services.workplaces.density: unknown (NULL) without a headcount.
        "density": sa.cast(active, sa.Float)
        / sa.func.nullif(Workplace.estimated_headcount, 0),
        "precarious": precarious,
        "contract": Workplace.contract_expires_on,
    }
    name = (Workplace.employer, Workplace.site, Workplace.id)
    order = sort.ordered(*name)
    if sort.key in by_key:
        # Unknown figures (no headcount, no contract) go last either way; ties
        # keep the name order.
        (first,) = sort.ordered(by_key[sort.key])
        order = [first.nulls_last(), *(column.asc() for column in name)]
    statement = (
        visible_workplaces(actor)
        .outerjoin(members_now, members_now.c.workplace_id == Workplace.id)
        .outerjoin(ending, ending.c.workplace_id == Workplace.id)
        .add_columns(active, applicants, precarious)
        .order_by(*order)
    )
    if status is not None:
        statement = statement.where(Workplace.status == status)
    return [
        WorkplaceSummary(
            workplace=workplace,
            active_members=int(active_count),
            applicants=int(applicant_count),
            precarious_positions=int(positions),
        )
        for workplace, active_count, applicant_count, positions in db.session.execute(
            statement
        )
    ]


def summary_for(workplace: Workplace, *, today: date) -> WorkplaceSummary:
    counts = member_counts([workplace.id])
    return WorkplaceSummary(
        workplace=workplace,
        active_members=counts.get((workplace.id, MemberStatus.ACTIVE), 0),
        applicants=counts.get((workplace.id, MemberStatus.APPLICANT), 0),
        precarious_positions=_precarious_positions([workplace.id], today).get(
            workplace.id, 0
        ),
    )


def member_counts(workplace_ids: list[int]) -> dict[tuple[int, MemberStatus], int]:
    """Members working at each workplace now, by status: one query."""
    rows = db.session.execute(
        sa.select(
            Employment.workplace_id,
            Member.status,
            sa.func.count(sa.distinct(Member.id)),
        )
        .join(Member, Member.id == Employment.member_id)
        .where(
            Employment.workplace_id.in_(workplace_ids), Employment.ended_on.is_(None)
        )
        .group_by(Employment.workplace_id, Member.status)
    )
    return {(workplace_id, status): count for workplace_id, status, count in rows}


def _precarious_positions(workplace_ids: list[int], today: date) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(
            FundingSource.workplace_id, sa.func.sum(FundingSource.positions_funded)
        )
        .where(
            FundingSource.workplace_id.in_(workplace_ids),
            FundingSource.ends_on >= today,
            FundingSource.ends_on <= precarious_until(today),
        )
        .group_by(FundingSource.workplace_id)
    )
    return {workplace_id: int(total or 0) for workplace_id, total in rows}


def _check_details(details: WorkplaceDetails) -> list[JobClassification]:
    errors: dict[str, str] = {}
    if not details.employer.strip():
        errors["employer"] = _("Enter the employer's name.")
    if details.estimated_headcount is not None and details.estimated_headcount < 0:
        errors["estimated_headcount"] = _("The headcount cannot be negative.")
    classifications = []
    if details.classification_ids:
        classifications = list(
            db.session.scalars(
                sa.select(JobClassification).where(
                    JobClassification.id.in_(details.classification_ids)
                )
            )
        )
        if len(classifications) != len(set(details.classification_ids)):
            errors["classification_ids"] = _("Choose jobs from the list.")
    if errors:
        raise ValidationFailed(errors)
    return classifications


def _apply(workplace: Workplace, details: WorkplaceDetails) -> None:
    workplace.employer = details.employer.strip()
    workplace.site = details.site.strip()
    workplace.sector = details.sector
    workplace.bargaining_status = details.bargaining_status
    workplace.contract_expires_on = details.contract_expires_on
    workplace.estimated_headcount = details.estimated_headcount
    workplace.listed_on_join = details.listed_on_join


def create_workplace(
    details: WorkplaceDetails, *, actor: User | None, now: datetime
) -> Workplace:
    classifications = _check_details(details)
    workplace = Workplace(status=WorkplaceStatus.CONFIRMED, created_at=now)
    _apply(workplace, details)
    workplace.classifications = classifications
    db.session.add(workplace)
    db.session.flush()
    audit.record("workplace.created", actor=actor, now=now, subject=workplace)
    return workplace


def update_workplace(
    workplace: Workplace, details: WorkplaceDetails, *, actor: User, now: datetime
) -> None:
    classifications = _check_details(details)
    _apply(workplace, details)
    workplace.classifications = classifications
    workplace.updated_at = now
    audit.record("workplace.updated", actor=actor, now=now, subject=workplace)
    db.session.flush()


def add_pending_workplace(employer: str, site: str, *, now: datetime) -> Workplace:
    """A workplace typed in by someone joining or named in an imported roster,
    hidden from the join list until an organizer confirms it or merges it into the
    one it duplicates."""
    workplace = Workplace(
        employer=employer.strip(),
        site=site.strip(),
        sector=Sector.OTHER,
        bargaining_status=BargainingStatus.UNORGANIZED,
        status=WorkplaceStatus.PENDING,
        listed_on_join=False,
        created_at=now,
    )
    db.session.add(workplace)
    db.session.flush()
    return workplace


def confirm_workplace(workplace: Workplace, *, actor: User, now: datetime) -> None:
    if workplace.status is WorkplaceStatus.CONFIRMED:
        return
    workplace.status = WorkplaceStatus.CONFIRMED
    workplace.updated_at = now
    audit.record("workplace.confirmed", actor=actor, now=now, subject=workplace)
    db.session.flush()


def merge_workplace(
    pending: Workplace, into: Workplace, *, actor: User, now: datetime
) -> None:
    """Folds a pending workplace into the existing one it duplicates: its members'
    employment moves over, then the pending record is removed."""
    if pending.status is not WorkplaceStatus.PENDING:
        raise ValidationFailed(
            {"into": _("Only workplaces waiting for confirmation can be merged.")}
        )
    if pending.id == into.id:
        raise ValidationFailed({"into": _("Choose a different workplace.")})
    if into.status is not WorkplaceStatus.CONFIRMED:
        # Members would move to a workplace nobody has checked yet.
        raise ValidationFailed({"into": _("Choose the workplace it is the same as.")})
    db.session.execute(
        sa.update(Employment)
        .where(Employment.workplace_id == pending.id)
        .values(workplace_id=into.id)
    )
    audit.record(
        "workplace.merged",
        actor=actor,
        now=now,
        subject=into,
        detail=f"from={pending.id}",
    )
    db.session.delete(pending)
    db.session.flush()
    db.session.expire_all()


def add_funding(
    workplace: Workplace, details: FundingDetails, *, actor: User | None, now: datetime
) -> FundingSource:
    _check_funding(details)
    funding = FundingSource(created_at=now)
    _apply_funding(funding, details)
    workplace.funding_sources.append(funding)
    audit.record("workplace.funding_added", actor=actor, now=now, subject=workplace)
    db.session.flush()
    return funding


def update_funding(
    funding: FundingSource, details: FundingDetails, *, actor: User, now: datetime
) -> None:
    _check_funding(details)
    _apply_funding(funding, details)
    audit.record(
        "workplace.funding_updated", actor=actor, now=now, subject=funding.workplace
    )
    db.session.flush()


def remove_funding(funding: FundingSource, *, actor: User, now: datetime) -> None:
    audit.record(
        "workplace.funding_removed", actor=actor, now=now, subject=funding.workplace
    )
    db.session.delete(funding)
    db.session.flush()


def funding_for(workplace: Workplace, funding_id: int) -> FundingSource:
    funding = next((f for f in workplace.funding_sources if f.id == funding_id), None)
    if funding is None:
        raise NotFound
    return funding


def _check_funding(details: FundingDetails) -> None:
    errors: dict[str, str] = {}
    if not details.funder.strip():
        errors["funder"] = _("Enter who funds this.")
    if details.amount_cents is not None and details.amount_cents < 0:
        errors["amount"] = _("The amount cannot be negative.")
    if details.positions_funded < 0:
        errors["positions_funded"] = _("The number of positions cannot be negative.")
    if details.starts_on and details.ends_on and details.ends_on < details.starts_on:
        errors["ends_on"] = _("The end date is before the start date.")
    if errors:
        raise ValidationFailed(errors)


def _apply_funding(funding: FundingSource, details: FundingDetails) -> None:
    funding.funder = details.funder.strip()
    funding.program = details.program.strip()
    funding.amount_cents = details.amount_cents
    funding.starts_on = details.starts_on
    funding.ends_on = details.ends_on
    funding.positions_funded = details.positions_funded


def stewards() -> list[User]:
    """Accounts holding the steward role, for the assignment list."""
    found = db.session.scalars(
        sa.select(User)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == Role.STEWARD, User.disabled_at.is_(None))
        .options(sa.orm.joinedload(User.member))
    )
    # Emails are encrypted, so the list is sorted by name here rather than in SQL.
    return sorted(found, key=lambda user: user.display_name.lower())


def assign_steward(
    workplace: Workplace, steward: User, *, actor: User | None, now: datetime
) -> None:
    if not steward.has_role(Role.STEWARD):
        raise ValidationFailed({"steward": _("Grant the steward role first.")})
    if any(a.user_id == steward.id for a in workplace.steward_assignments):
        return
    workplace.steward_assignments.append(
        StewardAssignment(
            user=steward, assigned_at=now, assigned_by_id=actor.id if actor else None
        )
    )
    audit.record(
        "workplace.steward_assigned",
        actor=actor,
        now=now,
        subject=workplace,
        detail=f"user={steward.id}",
    )
    db.session.flush()


def unassign_steward(
    workplace: Workplace, steward_id: int, *, actor: User, now: datetime
) -> None:
    assignment = next(
        (a for a in workplace.steward_assignments if a.user_id == steward_id), None
    )
    if assignment is None:
        raise NotFound
    workplace.steward_assignments.remove(assignment)
    audit.record(
        "workplace.steward_unassigned",
        actor=actor,
        now=now,
        subject=workplace,
        detail=f"user={steward_id}",
    )
    db.session.flush()


def classifications() -> list[JobClassification]:
    return list(
        db.session.scalars(
            sa.select(JobClassification).order_by(JobClassification.name)
        )
    )


def add_classification(
    name: str, *, name_fr: str = "", actor: User | None, now: datetime
) -> JobClassification:
    """Adds a job title to the union-wide list, with its French title if given."""
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed({"name": _("Enter a name.")})
    exists = db.session.scalar(
        sa.select(JobClassification).where(
            sa.func.lower(JobClassification.name) == name.lower()
        )
    )
    if exists is not None:
        raise ValidationFailed({"name": _("That job is already on the list.")})
    classification = JobClassification(
        name=name, name_fr=" ".join(name_fr.split()) or None, created_at=now
    )
    db.session.add(classification)
    db.session.flush()
    audit.record("classification.added", actor=actor, now=now, subject=classification)
    return classification
