"""Can anyone tie a survey answer to the member who gave it, through what the
database keeps of its own accord?

Each member answers in a transaction of their own, committed, as on the live
site, with a wage no one else gives, so a guess at "member -> answer" can be
scored against the truth. The attacks are the ones in the tracker issue: join the
receipts to the answers on PostgreSQL's transaction id (`xmin`), pair them by the
order they sit in the table (`ctid`, SQLite's rowid), and do the same in a copy
taken while the round is open (`pg_dump --data-only`, SQLite's online backup as
`union backup` makes it).

The positive control writes as the app did before answers were sealed (the
answer in the clear and the receipt in one transaction): every attack then links
every member, so the attacks work. Against the app nothing links while the round
is open (only sealed boxes, which nothing in the database opens), and after it
closes the answers are the closing transaction's and in an order unrelated to the
receipts'. The one residual, a copy from mid-round together with ENCRYPTION_KEYS,
is shown for what it is.

On SQLite by default; on PostgreSQL with TEST_DATABASE_URL (the pg_dump tests
skip elsewhere, saying so).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask

from tests import factories
from tests.conftest import (
    FIXED_NOW,
    TEST_DATABASE_URL,
    TEST_ENCRYPTION_KEY,
    config_for_tests,
    reset_schema,
)
from union import create_app
from union.adapters import sealing
from union.adapters.backup import make_backup
from union.db import db
from union.errors import InvalidTransition
from union.models import (
    ReportArtifact,
    SurveyAnswer,
    SurveyReceipt,
    SurveyRound,
    sealed_answers,
)
from union.services import survey

POSTGRESQL = TEST_DATABASE_URL.startswith("postgresql")
PHYSICAL = "ctid" if POSTGRESQL else "rowid"
#: Members who answer: enough that chance pairings are rare and easy to bound.
MEMBERS = 300
#: For a uniformly random order, the number of members paired with their own
#: answer by position is about Poisson(1): 13 or more happens less than once in
#: ten thousand million runs.
CHANCE_PAIRINGS = 12
#: Spearman's rho between answering order and stored order, for a random order of
#: 300, has a standard deviation of 1/sqrt(299) = 0.058: beyond 0.4 is 6.9 of them,
#: less than once in a hundred thousand million runs.
CHANCE_RHO = 0.4


def wage_of(position: int) -> int:
    return 1500 + 25 * position


@dataclass
class World:
    app: Flask
    url: str
    round_id: int = 0
    workplace_id: int = 0
    job_id: int = 0
    #: Member ids in the order they answer.
    members: list[int] = field(default_factory=list)
    #: Each member's wage, which no one else gives.
    truth: dict[int, int] = field(default_factory=dict)

    def answers(self, member_id: int) -> survey.Answers:
        return survey.Answers(
            workplace_id=self.workplace_id,
            classification_id=self.job_id,
            hourly_wage_cents=self.truth[member_id],
        )


def app_on(url: str) -> Flask:
    return create_app(config_for_tests(SQLALCHEMY_DATABASE_URI=url))


@pytest.fixture
def world(fresh_database_url: str) -> Iterator[World]:
    """A fresh database with a workplace, a job, MEMBERS members and an open round,
    all committed."""
    app = app_on(fresh_database_url)
    reset_schema(app)
    made = World(app, fresh_database_url)
    with app.app_context():
        make = factories.Factories(FIXED_NOW)
        workplace, job = make.workplace(), make.classification()
        people = [make.member(workplace) for _ in range(MEMBERS)]
        survey_round = survey.open_round("Spring", actor=None, now=FIXED_NOW)
        db.session.commit()
        made.round_id, made.workplace_id, made.job_id = (
            survey_round.id,
            workplace.id,
            job.id,
        )
        made.members = [person.id for person in people]
        made.truth = {m: wage_of(n) for n, m in enumerate(made.members)}
        db.session.remove()
    try:
        yield made
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# Writing ----------------------------------------------------------------------


def todays_write(world: World, member_id: int) -> None:
    """The positive control: what answering wrote before this change, the answer
    in the clear and the receipt, in one transaction."""
    db.session.add(SurveyReceipt(round_id=world.round_id, member_id=member_id))
    db.session.flush()
    db.session.add(
        SurveyAnswer(
            round_id=world.round_id,
            workplace_id=world.workplace_id,
            classification_id=world.job_id,
            hourly_wage_cents=world.truth[member_id],
        )
    )


def the_apps_write(world: World, member_id: int) -> None:
    from union.models import Member

    member = db.session.get(Member, member_id)
    survey_round = db.session.get(SurveyRound, world.round_id)
    assert member is not None and survey_round is not None
    survey.answer(member, survey_round, world.answers(member_id), now=FIXED_NOW)


def everyone_answers(
    world: World,
    write: Callable[[World, int], None],
    members: list[int] | None = None,
) -> None:
    """Each member in a transaction of their own, committed."""
    with world.app.app_context():
        for member_id in world.members if members is None else members:
            write(world, member_id)
            db.session.commit()
        db.session.remove()


def close(world: World) -> None:
    with world.app.app_context():
        survey_round = db.session.get(SurveyRound, world.round_id)
        assert survey_round is not None
        survey.close_round(survey_round, actor=None, now=FIXED_NOW + timedelta(days=30))
        db.session.commit()
        db.session.remove()


# Attacks ----------------------------------------------------------------------


def correct(guesses: dict[int, int], world: World) -> int:
    """How many members a guess "member -> wage" gets right."""
    return sum(world.truth.get(member) == wage for member, wage in guesses.items())


def scalars(world: World, sql: str) -> list[Any]:
    with world.app.app_context():
        found = list(db.session.scalars(sa.text(sql), {"id": world.round_id}))
        db.session.remove()
        return found


def receipts_in_stored_order(world: World) -> list[int]:
    return scalars(
        world,
        "SELECT member_id FROM survey_receipts WHERE round_id = :id "  # noqa: S608
        f"ORDER BY {PHYSICAL}",
    )


def wages_in_stored_order(world: World) -> list[int]:
    return scalars(
        world,
        "SELECT hourly_wage_cents FROM survey_answers WHERE round_id = :id "  # noqa: S608
        f"ORDER BY {PHYSICAL}",
    )


def link_by_stored_order(world: World) -> dict[int, int]:
    """Receipt n goes with answer n; while no answer is in the clear, with none."""
    receipts, wages = receipts_in_stored_order(world), wages_in_stored_order(world)
    return dict(zip(receipts, wages, strict=False))


def link_by_xmin(world: World) -> dict[int, int]:
    """The tracker issue's join."""
    with world.app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT r.member_id, a.hourly_wage_cents FROM survey_receipts r "
                "JOIN survey_answers a ON a.round_id = r.round_id AND a.xmin = r.xmin "
                "WHERE r.round_id = :id"
            ),
            {"id": world.round_id},
        ).all()
        db.session.remove()
    return dict(rows)


def spearman(world: World, wages_in_order: list[int]) -> float:
    """Rank correlation between the order members answered in and the order
    their answers are stored in (no ties: both are positions)."""
    answered = {world.truth[m]: n for n, m in enumerate(world.members)}
    pairs = [(answered[wage], stored) for stored, wage in enumerate(wages_in_order)]
    n = len(pairs)
    squares = sum((a - b) ** 2 for a, b in pairs)
    return 1 - 6 * squares / (n * (n * n - 1))


# Copies -----------------------------------------------------------------------


@dataclass
class Copy:
    """What a copy of the database holds of the survey, in the order it holds it."""

    receipts: list[int]
    wages: list[int]
    boxes: list[bytes]
    #: Each round key as stored (encrypted with ENCRYPTION_KEYS).
    keys: list[str]
    raw: bytes


def pg_dump(world: World) -> Copy:
    """`pg_dump --data-only`, parsed: its COPY blocks, in the order of their rows."""
    url = sa.make_url(world.url)
    environment = {
        **os.environ,
        "PGHOST": url.host or "",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "",
        "PGPASSWORD": url.password or "",
        "PGDATABASE": url.database or "",
    }
    text = subprocess.run(
        ["pg_dump", "--data-only", "--no-owner"],  # noqa: S607 -- the test needs it on PATH
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    blocks: dict[str, tuple[list[str], list[list[str]]]] = {}
    lines = iter(text.splitlines())
    for line in lines:
        found = re.match(r"COPY (?:public\.)?(\S+) \((.*)\) FROM stdin;", line)
        if not found:
            continue
        rows = []
        for row in lines:
            if row == "\\.":
                break
            rows.append(row.split("\t"))
        blocks[found.group(1)] = ([c.strip() for c in found.group(2).split(",")], rows)

    def column(prefix: str, name: str) -> list[str]:
        values: list[str] = []
        for table, (columns, rows) in blocks.items():
            if table == prefix or table.startswith(prefix + "_"):
                values += [row[columns.index(name)] for row in rows]
        return values

    def bytea(value: str) -> bytes:
        assert value.startswith("\\\\x")
        return bytes.fromhex(value[3:])

    keys = column("survey_round_keys", "sealing_key")
    return Copy(
        receipts=[int(v) for v in column("survey_receipts", "member_id")],
        wages=[int(v) for v in column("survey_answers", "hourly_wage_cents")],
        boxes=[bytea(v) for v in column("survey_sealed_answers", "sealed")],
        keys=keys,
        raw=text.encode(),
    )


def sqlite_backup(world: World, folder: Path) -> Copy:
    """`union backup` (SQLite's online backup), read back in rowid order."""
    with world.app.app_context():
        result = make_backup(db.engine, folder / "documents", folder, now=FIXED_NOW)
        db.session.remove()
    path = result.folder / result.database_file
    connection = sqlite3.connect(path)
    try:

        def column(sql: str) -> list[Any]:
            return [row[0] for row in connection.execute(sql)]

        copy = Copy(
            receipts=column("SELECT member_id FROM survey_receipts ORDER BY rowid"),
            wages=column("SELECT hourly_wage_cents FROM survey_answers ORDER BY rowid"),
            boxes=column("SELECT sealed FROM survey_sealed_answers ORDER BY rowid"),
            keys=column("SELECT sealing_key FROM survey_round_keys"),
            raw=path.read_bytes(),
        )
    finally:
        connection.close()
    return copy


def take_copy(world: World, folder: Path) -> Copy:
    if POSTGRESQL:
        if shutil.which("pg_dump") is None:
            pytest.skip("pg_dump is not installed")
        return pg_dump(world)
    return sqlite_backup(world, folder)


def openers_from(copy: Copy, world: World) -> list[sealing.Opener]:
    """Every way to use what the copy holds in the clear as the round's key."""
    context = survey.seal_context(world.round_id)
    candidates: list[bytes] = []
    for stored in copy.keys:
        token = stored.encode()
        candidates += [token[:32], token[-32:]]
        candidates += [base64.urlsafe_b64decode(token)[i : i + 32] for i in (0, 9, 25)]
    return [sealing.Opener(c, context=context) for c in candidates if len(c) == 32]


# The positive control -----------------------------------------------------------


def test_positive_control_todays_writes_are_linked_every_way(world, tmp_path):
    everyone_answers(world, todays_write)
    assert correct(link_by_stored_order(world), world) == MEMBERS
    assert spearman(world, wages_in_stored_order(world)) == pytest.approx(1.0)
    if POSTGRESQL:
        assert correct(link_by_xmin(world), world) == MEMBERS
    copy = take_copy(world, tmp_path)
    assert correct(dict(zip(copy.receipts, copy.wages, strict=True)), world) == MEMBERS


# While the round is open ----------------------------------------------------------


def test_while_a_round_is_open_nothing_in_the_database_links_an_answer(world):
    everyone_answers(world, the_apps_write)
    assert wages_in_stored_order(world) == []
    assert link_by_stored_order(world) == {}
    if POSTGRESQL:
        assert link_by_xmin(world) == {}
        # What the xmin join does pair with each receipt: a box.
        paired = scalars(
            world,
            "SELECT s.sealed FROM survey_receipts r JOIN survey_sealed_answers s "
            "ON s.round_id = r.round_id AND s.xmin = r.xmin WHERE r.round_id = :id",
        )
        assert len(paired) == MEMBERS
    stored = scalars(
        world, "SELECT sealed FROM survey_sealed_answers WHERE round_id = :id"
    )
    assert len(stored) == MEMBERS
    assert {len(box) for box in stored} == {sealing.sealed_size(survey.SEALED_SIZE)}


def test_a_copy_taken_mid_round_holds_nothing_but_boxes_that_nothing_left_opens(
    world, tmp_path
):
    everyone_answers(world, the_apps_write)
    copy = take_copy(world, tmp_path / "mid-round")
    assert copy.wages == [] and len(copy.receipts) == MEMBERS
    assert len(copy.boxes) == MEMBERS
    assert {len(box) for box in copy.boxes} == {sealing.sealed_size(survey.SEALED_SIZE)}
    # No answer in the clear anywhere in the copy, in the form it is sealed in.
    for member in world.members[:25]:
        assert survey._payload(world.answers(member)) not in copy.raw
    # Paired by order, a receipt gets a box; nothing in the copy opens one.
    openers = openers_from(copy, world)
    assert openers
    for box in copy.boxes[:10]:
        assert all(opener.open_all([box]).__next__() is None for opener in openers)

    close(world)
    # The live database has destroyed the key and the boxes: nothing there opens
    # the copy's boxes either.
    assert scalars(world, "SELECT round_id FROM survey_round_keys") == []
    assert scalars(world, "SELECT round_id FROM survey_sealed_answers") == []
    after = take_copy(world, tmp_path / "after-close")
    assert after.boxes == [] and after.keys == []
    assert sorted(after.wages) == sorted(world.truth.values())
    guesses = dict(zip(after.receipts, after.wages, strict=True))
    assert correct(guesses, world) <= CHANCE_PAIRINGS


def test_the_residual_a_mid_round_copy_together_with_the_encryption_keys_links(
    world, tmp_path
):
    """What README's privacy section states: whoever holds both a copy of the
    database from while the round was open and ENCRYPTION_KEYS (never in a backup)
    can open that copy's boxes and pair them with its receipts. Closing the round
    does not reach into copies already made."""
    everyone_answers(world, the_apps_write)
    copy = take_copy(world, tmp_path)
    close(world)
    [stored_key] = copy.keys
    key = base64.b64decode(Fernet(TEST_ENCRYPTION_KEY).decrypt(stored_key))
    opener = sealing.Opener(key, context=survey.seal_context(world.round_id))
    wages = []
    for payload in opener.open_all(copy.boxes):
        assert payload is not None
        answers = survey._answers_in(payload)
        assert answers is not None and answers.hourly_wage_cents is not None
        wages.append(answers.hourly_wage_cents)
    assert correct(dict(zip(copy.receipts, wages, strict=True)), world) == MEMBERS


# After closing ------------------------------------------------------------------


def test_after_closing_the_answers_are_the_closing_transactions_in_random_order(
    world,
):
    everyone_answers(world, the_apps_write)
    close(world)
    stored = wages_in_stored_order(world)
    assert sorted(stored) == sorted(world.truth.values())
    assert correct(link_by_stored_order(world), world) <= CHANCE_PAIRINGS
    assert abs(spearman(world, stored)) < CHANCE_RHO
    if POSTGRESQL:
        assert link_by_xmin(world) == {}
        answers_xmin = scalars(
            world, "SELECT DISTINCT xmin::text FROM survey_answers WHERE round_id = :id"
        )
        receipts_xmin = scalars(
            world,
            "SELECT DISTINCT xmin::text FROM survey_receipts WHERE round_id = :id",
        )
        assert len(answers_xmin) == 1
        assert len(receipts_xmin) == MEMBERS
        assert not set(answers_xmin) & set(receipts_xmin)


# Nothing lost -------------------------------------------------------------------


def test_every_answer_given_reaches_the_reports_across_a_crash(world):
    """Half answer; one is cut off before their answer commits; the app is gone
    (a crash, a deploy) and a new one takes over; the rest answer, the one cut off
    too; the new app closes the round. Every committed answer is counted, and
    the interrupted one was all or nothing."""
    half = MEMBERS // 2
    first, rest = world.members[:half], world.members[half:]
    everyone_answers(world, the_apps_write, first)
    cut_off = rest[0]
    with world.app.app_context():
        the_apps_write(world, cut_off)
        db.session.rollback()  # the process died before committing
        db.session.remove()
        db.engine.dispose()

    second = app_on(world.url)
    try:
        world.app = second
        with second.app_context():
            from union.models import Member

            member = db.session.get(Member, cut_off)
            survey_round = db.session.get(SurveyRound, world.round_id)
            assert not survey.has_answered(member, survey_round)
            db.session.remove()
        everyone_answers(world, the_apps_write, rest)
        close(world)
        with second.app_context():
            survey_round = db.session.get(SurveyRound, world.round_id)
            assert survey_round is not None and survey_round.respondents == MEMBERS
            body = db.session.scalar(
                sa.select(ReportArtifact.body).where(
                    ReportArtifact.round_id == world.round_id,
                    ReportArtifact.report == "respondents",
                    ReportArtifact.level == "union",
                )
            )
            db.session.remove()
        assert body is not None
        assert json.loads(body)["respondents"] == {"n": MEMBERS}
        assert sorted(wages_in_stored_order(world)) == sorted(world.truth.values())
    finally:
        with second.app_context():
            db.engine.dispose()


# Answering and closing at once ----------------------------------------------------


def in_thread(
    app: Flask, work: Callable[[], None], release: threading.Event
) -> tuple[threading.Thread, list[BaseException]]:
    """Runs `work` in its own app context (so its own session and connection),
    holds its transaction open until `release`, then commits."""
    errors: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                work()
                release.wait(10)
                db.session.commit()
            except BaseException as error:  # handed to the test
                errors.append(error)
                db.session.rollback()
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def round_is_locked(world: World) -> bool:
    """Whether another transaction holds a lock on the round's row that closing's
    (FOR UPDATE) would wait for."""
    return not scalars(
        world, "SELECT 1 FROM survey_rounds WHERE id = :id FOR UPDATE SKIP LOCKED"
    )


def wait_until(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        threading.Event().wait(0.05)
    raise AssertionError("waited ten seconds in vain")


@pytest.fixture
def postgresql_only():
    if not POSTGRESQL:
        pytest.skip(
            "SQLite lets one transaction write at a time: answering and closing "
            "cannot interleave there"
        )


def test_closing_waits_for_an_answer_under_way_and_opens_it_too(postgresql_only, world):
    everyone_answers(world, the_apps_write, world.members[:-1])
    last = world.members[-1]
    release = threading.Event()
    thread, errors = in_thread(world.app, lambda: the_apps_write(world, last), release)
    try:
        wait_until(lambda: round_is_locked(world))
        with world.app.app_context():
            db.session.execute(sa.text("SET LOCAL lock_timeout = '500ms'"))
            survey_round = db.session.get(SurveyRound, world.round_id)
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                survey.close_round(survey_round, actor=None, now=FIXED_NOW)
            db.session.rollback()
            db.session.remove()
    finally:
        release.set()
        thread.join()
    assert errors == []
    close(world)
    assert sorted(wages_in_stored_order(world)) == sorted(world.truth.values())


def test_an_answer_that_comes_while_the_round_closes_waits_and_is_refused(
    postgresql_only, world
):
    everyone_answers(world, the_apps_write, world.members[:-1])
    last = world.members[-1]

    def closing() -> None:
        survey_round = db.session.get(SurveyRound, world.round_id)
        survey.close_round(survey_round, actor=None, now=FIXED_NOW)

    release_close, release_answer = threading.Event(), threading.Event()
    release_answer.set()
    closer, close_errors = in_thread(world.app, closing, release_close)
    try:
        # Closing holds the round's lock now, until released; the answer waits.
        wait_until(lambda: round_is_locked(world))
        answerer, answer_errors = in_thread(
            world.app, lambda: the_apps_write(world, last), release_answer
        )
        answerer.join(0.5)
        assert answerer.is_alive(), "the answer did not wait for the closing"
    finally:
        release_close.set()
        closer.join()
    answerer.join()
    assert close_errors == []
    assert [type(e) for e in answer_errors] == [InvalidTransition]
    # Nothing was written for the late answer anywhere: no receipt, no stray box.
    assert last not in receipts_in_stored_order(world)
    assert scalars(world, "SELECT count(*) FROM survey_sealed_answers") == [0]
    assert len(wages_in_stored_order(world)) == MEMBERS - 1


def test_the_models_say_what_the_attacks_read():
    """The attacks above read these tables and columns; if they moved, the
    attacks would find nothing for the wrong reason."""
    assert {c.name for c in sealed_answers.columns} == {"round_id", "sealed"}
    assert {c.name for c in SurveyReceipt.__table__.columns} == {
        "round_id",
        "member_id",
    }
    assert "hourly_wage_cents" in SurveyAnswer.__table__.columns
