"""What the report protections cost a union: how much of what could be
published is published, and how far the noisy figures are from the truth.

    .venv/bin/python benchmarks/disclosure_cost.py [--sizes demo,60,500,5000,100000]
        [--database-url URL] [--markdown PATH]

For each size it fills a fresh database with invented data (the demo, or
union.generate: two years of quarterly survey rounds, a quarter of the members
answering each round, the rounds closed by the app itself with the default
rules), then reads every stored artifact and counts, union-wide and by sector:

- exact count cells: shown, "fewer than 5", hidden (complementary suppression,
  near-unanimous answers, participation) and withheld because the group is 1 to
  9 people from an earlier publication of the same question;
- medians: published over the rows a wage or raise table has;
- the sensitive questions: releases made, not made for the yearly budget, or
  counted only union-wide; and for those made, the mean absolute difference
  between the noisy figure and the true count (from the answers, which only this
  script reads) beside the stated give-or-take.

SQLite in a temporary folder by default; --database-url (a PostgreSQL server)
for the largest sizes. Everything is invented.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

WORKPLACES = {60: 5, 500: 25, 5000: 150, 100000: 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="demo,60,500,5000,100000")
    parser.add_argument("--database-url", help="a PostgreSQL server for every size")
    parser.add_argument("--markdown", help="append the table to this file")
    arguments = parser.parse_args()
    rows = []
    for size in arguments.sizes.split(","):
        started = time.monotonic()
        counted = measure(size, arguments.database_url)
        counted["seconds"] = round(time.monotonic() - started)
        rows.append(counted)
        print(json.dumps(counted), file=sys.stderr)
    table = markdown(rows)
    print(table)
    if arguments.markdown:
        with Path(arguments.markdown).open("a") as out:
            out.write(table + "\n")


def measure(size: str, server: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        if server:
            url = _fresh_postgresql(server, f"union_cost_{size}")
        else:
            url = f"sqlite:///{folder}/cost.sqlite3"
        os.environ["DATABASE_URL"] = url
        from flask_migrate import upgrade

        from union import create_app

        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_PROFILE": "CHEAPEST"}
        )
        with app.app_context():
            upgrade(directory=str(Path(__file__).parents[1] / "migrations"))
            members = _fill(size)
            counted = _count()
            counted["members"] = members
            counted["size"] = size
            from union.db import db

            db.session.remove()
            db.engine.dispose()
        return counted


def _fresh_postgresql(server: str, name: str) -> str:
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return str(sa.make_url(server).set(database=name))


def _fill(size: str) -> int:
    from union import generate
    from union.db import db
    from union.generate import demo
    from union.models import Member

    now = datetime.now(UTC)
    if size == "demo":
        demo.load_demo(password="not-a-real-password", now=now)
    else:
        members = int(size)
        scale = generate.Scale.of(
            members=members, workplaces=WORKPLACES.get(members, members // 50), years=2
        )
        generate.generate(scale, password_hash="x", now=now, progress=lambda *_: None)
    db.session.commit()
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(Member)) or 0)


def _count() -> dict[str, Any]:
    from union.db import db
    from union.models import ReportArtifact, SurveyAnswer
    from union.services.reports.artifact import read

    cells: Counter[str] = Counter()
    tables: Counter[str] = Counter()
    medians: Counter[str] = Counter()
    noisy: Counter[str] = Counter()
    errors: list[int] = []
    spreads: list[int] = []
    rounds = set()
    truth_cache: dict[tuple[int, str, str], dict[str, int]] = {}
    for round_id, text in db.session.execute(
        sa.select(ReportArtifact.round_id, ReportArtifact.body)
    ):
        body = read(text)
        rounds.add(round_id)
        if body["level"] == "workplace":
            for row in body.get("medians", ()):
                medians["published" if "median" in row else "withheld"] += 1
            continue
        for distribution in body.get("distributions", ()):
            status = distribution.get("s")
            tables["too close to an earlier report" if status else "published"] += 1
            for row in distribution["rows"]:
                cells["shown" if "n" in row else str(row.get("s"))] += 1
        for row in body.get("medians", ()):
            medians["published" if "median" in row else "withheld"] += 1
        for release in body.get("noisy", ()):
            if "rows" not in release:
                noisy[str(release["s"])] += 1
                continue
            noisy["released"] += 1
            truth = _truth(round_id, release["question"], body, truth_cache)
            for row in release["rows"]:
                errors.append(abs(row["about"] - truth.get(row["category"], 0)))
                spreads.append(row["give_or_take"])
    answers = db.session.scalar(sa.select(sa.func.count()).select_from(SurveyAnswer))
    total = sum(cells.values()) or 1
    return {
        "rounds": len(rounds),
        "answers": answers,
        "cells_shown_percent": round(100 * cells["shown"] / total),
        "cells": dict(cells),
        "tables": dict(tables),
        "medians_published_percent": round(
            100 * medians["published"] / (sum(medians.values()) or 1)
        ),
        "noisy": dict(noisy),
        "noisy_mean_error": round(statistics.mean(errors), 1) if errors else None,
        "noisy_give_or_take": round(statistics.median(spreads), 1) if spreads else None,
    }


def _truth(
    round_id: int,
    question: str,
    body: dict[str, Any],
    cache: dict[tuple[int, str, str], dict[str, int]],
) -> dict[str, int]:
    """True counts of a sensitive question at the body's place, from the answers."""
    from union.db import db
    from union.models import SurveyAnswer, Workplace

    key = (round_id, question, body["scope"])
    if key not in cache:
        column = getattr(SurveyAnswer, question)
        statement = (
            sa.select(column, sa.func.count())
            .select_from(SurveyAnswer)
            .where(SurveyAnswer.round_id == round_id)
            .group_by(column)
        )
        if body["level"] == "sector":
            statement = statement.join(
                Workplace, Workplace.id == SurveyAnswer.workplace_id
            ).where(Workplace.sector == body["scope"])
        found = {
            {True: "yes", False: "no", None: "no_answer"}[value]: count
            for value, count in db.session.execute(statement)
        }
        cache[key] = found
    return cache[key]


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| union | members | rounds | answers | count cells shown | tables withheld "
        "(too close to an earlier report) | medians published | noisy releases made "
        "/ not made for the budget / sector counted union-wide | noisy mean error "
        "(stated give-or-take) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        tables = row["tables"]
        withheld = tables.get("too close to an earlier report", 0)
        all_tables = sum(tables.values()) or 1
        noisy = row["noisy"]
        lines.append(
            f"| {row['size']} | {row['members']:,} | {row['rounds']} | "
            f"{row['answers']:,} | {row['cells_shown_percent']}% | "
            f"{round(100 * withheld / all_tables)}% | "
            f"{row['medians_published_percent']}% | "
            f"{noisy.get('released', 0)} / {noisy.get('budget_spent', 0)} / "
            f"{noisy.get('counted_union_wide', 0)} | "
            f"{row['noisy_mean_error']} ({row['noisy_give_or_take']}) |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
