"""Workplaces, their funding, the job classifications used there and their stewards."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from union.clock import utcnow
from union.db import Base, Model
from union.models.dues import in_language
from union.models.types import enum_type

if TYPE_CHECKING:
    from union.models.users import User


class Sector(enum.StrEnum):
    SUPERVISED_CONSUMPTION = "supervised_consumption"
    OUTREACH = "outreach"
    DROP_IN = "drop_in"
    SHELTER = "shelter"
    PEER_PROGRAM = "peer_program"
    HEALTH_CENTRE = "health_centre"
    HOUSING = "housing"
    OTHER = "other"


class BargainingStatus(enum.StrEnum):
    UNORGANIZED = "unorganized"
    ORGANIZING = "organizing"
    RECOGNIZED = "recognized"
    CERTIFIED = "certified"
    UNDER_CONTRACT = "under_contract"


class WorkplaceStatus(enum.StrEnum):
    #: Typed in by someone joining ("my workplace isn't listed"); an organizer confirms.
    PENDING = "pending"
    CONFIRMED = "confirmed"


workplace_classifications = sa.Table(
    "workplace_classifications",
    Base.metadata,
    sa.Column(
        "workplace_id",
        sa.ForeignKey("workplaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "classification_id",
        sa.ForeignKey("job_classifications.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)


class JobClassification(Model):
    """A union-wide job title (kit maker, outreach worker ...), so reports can compare
    the same work across workplaces."""

    __tablename__ = "job_classifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    #: The same title in French; English is shown where this is empty.
    name_fr: Mapped[str | None] = mapped_column(sa.String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def name_for(self, language: str) -> str:
        return in_language(language, self.name, self.name_fr)


class Workplace(Model):
    __tablename__ = "workplaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    employer: Mapped[str] = mapped_column(sa.String(200))
    #: The site or program within the employer; empty when the employer has one site.
    site: Mapped[str] = mapped_column(sa.String(200), default="")
    sector: Mapped[Sector] = mapped_column(enum_type(Sector))
    bargaining_status: Mapped[BargainingStatus] = mapped_column(
        enum_type(BargainingStatus)
    )
    contract_expires_on: Mapped[date | None]
    estimated_headcount: Mapped[int | None]
    status: Mapped[WorkplaceStatus] = mapped_column(enum_type(WorkplaceStatus))
    #: Shown in the public join form. Off for campaigns the employer must not see yet.
    listed_on_join: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    classifications: Mapped[list[JobClassification]] = relationship(
        secondary=workplace_classifications, order_by=JobClassification.name
    )
    funding_sources: Mapped[list[FundingSource]] = relationship(
        back_populates="workplace",
        cascade="all, delete-orphan",
        order_by="FundingSource.ends_on",
    )
    steward_assignments: Mapped[list[StewardAssignment]] = relationship(
        back_populates="workplace", cascade="all, delete-orphan"
    )

    @property
    def name(self) -> str:
        return self.name_of(self.employer, self.site)

    @staticmethod
    def name_of(employer: str, site: str) -> str:
        return f"{employer} \u2013 {site}" if site else employer

    def __repr__(self) -> str:
        return f"<Workplace {self.id}>"


class FundingSource(Model):
    """A grant or contract paying for positions at a workplace."""

    __tablename__ = "funding_sources"
    __table_args__ = (
        sa.CheckConstraint("amount_cents >= 0", name="amount_nonnegative"),
        sa.CheckConstraint("positions_funded >= 0", name="positions_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workplace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workplaces.id", ondelete="CASCADE"), index=True
    )
    funder: Mapped[str] = mapped_column(sa.String(200))
    program: Mapped[str] = mapped_column(sa.String(200), default="")
    #: The whole grant over its term.
    amount_cents: Mapped[int | None] = mapped_column(sa.BigInteger)
    starts_on: Mapped[date | None]
    #: None for ongoing (core) funding.
    ends_on: Mapped[date | None]
    positions_funded: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    workplace: Mapped[Workplace] = relationship(back_populates="funding_sources")


class StewardAssignment(Model):
    """A steward or delegate covering a workplace: they see its members and grievances."""

    __tablename__ = "steward_assignments"
    __table_args__ = (sa.UniqueConstraint("user_id", "workplace_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    workplace_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workplaces.id", ondelete="CASCADE"), index=True
    )
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(
        back_populates="steward_assignments", foreign_keys=[user_id]
    )
    workplace: Mapped[Workplace] = relationship(back_populates="steward_assignments")
