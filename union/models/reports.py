"""What the reports have published, kept so that later reports can be checked
against it: the group behind every exactly published figure, the privacy budget
every noisy release has spent, and each quarter's grievance figures. The sizes
are never shown."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from union.db import Model


class PublishedFigure(Model):
    """A figure a closed round published exactly, at one place, with the number of
    answers it was worked out from.

    A later figure of the same kind over a group that differs from this one by 1
    to 9 people is not published exactly: the difference would be those people's
    answers. Sizes are kept here, never in an artifact."""

    __tablename__ = "published_figures"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "figure", "level", "scope"),
        sa.Index("ix_published_figures_figure", "figure", "level", "scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_rounds.id", ondelete="CASCADE"), index=True
    )
    #: What was published: "question:<key>" for a count table, "median:<column>"
    #: or "median:<column>:<job id>" for a median.
    figure: Mapped[str] = mapped_column(sa.String(60))
    level: Mapped[str] = mapped_column(sa.String(20))
    scope: Mapped[str] = mapped_column(sa.String(40), default="")
    size: Mapped[int]

    def __repr__(self) -> str:
        return f"<PublishedFigure {self.id}>"


class PrivacySpend(Model):
    """The differential-privacy budget a round's noisy release of one question
    spent. Answers cannot be traced to members, so every member counts as being in
    every release: a spend counts against everyone."""

    __tablename__ = "privacy_spends"
    __table_args__ = (sa.UniqueConstraint("round_id", "question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_rounds.id", ondelete="RESTRICT"), index=True
    )
    question: Mapped[str] = mapped_column(sa.String(60))
    #: The round's closing day: the yearly cap counts spends over the 365 days
    #: up to a release.
    released_on: Mapped[date] = mapped_column(index=True)
    #: Epsilon in thousandths, so that spends add up exactly.
    epsilon_thousandths: Mapped[int]

    def __repr__(self) -> str:
        return f"<PrivacySpend {self.id}>"


class GrievanceRelease(Model):
    """The grievance figures of one closed calendar quarter, as of its last day:
    computed once, the first time anyone needs them after the quarter ended, and
    never changed. The organizers' grievance page and every survey round's
    grievance report publish these, so neither can be subtracted from the other.

    The body is canonical JSON, like a report artifact's. `sizes` is the group
    behind each exactly published figure, so later quarters are checked against
    it (union.services.grievance_releases); it is never shown."""

    __tablename__ = "grievance_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The quarter's first and last days, in the union's time zone.
    quarter_start: Mapped[date] = mapped_column(unique=True)
    quarter_end: Mapped[date]
    body: Mapped[str] = mapped_column(sa.Text)
    digest: Mapped[str] = mapped_column(sa.String(64))
    #: JSON list of [figure, level, scope, size]; never shown.
    sizes: Mapped[str] = mapped_column(sa.Text)
    computed_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<GrievanceRelease {self.quarter_start}>"
