"""Survey rounds: opening and closing them, and members answering.

Nothing may tie an answer to the member who gave it, from the moment they answer:
not in the live database, not in its write-ahead log, not in any backup. Whatever
is written when a member answers goes in one transaction with their receipt, so
the database itself pairs the two (PostgreSQL's `xmin`, the order rows are written
in, SQLite's rowid), and a dump or WAL archive taken while the round is open keeps
that pairing for good. So what is written then is not the answer but a sealed box:

- Opening a round makes a secret key for it (survey_round_keys), stored
  encrypted with ENCRYPTION_KEYS.
- Answering writes the receipt and the answers sealed with the round's key
  (AES-256-GCM with a random nonce per box and the round as associated data, see
  adapters.sealing), padded to one fixed size: a box that holds only the round's
  id, no id of its own, no time, every box as long as every other. The pairing
  the database keeps is with an opaque box.
- Closing opens every box with the key, writes the answers in random
  order in one go (each with a new random id, all with the closing transaction's
  xmin), then destroys the boxes and the key. From then on nothing, the live
  database included, can open a box that an older copy still holds.

On PostgreSQL each round has a partition of its own in each of the three tables
(made when the round opens): closing drops the boxes' and the key's whole, and
puts the answers, written into a new table in random-id order, in place of the
answers' (empty until then), so no row version in answering order stays behind as
deleted rows would until vacuumed. The table work is done by database functions
owned by the tables' owner (see make_answer_partition). SQLite deletes the rows,
overwriting them (secure_delete, see union.db).

What remains, in the README's words: whoever holds both a copy of the database
(a dump, a WAL archive, a disk) from while a round was open and the app's
ENCRYPTION_KEYS can open that copy's boxes and pair them with its receipts.
Either one alone links nothing.
"""

from __future__ import annotations

import base64
import enum
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from union import clock
from union.adapters import sealing
from union.adapters.bulk import BulkWriter
from union.db import db
from union.errors import InvalidTransition, NotFound, ValidationFailed
from union.i18n import _
from union.models import (
    EmploymentType,
    JobClassification,
    Member,
    MemberStatus,
    RoundStatus,
    SurveyAnswer,
    SurveyReceipt,
    SurveyRound,
    SurveyRoundKey,
    User,
    Workplace,
    WorkplaceStatus,
    YesNoUnsure,
    sealed_answers,
)
from union.models.survey import random_answer_ids
from union.rules.disclosure import DEFAULT_RULES, Rules, count_band
from union.services import audit, notifications_feed

#: Members who may answer: those in the union now, paid up or not.
ANSWERING_STATUSES = (MemberStatus.ACTIVE, MemberStatus.LAPSED)

WAGE_RANGE_CENTS = (500, 20000)
HOURS_RANGE = (1, 80)
DAYS_RANGE = (0, 60)
MONTHS_RANGE = (0, 600)


@dataclass(frozen=True, slots=True)
class Answers:
    """What a member typed; everything but workplace and classification is optional."""

    workplace_id: int | None
    classification_id: int | None
    employment_type: EmploymentType | None = None
    hourly_wage_cents: int | None = None
    weekly_hours: int | None = None
    health_benefits: bool | None = None
    dental_benefits: bool | None = None
    paid_sick_days: int | None = None
    vacation_days: int | None = None
    months_since_raise: int | None = None
    never_had_raise: bool | None = None
    grant_funded: YesNoUnsure | None = None
    relies_on_social_assistance: bool | None = None
    discrimination_lived_experience: bool | None = None


def _outside(value: int | None, bounds: tuple[int, int]) -> bool:
    return value is not None and not bounds[0] <= value <= bounds[1]


def _range_errors(answers: Answers) -> dict[str, str]:
    """What is implausible in the answers on their own, without the database."""
    errors: dict[str, str] = {}
    if _outside(answers.hourly_wage_cents, WAGE_RANGE_CENTS):
        errors["hourly_wage"] = _(
            "Enter an hourly wage between $5.00 and $200.00, or leave it empty."
        )
    if _outside(answers.weekly_hours, HOURS_RANGE):
        errors["weekly_hours"] = _(
            "Enter the hours you usually work in a week, from 1 to 80, or leave it empty."
        )
    if _outside(answers.paid_sick_days, DAYS_RANGE):
        errors["paid_sick_days"] = _("Enter a number of days from 0 to 60.")
    if _outside(answers.vacation_days, DAYS_RANGE):
        errors["vacation_days"] = _("Enter a number of days from 0 to 60.")
    if _outside(answers.months_since_raise, MONTHS_RANGE):
        errors["months_since_raise"] = _("Enter a number of months from 0 to 600.")
    if answers.never_had_raise and answers.months_since_raise is not None:
        errors["months_since_raise"] = _(
            "Leave the months empty if you have never had a raise there."
        )
    return errors


def check_answers(answers: Answers) -> None:
    """Raises ValidationFailed naming every answer to fix at once: a workplace and
    job from the lists, and numbers in their plausible ranges."""
    errors: dict[str, str] = {}
    if answers.workplace_id is None:
        errors["workplace_id"] = _("Choose the workplace you work at.")
    else:
        workplace = db.session.get(Workplace, answers.workplace_id)
        if workplace is None or workplace.status is not WorkplaceStatus.CONFIRMED:
            errors["workplace_id"] = _("Choose a workplace from the list.")
    if answers.classification_id is None:
        errors["classification_id"] = _("Choose the job closest to yours.")
    elif db.session.get(JobClassification, answers.classification_id) is None:
        errors["classification_id"] = _("Choose a job from the list.")
    errors.update(_range_errors(answers))
    if errors:
        raise ValidationFailed(errors)


# Sealing ---------------------------------------------------------------------

#: Every answer is padded to this many bytes before it is sealed, so every box is
#: as long as every other whichever questions were skipped (the longest possible
#: answer takes about 130; a test checks it fits). Room is left for questions a
#: later version may add.
SEALED_SIZE = 256
#: What a box holds: this version number, then the answers in PAYLOAD's order,
#: each field separated by a tab, as PostgreSQL's COPY reads a line of text: a
#: blank for no answer, t or f, digits, an option's value. Closing a round hands
#: the lines to COPY as they are, after checking them in bulk (_lines_in). A new
#: question means a new version, and opening keeps reading the old ones: version
#: 1 was a JSON array (migration a1d3da1a3a0b sealed answers in it).
PAYLOAD_VERSION = 2
#: Answers' fields in payload order, with the kind of value each holds.
PAYLOAD: tuple[tuple[str, type[object]], ...] = (
    ("workplace_id", int),
    ("classification_id", int),
    ("employment_type", EmploymentType),
    ("hourly_wage_cents", int),
    ("weekly_hours", int),
    ("health_benefits", bool),
    ("dental_benefits", bool),
    ("paid_sick_days", int),
    ("vacation_days", int),
    ("months_since_raise", int),
    ("never_had_raise", bool),
    ("grant_funded", YesNoUnsure),
    ("relies_on_social_assistance", bool),
    ("discrimination_lived_experience", bool),
)
_KINDS = tuple(kind for _name, kind in PAYLOAD)
#: What a version 2 payload starts with; the answers' line follows.
_LINE_START = b"%d\t" % PAYLOAD_VERSION
_TRUTH = {b"t": True, b"f": False}
#: Each option's value as it is written in a line.
_OPTIONS: dict[type[object], dict[bytes, enum.Enum]] = {
    kind: {str(member.value).encode("ascii"): member for member in kind}
    for kind in _KINDS
    if isinstance(kind, type) and issubclass(kind, enum.Enum)
}


def seal_context(round_id: int) -> bytes:
    """The associated data of a round's boxes: a box does not open as another
    round's."""
    return b"union survey answers, round %d" % round_id


def _field(value: object) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, enum.Enum):
        return str(value.value).encode("ascii")
    if isinstance(value, int):
        return b"%d" % value
    raise TypeError(f"no answer is a {type(value).__name__}")


def _payload(answers: Answers) -> bytes:
    return _LINE_START + b"\t".join(
        _field(getattr(answers, name)) for name, _kind in PAYLOAD
    )


def _answers_in(payload: bytes) -> Answers | None:
    """The answers an opened box holds, or None when they are not plausible ones.
    The reference reading of one payload: closing checks all of a round's at once
    with _lines_in, which must accept exactly what this accepts."""
    if payload.startswith(_LINE_START):
        typed = _values_in_line(payload[len(_LINE_START) :])
    elif payload.startswith(b"["):
        typed = _values_in_json(payload)
    else:
        return None
    if typed is None:
        return None
    answers = Answers(*typed)  # type: ignore[arg-type]
    if answers.workplace_id is None or answers.classification_id is None:
        return None
    return None if _range_errors(answers) else answers


def _values_in_line(line: bytes) -> list[object] | None:
    fields = line.split(b"\t")
    if len(fields) != len(PAYLOAD):
        return None
    typed: list[object] = []
    for kind, field in zip(_KINDS, fields, strict=True):
        if field == b"":
            typed.append(None)
        elif kind is bool and field in _TRUTH:
            typed.append(_TRUTH[field])
        elif kind is int and field.isdigit():
            typed.append(int(field))
        elif kind in _OPTIONS and field in _OPTIONS[kind]:
            typed.append(_OPTIONS[kind][field])
        else:
            return None
    return typed


def _values_in_json(payload: bytes) -> list[object] | None:
    """Version 1, sealed before version 2 existed."""
    try:
        values = json.loads(payload.decode("ascii"))
    except ValueError:
        return None
    if (
        type(values) is not list
        or len(values) != len(PAYLOAD) + 1
        or type(values[0]) is not int
        or values[0] != 1
    ):
        return None
    typed: list[object] = []
    for kind, value in zip(_KINDS, values[1:], strict=True):
        # type() rather than isinstance(): True is an int to isinstance.
        if value is None or type(value) is kind:
            typed.append(value)
        elif kind in (int, bool) or type(value) is not str:
            return None
        else:
            try:
                typed.append(kind(value))  # type: ignore[call-arg]
            except ValueError:
                return None
    return typed


#: The bounds _range_errors checks, by column.
_BOUNDS = {
    "hourly_wage_cents": WAGE_RANGE_CENTS,
    "weekly_hours": HOURS_RANGE,
    "paid_sick_days": DAYS_RANGE,
    "vacation_days": DAYS_RANGE,
    "months_since_raise": MONTHS_RANGE,
}


def _stored(value: object) -> object:
    """An answer's value as the answers table stores it (an enum by its value)."""
    return value.value if isinstance(value, enum.Enum) else value


def _lines_in(payloads: Sequence[bytes]) -> list[bytes] | None:
    """Each payload's line of answers, when every payload is a version 2 one in
    the form _payload writes, holding answers that _answers_in accepts from
    workplaces and jobs of any number (one regular expression each, in C); else
    None, and _answers_in, one by one, says which are not plausible. The lines
    can go to COPY as they are: they hold no byte but digits, small letters,
    underscores and tabs, so nothing in one can end a line, escape a character or
    stand for a null but a blank field. Whether the workplaces and jobs exist is
    for the database's foreign keys to say."""
    if not all(map(_LINE.fullmatch, payloads)):
        return None
    return list(map(itemgetter(slice(len(_LINE_START), None)), payloads))


def _line_pattern() -> bytes:
    """_LINE's expression: each field as _payload writes it (numbers without a
    leading zero, within _BOUNDS), or blank where it may be; a number of months
    only when the answer is not that there never was a raise."""
    numbers = {
        "workplace_id": rb"[1-9][0-9]{0,9}",
        "classification_id": rb"[1-9][0-9]{0,9}",
        # 500 to 20000, 1 to 80, 0 to 60 and 0 to 600: see _BOUNDS, and the
        # test that reads every number near them.
        "hourly_wage_cents": rb"(?:[5-9][0-9]{2}|[1-9][0-9]{3}|1[0-9]{4}|20000)",
        "weekly_hours": rb"(?:[1-9]|[1-7][0-9]|80)",
        "paid_sick_days": rb"(?:[0-9]|[1-5][0-9]|60)",
        "vacation_days": rb"(?:[0-9]|[1-5][0-9]|60)",
    }
    months = rb"(?:[0-9]|[1-9][0-9]|[1-5][0-9]{2}|600)"
    fields: list[bytes] = []
    for name, kind in PAYLOAD:
        if name == "never_had_raise":
            continue
        if name == "months_since_raise":
            fields.append(months + rb"\tf?|\t[tf]?")
        elif name in numbers:
            fields.append(numbers[name] + (b"" if name.endswith("_id") else b"?"))
        elif kind is bool:
            fields.append(rb"[tf]?")
        else:
            fields.append(rb"(?:%s)?" % b"|".join(_OPTIONS[kind]))
    return re.escape(_LINE_START) + rb"\t".join(rb"(?:%s)" % f for f in fields)


#: One answer's payload as _payload writes it, and nothing else.
_LINE = re.compile(_line_pattern())


def seal(answers: Answers, key: bytes, round_id: int) -> bytes:
    """One member's answers as the box written while the round is open."""
    return sealing.seal(
        _payload(answers),
        key,
        size=SEALED_SIZE,
        context=seal_context(round_id),
    )


def new_round_key(round_id: int) -> SurveyRoundKey:
    """A fresh key for a round (not added to the session)."""
    return SurveyRoundKey(
        round_id=round_id,
        sealing_key=base64.b64encode(sealing.new_key()).decode("ascii"),
    )


def round_key(key: SurveyRoundKey) -> bytes:
    """The raw key a round's boxes are sealed with (decrypted on loading)."""
    return base64.b64decode(key.sealing_key)


# Rounds ----------------------------------------------------------------------


def open_round(name: str, *, actor: User | None, now: datetime) -> SurveyRound:
    """Opens a new round. One round is open at a time, so members see one survey."""
    name = name.strip()
    if not name:
        raise ValidationFailed(
            {"name": _("Give the round a name, such as Spring 2027.")}
        )
    if current_round() is not None:
        raise ValidationFailed(
            {"": _("A round is already open. Close it before opening another.")}
        )
    survey_round = SurveyRound(
        name=name[:120],
        status=RoundStatus.OPEN,
        opened_on=clock.today(now),
        opened_by_id=actor.id if actor else None,
    )
    db.session.add(survey_round)
    db.session.flush()
    make_answer_partition(survey_round.id)
    db.session.add(new_round_key(survey_round.id))
    db.session.flush()
    audit.record("survey.round_opened", actor=actor, now=now, subject=survey_round)
    notifications_feed.announce_survey_round(survey_round, now=now)
    return survey_round


def current_round() -> SurveyRound | None:
    return db.session.scalar(
        sa.select(SurveyRound)
        .where(SurveyRound.status == RoundStatus.OPEN)
        .order_by(SurveyRound.id)
        .limit(1)
    )


def get_round(round_id: int) -> SurveyRound:
    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None:
        raise NotFound
    return survey_round


@dataclass(frozen=True, slots=True)
class RoundRow:
    survey_round: SurveyRound
    #: How many answered, once the round is closed.
    respondents: int | None
    #: While it is open: the band (lowest, highest) its number of answers was in
    #: when last counted, and the day it was counted.
    band: tuple[int, int] | None = None
    counted_on: date | None = None


def _answer_band(
    survey_round: SurveyRound, *, today: date, rules: Rules
) -> tuple[int, int]:
    """An open round's number of answers as a band, counted again at most once a
    day: an exact live count would move by one when a given person answers, in
    front of whoever is watching the page."""
    low, high = survey_round.answers_band_low, survey_round.answers_band_high
    if (
        survey_round.answers_counted_on == today
        and low is not None
        and high is not None
    ):
        return (low, high)
    answered = db.session.scalar(
        sa.select(sa.func.count()).where(SurveyReceipt.round_id == survey_round.id)
    )
    low, high = count_band(int(answered or 0), rules)
    survey_round.answers_band_low, survey_round.answers_band_high = low, high
    survey_round.answers_counted_on = today
    db.session.flush()
    return (low, high)


def rounds(*, now: datetime, rules: Rules = DEFAULT_RULES) -> list[RoundRow]:
    """Every round, newest first: how many answered a closed one, and for the
    open one a band counted at most once a day (the caller commits, so the count
    stands for the rest of the day)."""
    rows: list[RoundRow] = []
    today = clock.today(now)
    for survey_round in db.session.scalars(
        sa.select(SurveyRound).order_by(
            SurveyRound.opened_on.desc(), SurveyRound.id.desc()
        )
    ):
        if survey_round.is_open:
            rows.append(
                RoundRow(
                    survey_round,
                    respondents=None,
                    band=_answer_band(survey_round, today=today, rules=rules),
                    counted_on=survey_round.answers_counted_on,
                )
            )
        else:
            rows.append(RoundRow(survey_round, respondents=survey_round.respondents))
    return rows


_ANSWER_COLUMN_NAMES = [column.name for column in SurveyAnswer.__table__.columns]
_ANSWER_COLUMNS = ", ".join(_ANSWER_COLUMN_NAMES)
#: SurveyAnswer's columns after its id and round: all of them Answers fields.
_ANSWER_FIELD_COLUMNS = _ANSWER_COLUMN_NAMES[2:]
#: On SQLite, the answers opened at closing wait here, in this session only,
#: until they are written into the round's table in random order.
OPENED_TABLE = "survey_opened_answers"


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def make_answer_partition(round_id: int) -> None:
    """Gives a new round its own partitions of the answers, the sealed answers and
    the keys, on PostgreSQL (see the module docstring). Rounds without them keep
    their rows in the default partitions, and closing them still works."""
    if _on_postgresql():
        db.session.execute(
            sa.text("SELECT union_make_answer_partition(:round_id)"),
            {"round_id": round_id},
        )


def _reorder_partition(round_id: int, fill: Callable[[sa.Table], object]) -> None:
    """PostgreSQL: a new table, holding the round's answer rows (if any were
    written in the clear, as before sealing) in random-id order and then the opened
    answers in theirs, replaces the round's partition, checked once as a whole
    when attached (keys, foreign keys) instead of row by row as inserting would
    be. The work is in database functions (migrations d5e8f3b0a724 and
    a1d3da1a3a0b) that run with the tables' owner's rights, so the app's own role
    needs no right to create or drop tables: union_begin_round_answers makes the
    table and lets the app COPY the opened answers into it (`fill`; no other
    session can see it before the commit), union_reorder_round_answers takes that
    back, keys it and puts it in the partition's place."""
    db.session.execute(
        sa.text("SELECT union_begin_round_answers(:round_id)"),
        {"round_id": round_id},
    )
    fill(
        sa.Table(
            f"survey_answers_round_{int(round_id)}_reordered",
            sa.MetaData(),
            *(sa.Column(c.name, c.type) for c in SurveyAnswer.__table__.columns),
        )
    )
    db.session.execute(
        sa.text("SELECT union_reorder_round_answers(:round_id)"),
        {"round_id": round_id},
    )


def _reorder_rows(round_id: int) -> None:
    """Elsewhere (SQLite): the round's answers and the opened ones are copied aside
    in random-id order, the round's deleted and all written back."""
    copy = (
        "CREATE TEMPORARY TABLE shuffled_answers AS "  # noqa: S608
        f"SELECT {_ANSWER_COLUMNS} FROM ("
        f"SELECT {_ANSWER_COLUMNS} FROM survey_answers WHERE round_id = :round_id "
        f"UNION ALL SELECT {_ANSWER_COLUMNS} FROM {OPENED_TABLE} "
        "WHERE round_id = :round_id)"
    )
    back = (
        f"INSERT INTO survey_answers ({_ANSWER_COLUMNS}) "  # noqa: S608
        f"SELECT {_ANSWER_COLUMNS} FROM shuffled_answers"
    )
    db.session.execute(sa.text(f"{copy} ORDER BY id"), {"round_id": round_id})
    db.session.execute(sa.delete(SurveyAnswer).where(SurveyAnswer.round_id == round_id))
    db.session.execute(sa.text(f"{back} ORDER BY id"))
    db.session.execute(sa.text("DROP TABLE shuffled_answers"))


def _shuffle_answers(round_id: int, opened: Opened) -> None:
    """Writes the round's answers, those just opened and any already in the clear,
    in random-id order (see the module docstring), with one COPY of the opened
    ones on PostgreSQL; elsewhere through a temporary table."""
    writer = BulkWriter(db.session.connection())
    if isinstance(opened, SealedInOrder):
        _write_lines(round_id, opened, writer)
        return
    if _on_postgresql():
        _reorder_partition(
            round_id,
            lambda fresh: writer.write_columns(
                fresh, {name: opened[name] for name in _ANSWER_COLUMN_NAMES}
            ),
        )
        return
    db.session.execute(
        sa.text(
            f"CREATE TEMPORARY TABLE {OPENED_TABLE} AS "  # noqa: S608
            "SELECT * FROM survey_answers WHERE 1 = 0"
        )
    )
    staging = sa.Table(
        OPENED_TABLE,
        sa.MetaData(),
        *(sa.Column(c.name, c.type) for c in SurveyAnswer.__table__.columns),
    )
    writer.write_columns(staging, {name: opened[name] for name in _ANSWER_COLUMN_NAMES})
    _reorder_rows(round_id)
    db.session.execute(sa.text(f"DROP TABLE {OPENED_TABLE}"))


def _write_lines(round_id: int, sealed: SealedInOrder, writer: BulkWriter) -> None:
    """The boxes opened into lines that go through COPY as they are, in a
    savepoint. The workplaces and jobs are checked by the foreign keys as the
    table is attached. If a box does not open into a plausible line, or names a
    place that is gone, nothing written stays: every box is read again one by
    one, which either says how many cannot be kept, or (for boxes sealed before
    version 2) gives the answers to write the slow way."""
    try:
        with db.session.begin_nested():
            _reorder_partition(
                round_id,
                lambda fresh: writer.copy_lines(
                    fresh, _ANSWER_COLUMN_NAMES, sealed.copy_text(round_id), null=""
                ),
            )
    except (_NotAllLines, IntegrityError):
        opened = sealed.one_by_one(round_id)
        _reorder_partition(
            round_id,
            lambda fresh: writer.write_columns(
                fresh, {name: opened[name] for name in _ANSWER_COLUMN_NAMES}
            ),
        )


def _lock_round(survey_round: SurveyRound, *, closing: bool) -> RoundStatus:
    """The round's status, read under a lock that makes answering and closing
    wait for each other (on PostgreSQL; SQLite has one writer at a time anyway).
    Answers take a shared lock, so they do not wait for one another; closing takes
    the exclusive one, so it waits for answers already under way, which it then
    opens with the rest, and answers that come after it find the round closed,
    rather than writing a box after the boxes were opened."""
    statement = sa.select(SurveyRound.status).where(SurveyRound.id == survey_round.id)
    if closing:
        statement = statement.with_for_update()
    else:
        statement = statement.with_for_update(read=True, key_share=True)
    status = db.session.scalar(statement)
    if status is None:
        raise NotFound
    return status


#: The opened answers of a round: every SurveyAnswer column by name, each holding
#: the values of all the answers, in one order (that of their random ids).
OpenedAnswers = dict[str, Sequence[Any]]
#: Boxes opened, checked and put in COPY text at a time.
_COPY_BATCH = 20000


class _NotAllLines(Exception):
    """A box did not open into a line _lines_in takes: the slow way says why."""


@dataclass(frozen=True, slots=True)
class SealedInOrder:
    """A round's boxes on PostgreSQL, in the order of the random ids the answers
    get, opened batch by batch as they are written (see _write_lines)."""

    opener: sealing.Opener
    ids: list[str]
    boxes: list[bytes]

    def copy_text(self, round_id: int) -> Iterator[bytes]:
        """COPY text of every SurveyAnswer column, a batch of answers at a time:
        the boxes opened and their lines checked (_NotAllLines if one is not
        plausible), while the batch before is on its way to the database."""
        ids = list(map(str.encode, self.ids))
        round_field = b"\t%d\t" % round_id
        for start in range(0, len(ids), _COPY_BATCH):
            end = start + _COPY_BATCH
            payloads = list(self.opener.open_all(self.boxes[start:end]))
            lines = None if None in payloads else _lines_in(payloads)  # type: ignore[arg-type]
            if lines is None:
                raise _NotAllLines
            yield b"".join(
                chain.from_iterable(
                    zip(ids[start:end], repeat(round_field), lines, repeat(b"\n"))
                )
            )

    def one_by_one(self, round_id: int) -> OpenedAnswers:
        """Every box opened and read on its own: the answers, or _cannot_open."""
        return _read_one_by_one(
            round_id, self.ids, list(self.opener.open_all(self.boxes))
        )


Opened = OpenedAnswers | SealedInOrder

#: Boxes fetched at a time when opening a round's.
_BOX_BATCH = 20000


def _boxes(round_id: int) -> Iterator[bytes]:
    """The round's boxes, as stored. On PostgreSQL in binary, through the
    driver: hex text would have to be decoded, and the ORM's rows made, for every
    box. The whole result (some 60 MB for 200,000 boxes) is received at once,
    which took half the time of a cursor on the server fetching it in batches."""
    if not _on_postgresql():
        yield from db.session.scalars(
            sa.select(sealed_answers.c.sealed).where(
                sealed_answers.c.round_id == round_id
            ),
            execution_options={"yield_per": _BOX_BATCH},
        )
        return
    raw = db.session.connection().connection.driver_connection
    if raw is None:
        raise RuntimeError("the connection is closed")
    with raw.cursor(binary=True) as cursor:
        cursor.execute(
            "SELECT sealed FROM survey_sealed_answers WHERE round_id = %s",
            (round_id,),
        )
        while batch := cursor.fetchmany(_BOX_BATCH):
            yield from map(itemgetter(0), batch)


def _open_sealed_answers(round_id: int) -> Opened:
    """Every box of the round, with a new random id for each, in the order of
    those ids: on PostgreSQL still sealed, opened as they are written; elsewhere
    opened and checked now. Nothing is ever dropped: if any box does not open into
    plausible answers at existing workplaces and jobs, closing stops and
    everything stays as it was."""
    key = db.session.get(SurveyRoundKey, round_id)
    if key is None:
        # Rounds opened before answers were sealed have no key, and no boxes.
        unopened = sum(1 for _box in _boxes(round_id))
        if unopened:
            raise _cannot_open(unopened)
        return {column: [] for column in _ANSWER_COLUMN_NAMES}
    opener = sealing.Opener(round_key(key), context=seal_context(round_id))
    # The boxes come in the order they were written, which is answering order.
    # Sorted, they are in the order of the random nonces they start with, which
    # owes nothing to it (and goes with the boxes). Each answer gets a random id
    # and they are written in the order of those ids.
    boxes = sorted(_boxes(round_id))
    ids = sorted(random_answer_ids(len(boxes)))
    if _on_postgresql():
        return SealedInOrder(opener, ids, boxes)
    return _read_one_by_one(round_id, ids, list(opener.open_all(boxes)))


def _read_one_by_one(
    round_id: int, ids: list[str], payloads: list[bytes | None]
) -> OpenedAnswers:
    opened = [payload for payload in payloads if payload is not None]
    unopened = len(payloads) - len(opened)
    del payloads
    columns, unplausible = _columns_one_by_one(opened)
    unopened += unplausible + _at_unknown_places(columns)
    if unopened:
        raise _cannot_open(unopened)
    return {"id": ids, "round_id": [round_id] * len(ids), **columns}


def _known(places: set[int], jobs: set[int]) -> bool:
    known_places = db.session.scalar(
        sa.select(sa.func.count()).where(Workplace.id.in_(places))
    )
    known_jobs = db.session.scalar(
        sa.select(sa.func.count()).where(JobClassification.id.in_(jobs))
    )
    return known_places == len(places) and known_jobs == len(jobs)


def _columns_one_by_one(
    payloads: Sequence[bytes],
) -> tuple[dict[str, Sequence[Any]], int]:
    """Each plausible payload's answers as columns of what the answers table
    stores, each payload read on its own by _answers_in, and how many are not
    plausible: the way on SQLite, for version 1 payloads, and to count what is
    wrong when the lines are not all plausible."""
    answers = [_answers_in(payload) for payload in payloads]
    plausible = [one for one in answers if one is not None]
    columns: dict[str, Sequence[Any]] = {
        name: [_stored(getattr(one, name)) for one in plausible]
        for name in _ANSWER_FIELD_COLUMNS
    }
    return columns, len(answers) - len(plausible)


def _at_unknown_places(columns: dict[str, Sequence[Any]]) -> int:
    """How many answers name a workplace or job that no longer exists."""
    places, jobs = columns["workplace_id"], columns["classification_id"]
    if _known(set(places), set(jobs)):
        return 0
    known_places = set(
        db.session.scalars(sa.select(Workplace.id).where(Workplace.id.in_(set(places))))
    )
    known_jobs = set(
        db.session.scalars(
            sa.select(JobClassification.id).where(JobClassification.id.in_(set(jobs)))
        )
    )
    return sum(
        1
        for place, job in zip(places, jobs, strict=True)
        if place not in known_places or job not in known_jobs
    )


def _cannot_open(count: int) -> InvalidTransition:
    return InvalidTransition(
        _(
            "%(count)s sealed answers could not be opened, so the round stays open "
            "and nothing has changed. Ask whoever runs the app to look into it.",
            count=count,
        )
    )


def _destroy_sealed_answers(round_id: int) -> None:
    """The round's boxes and its key go, in the closing transaction: on
    PostgreSQL their partitions are dropped whole (by a function with the owner's
    rights, as above); SQLite overwrites the deleted rows (secure_delete)."""
    key = db.session.get(SurveyRoundKey, round_id)
    if key is not None:
        db.session.expunge(key)
    if _on_postgresql():
        db.session.execute(
            sa.text("SELECT union_drop_sealed_answers(:round_id)"),
            {"round_id": round_id},
        )
        return
    db.session.execute(
        sa.delete(sealed_answers).where(sealed_answers.c.round_id == round_id)
    )
    db.session.execute(
        sa.delete(SurveyRoundKey).where(SurveyRoundKey.round_id == round_id)
    )


def close_round(
    survey_round: SurveyRound,
    *,
    actor: User | None,
    now: datetime,
    rules: Rules = DEFAULT_RULES,
    progress: Callable[[str], None] | None = None,
) -> SurveyRound:
    """Closes an open round: opens its sealed answers, writes them in random
    order, destroys the boxes and the round's key, and computes its whole report
    catalogue, stored for good.

    `progress` hears each step, for the command line. The caller commits once, so
    a failure leaves the round open, its boxes and key in place and no reports."""
    from union.services.reports import building

    if _lock_round(survey_round, closing=True) is not RoundStatus.OPEN:
        raise InvalidTransition(_("This round is already closed."))
    if progress:
        progress(_("Opening the sealed answers"))
    with building.cycle_collector_paused():
        # Hundreds of thousands of short-lived lists and tuples here and in the
        # writing, as in the build.
        opened = _open_sealed_answers(survey_round.id)
    if progress:
        progress(_("Reordering the answers so their order says nothing"))
    with building.cycle_collector_paused():
        _shuffle_answers(survey_round.id, opened)
    # The opened answers are in the database now: not kept through the build.
    del opened
    survey_round.status = RoundStatus.CLOSED
    survey_round.closed_on = max(clock.today(now), survey_round.opened_on)
    survey_round.closed_by_id = actor.id if actor else None
    survey_round.answers_band_low = survey_round.answers_band_high = None
    survey_round.answers_counted_on = None
    _destroy_sealed_answers(survey_round.id)
    survey_round.respondents = (
        db.session.scalar(
            sa.select(sa.func.count()).where(SurveyAnswer.round_id == survey_round.id)
        )
        or 0
    )
    db.session.flush()
    building.build_round(survey_round, now=now, rules=rules, progress=progress)
    audit.record("survey.round_closed", actor=actor, now=now, subject=survey_round)
    db.session.flush()
    return survey_round


# Answering -------------------------------------------------------------------


def may_answer(member: Member | None) -> bool:
    return member is not None and member.status in ANSWERING_STATUSES


def has_answered(member: Member, survey_round: SurveyRound) -> bool:
    return db.session.get(SurveyReceipt, (survey_round.id, member.id)) is not None


def answer(
    member: Member, survey_round: SurveyRound, answers: Answers, *, now: datetime
) -> None:
    """Stores one member's receipt and their answers sealed with the round's key
    (see the module docstring). No audit row: its time would say when this member
    answered."""
    del now  # kept for the service signature; nothing here may record a time
    if _lock_round(survey_round, closing=False) is not RoundStatus.OPEN:
        raise InvalidTransition(_("This survey round has closed."))
    if not may_answer(member):
        raise InvalidTransition(
            _("The survey is for members in good standing or lapsed.")
        )
    if has_answered(member, survey_round):
        raise InvalidTransition(_("You have already answered this round. Thank you!"))
    check_answers(answers)
    key = db.session.get(SurveyRoundKey, survey_round.id)
    if key is None:
        raise InvalidTransition(
            _("This survey round cannot take answers. Please tell an organizer.")
        )
    box = seal(answers, round_key(key), survey_round.id)
    db.session.add(SurveyReceipt(round_id=survey_round.id, member_id=member.id))
    try:
        db.session.flush()
    except IntegrityError:
        # The same member pressing twice at once: the receipt's key lets one through.
        raise InvalidTransition(
            _("You have already answered this round. Thank you!")
        ) from None
    db.session.execute(
        sa.insert(sealed_answers).values(round_id=survey_round.id, sealed=box)
    )


def receipts_of(member: Member) -> list[SurveyRound]:
    """The rounds a member answered, for their own data download."""
    return list(
        db.session.scalars(
            sa.select(SurveyRound)
            .join(SurveyReceipt, SurveyReceipt.round_id == SurveyRound.id)
            .where(SurveyReceipt.member_id == member.id)
            .order_by(SurveyRound.opened_on)
        )
    )


def workplaces_for_answering() -> list[Workplace]:
    return list(
        db.session.scalars(
            sa.select(Workplace)
            .where(Workplace.status == WorkplaceStatus.CONFIRMED)
            .order_by(Workplace.employer, Workplace.site)
        )
    )


def classifications_for_answering() -> list[JobClassification]:
    return list(
        db.session.scalars(
            sa.select(JobClassification).order_by(JobClassification.name)
        )
    )
