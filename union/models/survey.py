"""The working-conditions survey: rounds, anonymous answers, receipts and the
reports computed when a round closes.

An answer row holds no member, no time finer than its round and a random id, so no
one (an organizer, an admin, whoever holds a copy of the database) can tell whose it
is. A receipt records only that a member answered a round, so they answer once.

While a round is open, its answers are not answer rows at all but sealed boxes
(`survey_sealed_answers`), each written in the same transaction as its receipt:
the database's own bookkeeping (PostgreSQL's xmin, the order rows were written
in, SQLite's rowid) ties a box to a receipt, but a box is opaque without the
round's key (`survey_round_keys`, itself encrypted with ENCRYPTION_KEYS).
Closing opens every box, writes the answer rows in random order in one go, and
destroys the boxes and the key (see services.survey).
"""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from union.adapters.crypto import EncryptedText
from union.db import Base, Model
from union.models.types import enum_type


class RoundStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class EmploymentType(enum.StrEnum):
    PERMANENT_FULL_TIME = "permanent_full_time"
    PERMANENT_PART_TIME = "permanent_part_time"
    CASUAL = "casual"
    TEMPORARY = "temporary"


class YesNoUnsure(enum.StrEnum):
    YES = "yes"
    NO = "no"
    NOT_SURE = "not_sure"


def random_answer_id() -> str:
    return secrets.token_hex(16)


def random_answer_ids(count: int) -> list[str]:
    """`count` ids as random_answer_id makes them, from one read of the system's
    random source (closing a round needs one per answer)."""
    digits = secrets.token_hex(16 * count)
    return [digits[start : start + 32] for start in range(0, 32 * count, 32)]


class SurveyRound(Model):
    __tablename__ = "survey_rounds"
    __table_args__ = (
        sa.CheckConstraint(
            "closed_on IS NULL OR closed_on >= opened_on", name="closes_after_opening"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    status: Mapped[RoundStatus] = mapped_column(enum_type(RoundStatus), index=True)
    opened_on: Mapped[date]
    closed_on: Mapped[date | None]
    opened_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    closed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    #: Filled when the round closes: how many answers it has.
    respondents: Mapped[int | None]
    #: While it is open, the band of its number of answers as last shown and the
    #: day it was counted: it is shown as a band, counted again at most once a day,
    #: so that it does not move when one person answers.
    answers_band_low: Mapped[int | None]
    answers_band_high: Mapped[int | None]
    answers_counted_on: Mapped[date | None]

    @property
    def is_open(self) -> bool:
        return self.status is RoundStatus.OPEN

    def __repr__(self) -> str:
        return f"<SurveyRound {self.id}>"


class SurveyAnswer(Model):
    """One member's answers, with nothing that leads back to them."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        # Leading with the round, it also finds a round's answers.
        sa.PrimaryKeyConstraint("round_id", "id"),
        sa.CheckConstraint(
            "hourly_wage_cents IS NULL OR hourly_wage_cents BETWEEN 500 AND 20000",
            name="wage_plausible",
        ),
        sa.CheckConstraint(
            "weekly_hours IS NULL OR weekly_hours BETWEEN 1 AND 80",
            name="hours_plausible",
        ),
        sa.CheckConstraint(
            "paid_sick_days IS NULL OR paid_sick_days BETWEEN 0 AND 60",
            name="sick_days_plausible",
        ),
        sa.CheckConstraint(
            "vacation_days IS NULL OR vacation_days BETWEEN 0 AND 60",
            name="vacation_days_plausible",
        ),
        sa.CheckConstraint(
            "months_since_raise IS NULL OR months_since_raise BETWEEN 0 AND 600",
            name="months_since_raise_plausible",
        ),
        # On PostgreSQL each round has a partition (see services.survey).
        {"postgresql_partition_by": "LIST (round_id)"},
    )

    id: Mapped[str] = mapped_column(sa.String(32), default=random_answer_id)
    round_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_rounds.id", ondelete="CASCADE")
    )
    workplace_id: Mapped[int] = mapped_column(sa.ForeignKey("workplaces.id"))
    classification_id: Mapped[int] = mapped_column(
        sa.ForeignKey("job_classifications.id")
    )
    employment_type: Mapped[EmploymentType | None] = mapped_column(
        enum_type(EmploymentType)
    )
    hourly_wage_cents: Mapped[int | None]
    weekly_hours: Mapped[int | None]
    health_benefits: Mapped[bool | None]
    dental_benefits: Mapped[bool | None]
    paid_sick_days: Mapped[int | None]
    vacation_days: Mapped[int | None]
    #: None when not answered; `never_had_raise` says when there has been none.
    months_since_raise: Mapped[int | None]
    never_had_raise: Mapped[bool | None]
    grant_funded: Mapped[YesNoUnsure | None] = mapped_column(enum_type(YesNoUnsure))
    relies_on_social_assistance: Mapped[bool | None]
    discrimination_lived_experience: Mapped[bool | None]


class SurveyRoundKey(Model):
    """The secret key an open round's answers are sealed with (AES-256-GCM, see
    adapters.sealing), stored encrypted with ENCRYPTION_KEYS (so `union
    rotate-keys` covers it and a copy of the database alone cannot use it).
    Answering seals with it and closing opens with it; the row goes with the
    sealed answers when the round closes."""

    __tablename__ = "survey_round_keys"
    # On PostgreSQL a round's key has a partition of its own, dropped whole at
    # closing, so no old version of the row stays behind in the table's file.
    __table_args__ = ({"postgresql_partition_by": "LIST (round_id)"},)

    round_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    #: The 32-byte key, base64-encoded, then encrypted with ENCRYPTION_KEYS.
    sealing_key: Mapped[str] = mapped_column(EncryptedText())


#: One member's answers while their round is open, sealed with the round's
#: key: the round and the box, nothing else. No id, no time, no sequence: every
#: box of a round is the same length and opaque. There is no primary key: nothing
#: ever looks one box up, and a key would be one more thing in answering order.
#: On PostgreSQL each round's boxes are a partition, dropped whole at closing.
sealed_answers = sa.Table(
    "survey_sealed_answers",
    Base.metadata,
    sa.Column(
        "round_id",
        sa.ForeignKey("survey_rounds.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("sealed", sa.LargeBinary(), nullable=False),
    postgresql_partition_by="LIST (round_id)",
)


class SurveyReceipt(Model):
    """That a member answered a round: nothing about what, nor when within it."""

    __tablename__ = "survey_receipts"

    round_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ReportArtifact(Model):
    """One report of the catalogue for one closed round and one level, computed once.

    The body is canonical JSON (sorted keys, no spaces) so every pull returns the
    same bytes; `digest` is its SHA-256, printed on the page and in the CSV.
    """

    __tablename__ = "report_artifacts"
    __table_args__ = (sa.UniqueConstraint("round_id", "report", "level", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_rounds.id", ondelete="CASCADE"), index=True
    )
    report: Mapped[str] = mapped_column(sa.String(40))
    level: Mapped[str] = mapped_column(sa.String(20))
    #: The sector or workplace id the artifact is about; empty union-wide.
    scope: Mapped[str] = mapped_column(sa.String(40), default="")
    catalogue_version: Mapped[int]
    body: Mapped[str] = mapped_column(sa.Text)
    digest: Mapped[str] = mapped_column(sa.String(64))
    computed_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<ReportArtifact {self.id}>"


@sa.event.listens_for(ReportArtifact, "before_update")
def _refuse_changes(_mapper: Any, _connection: Any, target: ReportArtifact) -> None:
    raise ValueError("report artifacts are immutable; compute a new round instead")
