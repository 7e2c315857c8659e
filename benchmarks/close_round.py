"""Closing a survey round against the same aggregates written by hand in SQL.

    .venv/bin/python benchmarks/close_round.py --answers 200000 --workplaces 2000 \
        [--database-url URL] [--runs 3] [--json PATH] [--profile PATH]

1. Makes a fresh PostgreSQL database (by default union_close_bench on the server
   of $DATABASE_URL, else 127.0.0.1:5432; dropped and made again every run), builds
   the schema with the migrations and loads invented data from a fixed seed through
   the data generator (union.generate, with COPY): its workplaces section (the
   workplaces over the sectors, the jobs each lists, their funding), then
   surveys.open_round, the anonymous answers of one open round (log-normal answers
   per workplace, some at jobs a workplace does not list, blanks in every
   question), sealed with the round's key as the app seals a member's answers. Not
   timed. The boxes and the key are copied aside, to put the round back as it was
   before each close.
2. Times `survey.close_round` and the commit, step by step through its progress
   callback (opening the sealed answers, shuffle, counting, protecting counts,
   medians, noise, other records, writing).
3. Times the baseline: the same aggregates with no disclosure control, as a
   competent engineer would write them on PostgreSQL in three statements (counts
   of respondents and of every answer category with GROUPING SETS; wage quartiles
   with percentile_cont over six groupings; months since a raise over three),
   fetched into Python, nothing stored. It reads the answers in the clear, which
   exist once the round is closed: it does no opening.
4. Each is run --runs times, interleaved (close, on a round put back to open in
   SQL with its boxes and key, no answers in the clear and no artifacts, tables
   vacuumed; then the baseline on the answers that close wrote), and the medians
   are compared.

--json writes {"app_seconds", "hand_sql_seconds", "rounds", "answers", ...} for
benchmarks/run.py; --profile runs one more close under cProfile afterwards and
prints its hotspots. Everything here is invented; nothing reads real data.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import platform
import pstats
import resource
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from union import create_app, generate
from union.adapters.bulk import table
from union.db import db
from union.generate import organisation, surveys
from union.models import (
    PrivacySpend,
    PublishedFigure,
    ReportArtifact,
    RoundStatus,
    SurveyRound,
)
from union.services import survey

DEFAULT_DATABASE = "union_close_bench"
OPENED = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
CLOSED = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
#: Fixed keys for the invented data. Benchmark only.
CONFIG = {
    "SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdef",
    "ENCRYPTION_KEYS": ["YmVuY2gtZW5jcnlwdGlvbi1rZXktMzItYnl0ZXMtISE="],
    "LOOKUP_HASH_KEY": "bench-lookup-hash-key-not-for-production-0123456789",
    "MAIL_BACKEND": "memory",
    "PASSWORD_HASH_PROFILE": "CHEAPEST",
}
#: The progress messages of close_round in order, as short names for the table.
STEPS = (
    "open",
    "shuffle",
    "medians' cells",
    "medians, counting meanwhile",
    "protect counts",
    "noise",
    "other records",
    "write",
)
#: Where the round's boxes and key are kept to put it back before each close.
SEALED_COPY = "bench_sealed_answers_copy"
KEY_COPY = "bench_round_key_copy"


def say(message: str) -> None:
    print(
        f"[close-round {datetime.now(UTC).strftime('%H:%M:%S')}] {message}", flush=True
    )


# The database ----------------------------------------------------------------------


def target_url(given: str | None) -> sa.URL:
    """The database to build in: --database-url, else union_close_bench on the
    server of $DATABASE_URL (as benchmarks/run.py sets it), else on 127.0.0.1."""
    if given:
        url = sa.make_url(given)
    else:
        server = os.environ.get("DATABASE_URL", "")
        if server.startswith(("postgres://", "postgresql")):
            url = sa.make_url(server.replace("postgres://", "postgresql://", 1))
        else:
            url = sa.make_url("postgresql://postgres:postgres@127.0.0.1:5432/postgres")
        url = url.set(database=DEFAULT_DATABASE)
    if not url.drivername.startswith("postgresql"):
        raise SystemExit("the baseline uses percentile_cont: give a PostgreSQL URL")
    url = url.set(drivername="postgresql+psycopg")
    if "bench" not in (url.database or ""):
        # The database is dropped first: refuse anything that is not a benchmark's.
        raise SystemExit(f"{url.database!r} is dropped and made again: name it *bench*")
    return url


def fresh_database(url: sa.URL) -> None:
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        name = url.database
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


# Invented data ---------------------------------------------------------------------


def populate(answers: int, workplaces: int, seed: int) -> dict[str, int]:
    """Workplaces with their jobs and funding, and one open round's answers, made
    by the data generator's own sections and loaded with COPY."""
    scale = generate.Scale(
        members=0,
        workplaces=workplaces,
        years=1,
        grievances=0,
        seed=seed,
        survey_rounds=1,
        survey_answers=answers,
    )
    summary = generate.generate(
        scale,
        password_hash="",  # no accounts are made
        now=OPENED,
        progress=lambda _section, _done, _total: None,
        sections=(organisation.workplaces, surveys.open_round),
    )
    db.session.commit()
    round_id = db.session.scalar(sa.select(SurveyRound.id))
    assert round_id is not None
    with db.engine.begin() as connection:
        for copy, table in (
            (SEALED_COPY, "survey_sealed_answers"),
            (KEY_COPY, "survey_round_keys"),
        ):
            connection.execute(
                sa.text(
                    f"CREATE TABLE {copy} AS SELECT * FROM {table} "
                    "WHERE round_id = :round_id"
                ),
                {"round_id": round_id},
            )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(sa.text("VACUUM ANALYZE"))
    return {"round_id": round_id, **summary.rows}


# Timing ----------------------------------------------------------------------------


def reset_round(round_id: int) -> None:
    """The round open again as it was before closing, in SQL: no reports (nor the
    published figures and privacy spends they recorded), no answers in the clear,
    its boxes and key back in partitions of their own (closing dropped them), and
    the tables vacuumed."""
    db.session.remove()
    with db.engine.begin() as connection:
        for model in (ReportArtifact, PublishedFigure, PrivacySpend):
            connection.execute(
                sa.delete(table(model)).where(table(model).c.round_id == round_id)
            )
        connection.execute(sa.text(f"TRUNCATE survey_answers_round_{round_id}"))
        for copy, parent in (
            (SEALED_COPY, "survey_sealed_answers"),
            (KEY_COPY, "survey_round_keys"),
        ):
            partition = f"{parent}_round_{round_id}"
            if connection.scalar(sa.text(f"SELECT to_regclass('{partition}')")):
                connection.execute(sa.text(f"TRUNCATE {partition}"))
            else:
                connection.execute(
                    sa.text(
                        f"CREATE TABLE {partition} PARTITION OF {parent} "
                        f"FOR VALUES IN ({round_id})"
                    )
                )
            connection.execute(sa.text(f"INSERT INTO {parent} SELECT * FROM {copy}"))
        connection.execute(
            sa.update(table(SurveyRound))
            .where(SurveyRound.id == round_id)
            .values(
                status=RoundStatus.OPEN,
                closed_on=None,
                closed_by_id=None,
                respondents=None,
            )
        )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for name in (
            "survey_answers",
            "survey_sealed_answers",
            "report_artifacts",
            "published_figures",
        ):
            c.execute(sa.text(f"VACUUM ANALYZE {name}"))


def close_once(round_id: int) -> tuple[float, dict[str, float], int]:
    """Seconds for close_round and the commit, the seconds of each step, artifacts."""
    marks: list[float] = []
    survey_round = db.session.get(SurveyRound, round_id)
    assert survey_round is not None
    assert survey_round.is_open
    started = time.perf_counter()
    survey.close_round(
        survey_round,
        actor=None,
        now=CLOSED,
        progress=lambda _message: marks.append(time.perf_counter()),
    )
    built = time.perf_counter()
    db.session.commit()
    finished = time.perf_counter()
    assert len(marks) == len(STEPS), f"close_round reported {len(marks)} steps"
    steps = {"count and flush": marks[0] - started}
    ends = [*marks[1:], built]
    for name, begin, end in zip(STEPS, marks, ends, strict=True):
        steps[name] = end - begin
    steps["commit"] = finished - built
    artifacts = db.session.scalar(
        sa.select(sa.func.count()).where(ReportArtifact.round_id == round_id)
    )
    db.session.remove()
    return finished - started, steps, int(artifacts or 0)


def _category_counts() -> str:
    """count(*) FILTER for every category of every question, as close_round bands them."""
    yes_no = {
        "health_benefits": "a.health_benefits",
        "dental_benefits": "a.dental_benefits",
        "social_assistance": "a.relies_on_social_assistance",
        "discrimination": "a.discrimination_lived_experience",
    }
    parts: list[str] = []
    for kind in ("permanent_full_time", "permanent_part_time", "casual", "temporary"):
        parts.append(f"count(*) FILTER (WHERE a.employment_type = '{kind}')")
    parts.append("count(*) FILTER (WHERE a.employment_type IS NULL)")
    for column in yes_no.values():
        parts += [
            f"count(*) FILTER (WHERE {column})",
            f"count(*) FILTER (WHERE NOT {column})",
            f"count(*) FILTER (WHERE {column} IS NULL)",
        ]
    for column in ("a.paid_sick_days", "a.vacation_days"):
        parts += [
            f"count(*) FILTER (WHERE {column} > 0)",
            f"count(*) FILTER (WHERE {column} = 0)",
            f"count(*) FILTER (WHERE {column} IS NULL)",
        ]
    never = "coalesce(a.never_had_raise, false)"
    months = "a.months_since_raise"
    parts += [
        f"count(*) FILTER (WHERE NOT {never} AND {months} < 12)",
        f"count(*) FILTER (WHERE NOT {never} AND {months} BETWEEN 12 AND 23)",
        f"count(*) FILTER (WHERE NOT {never} AND {months} >= 24)",
        f"count(*) FILTER (WHERE {never})",
        f"count(*) FILTER (WHERE NOT {never} AND {months} IS NULL)",
    ]
    for value in ("yes", "no", "not_sure"):
        parts.append(f"count(*) FILTER (WHERE a.grant_funded = '{value}')")
    parts.append("count(*) FILTER (WHERE a.grant_funded IS NULL)")
    hours = "a.weekly_hours"
    parts += [
        f"count(*) FILTER (WHERE {hours} < 15)",
        f"count(*) FILTER (WHERE {hours} BETWEEN 15 AND 29)",
        f"count(*) FILTER (WHERE {hours} BETWEEN 30 AND 39)",
        f"count(*) FILTER (WHERE {hours} >= 40)",
        f"count(*) FILTER (WHERE {hours} IS NULL)",
    ]
    return ",\n       ".join(parts)


#: The baseline: what close_round computes, without disclosure control, in three
#: statements. Sector comes with the workplace; every query reads the round once.
BASELINE = {
    "counts": f"""
SELECT w.sector, a.workplace_id, count(*) AS respondents,
       {_category_counts()}
FROM survey_answers a JOIN workplaces w ON w.id = a.workplace_id
WHERE a.round_id = :round_id
GROUP BY GROUPING SETS ((w.sector, a.workplace_id), (w.sector), ())
""",
    "wage quartiles": """
SELECT w.sector, a.workplace_id, a.classification_id, count(*) AS answered,
       percentile_cont(ARRAY[0.25, 0.5, 0.75])
           WITHIN GROUP (ORDER BY a.hourly_wage_cents) AS quartiles
FROM survey_answers a JOIN workplaces w ON w.id = a.workplace_id
WHERE a.round_id = :round_id AND a.hourly_wage_cents IS NOT NULL
GROUP BY GROUPING SETS (
    (w.sector, a.workplace_id, a.classification_id),
    (w.sector, a.classification_id),
    (a.classification_id),
    (w.sector, a.workplace_id),
    (w.sector),
    ()
)
""",
    "months quartiles": """
SELECT w.sector, a.workplace_id, count(*) AS answered,
       percentile_cont(ARRAY[0.25, 0.5, 0.75])
           WITHIN GROUP (ORDER BY a.months_since_raise) AS quartiles
FROM survey_answers a JOIN workplaces w ON w.id = a.workplace_id
WHERE a.round_id = :round_id AND a.months_since_raise IS NOT NULL
GROUP BY GROUPING SETS ((w.sector, a.workplace_id), (w.sector), ())
""",
}


def baseline_once(round_id: int) -> tuple[float, dict[str, float], dict[str, int]]:
    """Seconds for the three statements fetched into Python, each one's, rows."""
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    started = time.perf_counter()
    with db.engine.connect() as connection:
        for name, query in BASELINE.items():
            begin = time.perf_counter()
            fetched = connection.execute(
                sa.text(query), {"round_id": round_id}
            ).fetchall()
            seconds[name] = time.perf_counter() - begin
            rows[name] = len(fetched)
    return time.perf_counter() - started, seconds, rows


def stub_count_protection() -> None:
    """Diagnostic only: primary suppression alone, no complementary search, so the
    rest of close_round can be timed at sizes where protect_counts does not finish.
    A close timed this way is NOT the app's figure and must not be reported as one."""
    from union.rules import disclosure

    def primary_only(
        counts: Any, equations: Any, rules: Any = disclosure.DEFAULT_RULES, **kw: Any
    ) -> dict[Any, Any]:
        forced = set(kw.get("forced", ()))
        small = range(1, rules.min_count)
        return {
            key: disclosure.Status.HIDDEN
            if key in forced
            else disclosure.Status.FEWER_THAN_MIN
            if value in small
            else disclosure.Status.SHOWN
            for key, value in counts.items()
        }

    disclosure.protect_counts = primary_only


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


STATUS = Path("/proc/self/status")


def reset_peak() -> None:
    """Starts the kernel's peak-memory count (VmHWM) afresh, so the peak while
    closing is not the setup's."""
    if STATUS.exists():
        Path("/proc/self/clear_refs").write_text("5")


def peak_since_reset_mb() -> float | None:
    if not STATUS.exists():
        return None
    for line in STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def profile_close(round_id: int, path: Path | None) -> str:
    reset_round(round_id)
    profiler = cProfile.Profile()
    profiler.enable()
    close_once(round_id)
    profiler.disable()
    if path:
        profiler.dump_stats(path)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(20)
    return out.getvalue()


def median_steps(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=200_000)
    parser.add_argument("--workplaces", type=int, default=2000)
    parser.add_argument("--database-url", help="a PostgreSQL database named *bench*")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--stub-protect-counts",
        action="store_true",
        help="diagnostic: time the rest of close_round with complementary "
        "suppression switched off (not the app's figure)",
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="",
        help="profile one more close with cProfile (and dump the stats to PATH)",
    )
    args = parser.parse_args()

    if args.stub_protect_counts:
        say("DIAGNOSTIC: protect_counts replaced by primary suppression only")
        stub_count_protection()
    url = target_url(args.database_url)
    say(f"fresh database {url.database} on {url.host}:{url.port}")
    fresh_database(url)
    app = create_app(
        {**CONFIG, "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False)}
    )
    import flask_migrate

    with app.app_context():
        flask_migrate.upgrade()
        say(f"loading {args.answers:,} answers at {args.workplaces:,} workplaces")
        began = time.perf_counter()
        loaded = populate(args.answers, args.workplaces, args.seed)
        round_id = loaded.pop("round_id")
        say(f"loaded in {time.perf_counter() - began:.1f} s: {loaded}")
        server = db.session.scalar(sa.text("SHOW server_version"))
        db.session.remove()
        setup_peak = peak_rss_mb()
        reset_peak()

        closes: list[float] = []
        close_steps: list[dict[str, float]] = []
        baselines: list[float] = []
        baseline_steps: list[dict[str, float]] = []
        artifacts = 0
        baseline_rows: dict[str, int] = {}
        for number in range(1, args.runs + 1):
            reset_round(round_id)
            seconds, steps, artifacts = close_once(round_id)
            closes.append(seconds)
            close_steps.append(steps)
            load = os.getloadavg()[0]
            say(
                f"run {number}: close {seconds:.2f} s, {artifacts} artifacts, load {load:.1f}"
            )
            seconds, parts, baseline_rows = baseline_once(round_id)
            baselines.append(seconds)
            baseline_steps.append(parts)
            say(f"run {number}: baseline {seconds:.2f} s {baseline_rows}")
        timed_peak = peak_since_reset_mb()
        profile_text = None
        if args.profile is not None:
            say("one more close under cProfile")
            profile_text = profile_close(
                round_id, Path(args.profile) if args.profile else None
            )

    close_median = statistics.median(closes)
    baseline_median = statistics.median(baselines)
    steps = median_steps(close_steps)
    sql_steps = median_steps(baseline_steps)
    ratio = close_median / baseline_median
    unshuffled = close_median - steps["shuffle"]
    unopened = unshuffled - steps["open"]
    result: dict[str, Any] = {
        "diagnostic_stub_protect_counts": args.stub_protect_counts,
        "answers": args.answers,
        "workplaces": args.workplaces,
        "rounds": args.runs,
        "app_seconds": round(close_median, 3),
        "hand_sql_seconds": round(baseline_median, 3),
        "ratio": round(ratio, 2),
        "ratio_without_shuffle": round(unshuffled / baseline_median, 2),
        "ratio_without_opening_and_shuffle": round(unopened / baseline_median, 2),
        "app_runs": [round(s, 3) for s in closes],
        "hand_sql_runs": [round(s, 3) for s in baselines],
        "app_steps": {k: round(v, 3) for k, v in steps.items()},
        "hand_sql_steps": {k: round(v, 3) for k, v in sql_steps.items()},
        "hand_sql_rows": baseline_rows,
        "artifacts": artifacts,
        "peak_rss_mb": round(max(setup_peak, timed_peak or 0.0), 1),
        "setup_peak_rss_mb": round(setup_peak, 1),
        "timed_peak_rss_mb": timed_peak and round(timed_peak, 1),
        "postgresql": server,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "python": platform.python_version(),
    }

    print()
    print(
        f"| answers | workplaces | close (median of {args.runs}) | hand SQL | ratio |"
    )
    print("|---:|---:|---:|---:|---:|")
    print(
        f"| {args.answers:,} | {args.workplaces:,} | {close_median:.2f} s | "
        f"{baseline_median:.2f} s | {ratio:.2f}x |"
    )
    print()
    print("close_round, median seconds by step:")
    for name, value in steps.items():
        print(f"  {name:<16} {value:8.2f}")
    print("hand-written SQL, median seconds by statement:")
    for name, value in sql_steps.items():
        print(f"  {name:<16} {value:8.2f}  ({baseline_rows[name]:,} rows)")
    print(f"all runs: close {result['app_runs']}, hand SQL {result['hand_sql_runs']}")
    print(f"ratio without the shuffle: {result['ratio_without_shuffle']:.2f}x")
    print(
        "ratio without opening the sealed answers and the shuffle: "
        f"{result['ratio_without_opening_and_shuffle']:.2f}x"
    )
    print(f"artifacts per close: {artifacts:,}")
    print(
        f"peak RSS: {result['peak_rss_mb']:.0f} MB over the whole process, "
        f"{setup_peak:.0f} MB by the end of the setup, "
        f"{timed_peak or float('nan'):.0f} MB during the timed runs (VmHWM)"
    )
    print(f"PostgreSQL {server}, {os.cpu_count()} CPUs, load {result['load_average']}")
    if profile_text:
        print()
        print(profile_text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    if not math.isfinite(ratio):
        raise SystemExit("no ratio")


if __name__ == "__main__":
    main()
