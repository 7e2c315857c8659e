"""Grievance numbers as one protected release per closed calendar quarter.

The organizers' grievance page, its CSV and every survey round's grievance report
publish the same release, so none of them can be subtracted from another. A
quarter's release is worked out once, the first time anyone needs it after the
quarter has ended, as of the quarter's last day, and stored (grievance_releases);
every later pull returns the same bytes. Nothing moves when one case opens or
closes: the next figures come only when the next quarter ends.

Its figures go through the reports' disclosure rules (union.rules.disclosure):

- cases by kind and where they stand (open, won, partly won, lost, withdrawn),
  open cases by step, and open and closed cases by sector are protected as one
  table with all their margins: counts of 1 to 4 read "fewer than 5", and more
  are hidden wherever a total would let a hidden one be worked out. Never by
  workplace, as the survey counts: a workplace's counts would mostly be small,
  and checking that none could be worked out from the union's totals takes
  minutes once there are a thousand workplaces;
- money recovered only over closed cases, by kind and in all, each over 10 or
  more cases that recovered money, rounded to $100, never by workplace;
- every exactly published figure is kept with the size of its group (for money,
  the number of cases), and a figure whose group differs by 1 to 9 cases from an
  earlier published group of the same figure is not published exactly
  (services/reports/registry.py, as the survey reports do): the difference would
  be those few cases.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from union import clock
from union.adapters.csvsafe import csv_lines
from union.db import db
from union.models import (
    Grievance,
    GrievanceCategory,
    GrievanceRelease,
    GrievanceStep,
    Sector,
    StepRecord,
    User,
    Workplace,
)
from union.rules import disclosure
from union.rules.disclosure import Equation, Key, Rules, Status
from union.rules.grievance_steps import OPEN_STEPS
from union.services import audit
from union.services.reports import registry
from union.services.reports.artifact import (
    UNION_WIDE,
    Cell,
    CellStatus,
    GrievanceTable,
    Level,
    MoneyCell,
    MoneyRow,
    Place,
    SectorCases,
    cell,
)

#: Where a case stands at the quarter's end: open, or closed with its outcome.
STATES = ("open", "won", "partly_won", "lost", "withdrawn")
ALL = "all"
#: By sector, only whether cases are open or closed: never how they ended.
SECTOR_STATES = ("open", "closed")
#: Bumped when the body's shape changes.
RELEASE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Quarter:
    """A calendar quarter, as the union's days."""

    start: date
    end: date

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(clock.quarter_start(day), clock.quarter_end(day))

    @property
    def before(self) -> Quarter:
        return Quarter.of(self.start - timedelta(days=1))


def last_closed_quarter(today: date) -> Quarter:
    """The latest quarter that has ended by `today`: the one before today's."""
    return Quarter.of(today).before


@dataclass(frozen=True, slots=True)
class Pulled:
    release: GrievanceRelease
    body: GrievanceTable

    @property
    def quarter(self) -> Quarter:
        return Quarter(self.release.quarter_start, self.release.quarter_end)


def read(text: str) -> GrievanceTable:
    return cast(GrievanceTable, json.loads(text))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Releasing -------------------------------------------------------------------


def _stored(quarter: Quarter) -> GrievanceRelease | None:
    return db.session.scalar(
        sa.select(GrievanceRelease).where(
            GrievanceRelease.quarter_start == quarter.start
        )
    )


def release_for(quarter: Quarter, *, rules: Rules, now: datetime) -> GrievanceRelease:
    """The quarter's release: the stored one, or, the first time, worked out and
    stored (flushed; the caller commits). Only a quarter that has ended has one:
    ValueError otherwise. Two first pulls at once store one release between them."""
    if quarter.end >= clock.today(now):
        raise ValueError("a quarter is released only once it has ended")
    found = _stored(quarter)
    if found is not None:
        return found
    body, sizes = _release_body(quarter, rules, _earlier(rules))
    text = _canonical(body)
    release = GrievanceRelease(
        quarter_start=quarter.start,
        quarter_end=quarter.end,
        body=text,
        digest=hashlib.sha256(text.encode()).hexdigest(),
        sizes=_canonical(sizes),
        computed_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(release)
    except sa.exc.IntegrityError:
        # Another pull stored this quarter's release first: theirs is the release.
        found = _stored(quarter)
        if found is None:
            raise
        return found
    return release


def for_report(closed_on: date, *, rules: Rules, now: datetime) -> GrievanceTable:
    """What a survey round closing on `closed_on` publishes about grievances: the
    release of the latest quarter ended by then, as stored, so the report and the
    organizers' page show the very same figures."""
    today = min(closed_on, clock.today(now))
    release = release_for(last_closed_quarter(today), rules=rules, now=now)
    return read(release.body)


def pull(*, actor: User, now: datetime, rules: Rules, exported: bool = False) -> Pulled:
    """The latest closed quarter's release, for the organizers' page or its CSV,
    and the pull recorded in the audit log (never the figures)."""
    quarter = last_closed_quarter(clock.today(now))
    release = release_for(quarter, rules=rules, now=now)
    audit.record(
        "grievance.counts_exported" if exported else "grievance.counts_viewed",
        actor=actor,
        now=now,
        subject=release,
        detail=f"quarter={quarter.start.isoformat()}",
    )
    db.session.flush()
    return Pulled(release=release, body=read(release.body))


def csv_of(pulled: Pulled, rows: list[list[Any]]) -> Iterator[str]:
    """The CSV of a release: its id, fingerprint and quarter first, so a
    spreadsheet passed around can be traced to what was published."""
    release = pulled.release
    preamble: list[list[Any]] = [
        ["release", release.id],
        ["digest", release.digest],
        ["quarter_start", release.quarter_start.isoformat()],
        ["quarter_end", release.quarter_end.isoformat()],
        [],
    ]
    yield from csv_lines(["grievance release"], [*preamble, *rows])


# What a release publishes ----------------------------------------------------------


def _earlier(rules: Rules) -> registry.Earlier:
    """Every group size the stored releases published a figure over."""
    by_figure: dict[str, dict[tuple[str, str], list[int]]] = {}
    for text in db.session.scalars(sa.select(GrievanceRelease.sizes)):
        for figure, level, scope, size in json.loads(text):
            by_figure.setdefault(figure, {}).setdefault((level, scope), []).append(size)
    return registry.Earlier(by_figure=by_figure, reach=rules.min_group_difference)


def _figure(key: Key) -> tuple[str, Place]:
    """The registry's name and place of a count's key."""
    if key[0] == "sector":
        return f"grievances:sector:{key[2]}", Place(Level.SECTOR, key[1])
    return "grievances:" + ":".join(key), UNION_WIDE


def _money_figure(category: str) -> str:
    return f"grievances:money:{category}"


@dataclass(slots=True)
class _Counted:
    counts: dict[Key, int]
    #: Per kind: [closed cases that recovered money, cents recovered].
    money: dict[str, list[int]]


def _count(quarter: Quarter) -> _Counted:
    """Every case opened by the quarter's end, as it stood that day: two
    groupings in the database, whatever the number of cases."""
    end = quarter.end
    still_open = sa.or_(Grievance.closed_on.is_(None), Grievance.closed_on > end)
    # A string first, so the database's answer is read as text, not as an outcome.
    state = sa.case(
        (still_open, "open"), else_=sa.func.coalesce(Grievance.outcome, "withdrawn")
    )
    # The step an open case stood at that day: its last step entered by then.
    step_then = (
        sa.select(StepRecord.step)
        .where(StepRecord.grievance_id == Grievance.id, StepRecord.entered_on <= end)
        .order_by(StepRecord.entered_on.desc(), StepRecord.id.desc())
        .limit(1)
        .correlate(Grievance)
        .scalar_subquery()
    )
    step = sa.case((still_open, step_then), else_=sa.null())
    money = sa.case((still_open, 0), else_=Grievance.money_recovered_cents)
    grouped = db.session.execute(
        sa.select(
            Grievance.category,
            state,
            step,
            sa.func.count(),
            sa.func.count(sa.case((money > 0, 1))),
            sa.func.coalesce(sa.func.sum(money), 0),
        )
        .where(Grievance.opened_on <= end)
        .group_by(Grievance.category, state, step)
    ).all()
    kinds = [*(c.value for c in GrievanceCategory), ALL]
    counts: dict[Key, int] = {("kind", c, s): 0 for c in kinds for s in [*STATES, ALL]}
    counts.update({("step", s.value): 0 for s in OPEN_STEPS})
    amounts = {c.value: [0, 0] for c in GrievanceCategory}
    for category, state_name, step_name, count, with_money, recovered in grouped:
        for c in (GrievanceCategory(category).value, ALL):
            for s in (str(state_name), ALL):
                counts[("kind", c, s)] += count
        if str(state_name) == "open":
            # A case has a step from the day it opens; intake if the record is gone.
            counts[("step", GrievanceStep(step_name or "intake").value)] += count
        amounts[GrievanceCategory(category).value][0] += int(with_money or 0)
        amounts[GrievanceCategory(category).value][1] += int(recovered or 0)

    counts.update(
        {("sector", s.value, state): 0 for s in Sector for state in SECTOR_STATES}
    )
    is_closed = sa.case((still_open, 0), else_=1)
    by_sector = db.session.execute(
        sa.select(Workplace.sector, sa.func.count(), sa.func.sum(is_closed))
        .join(Grievance, Grievance.workplace_id == Workplace.id)
        .where(Grievance.opened_on <= end)
        .group_by(Workplace.sector)
    ).all()
    for sector, count, closed_count in by_sector:
        scope = Sector(sector).value
        counts[("sector", scope, "closed")] = int(closed_count or 0)
        counts[("sector", scope, "open")] = count - int(closed_count or 0)
    return _Counted(counts=counts, money=amounts)


def _equations() -> list[Equation]:
    """Everything a reader could add up: each kind's row and each state's column,
    the steps of the open cases, and the sectors' open and closed cases."""
    categories = [c.value for c in GrievanceCategory]
    equations = [
        *(
            Equation(("kind", c, ALL), tuple(("kind", c, s) for s in STATES))
            for c in [*categories, ALL]
        ),
        *(
            Equation(("kind", ALL, s), tuple(("kind", c, s) for c in categories))
            for s in [*STATES, ALL]
        ),
        Equation(("kind", ALL, "open"), tuple(("step", s.value) for s in OPEN_STEPS)),
    ]
    sectors = [s.value for s in Sector]
    equations += [
        Equation(("kind", ALL, "open"), tuple(("sector", s, "open") for s in sectors)),
        Equation(
            ("kind", ALL, ALL),
            (("kind", ALL, "open"), *(("sector", s, "closed") for s in sectors)),
        ),
    ]
    return equations


def _release_body(
    quarter: Quarter, rules: Rules, earlier: registry.Earlier
) -> tuple[GrievanceTable, list[list[Any]]]:
    """The release's body, and the sizes of what it publishes exactly."""
    counted = _count(quarter)
    counts = counted.counts
    too_close = {
        key
        for key, value in counts.items()
        if earlier.clashes(*_figure(key), value, {})
    }
    statuses = disclosure.protect_counts(counts, _equations(), rules, forced=too_close)

    def shown(key: Key) -> Cell:
        if key in too_close:
            return {"s": CellStatus.TOO_CLOSE_TO_EARLIER}
        return cell(counts[key], statuses[key])

    sizes: list[list[Any]] = []
    for key, status in sorted(statuses.items(), key=repr):
        if status is Status.SHOWN and key not in too_close:
            figure, place = _figure(key)
            sizes.append([figure, *place.plain, counts[key]])

    money = counted.money
    cases_with_money = sum(cases for cases, _cents in money.values())
    money_too_close = {
        c
        for c, (cases, _cents) in money.items()
        if cases >= disclosure.MONEY_MIN_CASES
        and earlier.clashes(_money_figure(c), UNION_WIDE, cases, {})
    }
    total_too_close = earlier.clashes(
        _money_figure(ALL), UNION_WIDE, cases_with_money, {}
    )
    protected = disclosure.protect_money(
        {c: (cases, cents) for c, (cases, cents) in money.items()},
        withheld=money_too_close,
        total_withheld=total_too_close,
    )
    money_rows: list[MoneyRow] = []
    for c, cents in protected.by_key.items():
        if cents is not None:
            money_rows.append({"category": c, "money": cents})
            sizes.append([_money_figure(c), *UNION_WIDE.plain, money[c][0]])
        elif c in money_too_close:
            money_rows.append({"category": c, "s": CellStatus.TOO_CLOSE_TO_EARLIER})
        else:
            money_rows.append({"category": c, "s": CellStatus.TOO_FEW_CASES})
    total: MoneyCell
    if protected.total is not None:
        total = {"money": protected.total}
        sizes.append([_money_figure(ALL), *UNION_WIDE.plain, cases_with_money])
    elif total_too_close or money_too_close:
        total = {"s": CellStatus.TOO_CLOSE_TO_EARLIER}
    else:
        total = {"s": CellStatus.TOO_FEW_CASES}

    kinds = [*(c.value for c in GrievanceCategory), ALL]
    sectors: list[SectorCases] = [
        {
            "sector": s.value,
            "open": shown(("sector", s.value, "open")),
            "closed": shown(("sector", s.value, "closed")),
        }
        for s in Sector
    ]
    body: GrievanceTable = {
        "version": RELEASE_VERSION,
        "quarter": {"start": quarter.start.isoformat(), "end": quarter.end.isoformat()},
        "states": list(STATES),
        "rows": [
            {"category": c, "cells": [shown(("kind", c, s)) for s in [*STATES, ALL]]}
            for c in kinds
        ],
        "steps": [{"step": s.value, **shown(("step", s.value))} for s in OPEN_STEPS],
        "sectors": sectors,
        "money": money_rows,
        "total_money": total,
    }
    return body, sizes
