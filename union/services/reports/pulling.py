"""Pulling stored reports: the catalogue of a closed round, one artifact, its CSV.

Nothing here computes anything from answers; it returns what building.py stored
when the round closed, and records every pull in the audit log (who, which
artifact, when; never the figures).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from union.adapters.csvsafe import csv_lines
from union.db import database_integer, db
from union.errors import DomainError, NotFound
from union.models import ReportArtifact, Sector, SurveyRound, User, Workplace
from union.services import audit
from union.services.reports import catalogue
from union.services.reports.artifact import Body, Level, Place, read
from union.services.reports.catalogue import Report, ReportName
from union.services.reports.presenting import Table


class OutsideCatalogue(DomainError):
    """A request for something the catalogue does not publish: an open round, a
    report or level it does not have, a filter. Views answer 400."""


@dataclass(frozen=True, slots=True)
class Pulled:
    artifact: ReportArtifact
    report: Report
    body: Body


def closed_round(round_id: int) -> SurveyRound:
    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None:
        raise NotFound
    if survey_round.is_open:
        raise OutsideCatalogue("reports exist only for closed rounds")
    return survey_round


def check_request(report: str, level: str, scope: str) -> tuple[Report, Place]:
    """The catalogue entry and the place asked for, if the catalogue has them."""
    found = catalogue.entry(report)
    if found is None or level not in found.levels:
        raise OutsideCatalogue("not in the catalogue")
    place = Place(Level(level), scope)
    if place.level is Level.UNION and scope:
        raise OutsideCatalogue("union-wide reports take no scope")
    if place.level is Level.SECTOR and scope not in {s.value for s in Sector}:
        raise OutsideCatalogue("unknown sector")
    if place.level is Level.WORKPLACE and database_integer(scope) is None:
        raise OutsideCatalogue("unknown workplace")
    return found, place


def pull(
    survey_round: SurveyRound,
    report: str,
    level: str,
    scope: str,
    *,
    actor: User,
    now: datetime,
    exported: bool = False,
) -> Pulled:
    entry, place = check_request(report, level, scope)
    artifact = db.session.scalar(
        sa.select(ReportArtifact).where(
            ReportArtifact.round_id == survey_round.id,
            ReportArtifact.report == entry.name.value,
            ReportArtifact.level == place.level.value,
            ReportArtifact.scope == place.scope,
        )
    )
    if artifact is None:
        raise NotFound
    audit.record_report_pull(
        f"{report}/{level}/{scope or '-'}/round {survey_round.id}",
        actor=actor,
        now=now,
        artifact_id=artifact.id,
        exported=exported,
    )
    db.session.flush()
    return Pulled(artifact=artifact, report=entry, body=read(artifact.body))


def workplaces_with_reports(survey_round: SurveyRound) -> list[tuple[str, str]]:
    """(scope, name) of every workplace the round has workplace reports for."""
    scopes = db.session.scalars(
        sa.select(ReportArtifact.scope).where(
            ReportArtifact.round_id == survey_round.id,
            ReportArtifact.level == Level.WORKPLACE.value,
            ReportArtifact.report == ReportName.RESPONDENTS.value,
        )
    ).all()
    found = db.session.scalars(
        sa.select(Workplace)
        .where(Workplace.id.in_([int(scope) for scope in scopes]))
        .order_by(Workplace.employer, Workplace.site, Workplace.id)
    )
    return [(str(workplace.id), workplace.name) for workplace in found]


def csv_of(pulled: Pulled, header: list[str], rows: list[list[Any]]) -> Iterator[str]:
    """The CSV of a pulled artifact: the artifact's id and digest first, so a
    spreadsheet passed around can be traced back to what was published."""
    body = pulled.body
    preamble: list[list[Any]] = [
        ["artifact", pulled.artifact.id],
        ["digest", pulled.artifact.digest],
        ["round", body["round"]["name"]],
        ["report", body["report"]],
        ["level", body["level"]],
        ["scope", body.get("scope_name") or body["scope"]],
        [],
    ]
    yield from csv_lines(["report artifact"], [*preamble, header, *rows])


def csv_of_table(table: Table) -> Iterator[str]:
    """One table of a report page on its own, for a spreadsheet: its columns as
    the only header, then one line per row, with counts as plain numbers and
    withheld figures in the page's own words."""
    yield from csv_lines(table.columns, table.raw_rows)
