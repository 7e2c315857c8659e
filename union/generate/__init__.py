"""Made-up data at federation scale, for benchmarks: `flask --app wsgi union generate`.

Everything is invented (names, agencies, emails at example.org) and reproducible
from a seed. Rows are bulk loaded but shaped exactly as the app writes them: dues
months covered oldest first, one coverage row per member and month, encrypted
columns encrypted, emails with their keyed hash, numbered receipts and cases.

The work is split into sections that run in order, each adding one area and
leaving in the context what later sections need (workplaces, stewards, members).
A new area is one more module and one more line in _sections().
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from union import clock
from union.adapters.bulk import BulkWriter
from union.clock import month_index
from union.db import db
from union.models import Member

#: Called with (section, done, total) as rows are made.
Progress = Callable[[str, int, int], None]


class AlreadyPopulated(RuntimeError):
    """The database already has members; the generator only fills an empty union."""


@dataclass(frozen=True, slots=True)
class Scale:
    members: int
    workplaces: int
    years: int
    grievances: int
    seed: int = 1
    survey_rounds: int = 0
    survey_answers: int = 0

    @classmethod
    def of(
        cls,
        *,
        members: int,
        workplaces: int,
        years: int,
        grievances: int | None = None,
        survey_answers: int | None = None,
        seed: int = 1,
    ) -> Scale:
        """A scale with one grievance for every five members and two survey answers
        for every member, over one round a quarter (at most 20), unless told
        otherwise."""
        if members < 10 or workplaces < 1 or years < 1:
            raise ValueError("need at least 10 members, 1 workplace and 1 year")
        workplaces = min(workplaces, members // 5 or 1)
        if grievances is None:
            grievances = members // 5
        if survey_answers is None:
            survey_answers = members * 2
        survey_rounds = min(20, 4 * years) if survey_answers else 0
        return cls(
            members, workplaces, years, grievances, seed, survey_rounds, survey_answers
        )


@dataclass(slots=True)
class MemberPlan:
    """What later sections need to know about one generated member."""

    id: int
    workplace_id: int
    #: Month index (union.clock.month_index) of joining, and of leaving if they left.
    joined: int
    left: int | None
    status: str
    #: (first month index, level id), oldest first.
    levels: list[tuple[int, int]]
    user_id: int | None
    #: "card", "cash" or "etransfer"; card members have a Stripe customer.
    method: str
    #: Months behind (positive) or paid ahead (negative) at the end of the history.
    behind: int


@dataclass
class Context:
    """Shared by the sections: the scale, the clock, the writer and what was made."""

    scale: Scale
    now: datetime
    rng: random.Random
    writer: BulkWriter
    password_hash: str
    progress: Progress
    #: Month index of the first month of history and of the current month.
    first_month: int = 0
    this_month: int = 0
    workplace_ids: list[int] = field(default_factory=list)
    #: Relative size of each workplace, in workplace_ids order.
    workplace_weights: list[float] = field(default_factory=list)
    classification_ids_by_workplace: dict[int, list[int]] = field(default_factory=dict)
    #: User ids of the stewards covering each workplace.
    stewards_by_workplace: dict[int, list[int]] = field(default_factory=dict)
    #: Current (not resigned) member ids at each workplace.
    members_by_workplace: dict[int, list[int]] = field(default_factory=dict)
    members: list[MemberPlan] = field(default_factory=list)
    #: Monthly cents of each dues level.
    level_cents: dict[int, int] = field(default_factory=dict)
    treasurer_id: int = 0
    admin_id: int = 0
    #: Highest number handed out per counter (member_number, receipt ...).
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return clock.today(self.now)


Section = Callable[[Context], None]


@dataclass(frozen=True, slots=True)
class Summary:
    rows: dict[str, int]
    seconds: float


def _sections() -> list[tuple[str, Section]]:
    from union.generate import casework, ledger, organisation, people, surveys

    return [
        ("workplaces", organisation.workplaces),
        ("members", people.members),
        ("dues", ledger.dues_history),
        ("grievances", casework.grievances),
        ("survey", surveys.rounds),
        ("counters", people.counters),
    ]


def generate(
    scale: Scale,
    *,
    password_hash: str,
    now: datetime,
    progress: Progress,
    sections: Sequence[Section] | None = None,
) -> Summary:
    """Fills an empty union with `scale` worth of data in the session's transaction
    (the caller commits): every section of _sections(), or only `sections`, in that
    order. Raises AlreadyPopulated if there are members already."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Member)):
        raise AlreadyPopulated("the database already has members")
    started = time.monotonic()
    connection = db.session.connection()
    context = Context(
        scale=scale,
        now=now,
        rng=random.Random(scale.seed),  # noqa: S311 -- invented data, not a secret
        writer=BulkWriter(connection),
        password_hash=password_hash,
        progress=progress,
    )
    context.this_month = month_index(context.today)
    context.first_month = context.this_month - 12 * scale.years + 1
    if sections is None:
        sections = [section for _name, section in _sections()]
    for section in sections:
        section(context)
    context.writer.finish()
    return Summary(dict(context.writer.written), time.monotonic() - started)
