"""Survey rounds and answering: anonymity of the stored rows, answers sealed while
their round is open, one answer per member, plausible values, the open round's
count in bands, and the reports stored once when a round closes.

tests/test_unlinkable.py tries to link answers to members through the database's
own bookkeeping, with real commits, copies and dumps."""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import current_app

from tests.conftest import TEST_ENCRYPTION_KEY
from union.adapters import crypto, sealing
from union.clock import today
from union.db import db
from union.errors import InvalidTransition, ValidationFailed
from union.models import (
    EmploymentType,
    MemberStatus,
    ReportArtifact,
    Role,
    Sector,
    SurveyAnswer,
    SurveyReceipt,
    SurveyRoundKey,
    WorkplaceStatus,
    YesNoUnsure,
    sealed_answers,
)
from union.rules.disclosure import Rules
from union.services import keys, privacy, survey
from union.services.reports import catalogue
from union.services.reports.artifact import Level


@pytest.fixture
def organizer(make):
    return make.user("organizer@example.org", roles=(Role.ORGANIZER,))


@pytest.fixture
def open_round(organizer, make):
    return survey.open_round("Spring 2027", actor=organizer, now=make.now)


def answers_for(workplace, classification, **values):
    return survey.Answers(
        workplace_id=workplace.id, classification_id=classification.id, **values
    )


def boxes(survey_round=None):
    statement = sa.select(sealed_answers.c.sealed)
    if survey_round is not None:
        statement = statement.where(sealed_answers.c.round_id == survey_round.id)
    return db.session.scalars(statement).all()


def answer_rows():
    return db.session.scalar(sa.select(sa.func.count(SurveyAnswer.id)))


def test_the_answers_table_can_not_lead_back_to_a_member():
    table = SurveyAnswer.__table__
    referenced = {fk.column.table.name for fk in table.foreign_keys}
    assert referenced == {"survey_rounds", "workplaces", "job_classifications"}
    for column in table.columns:
        assert "member" not in column.name and "user" not in column.name
        # Nothing finer than the round: no date or time column at all.
        assert not isinstance(column.type, sa.DateTime | sa.Date), column.name
    assert isinstance(table.c.id.type, sa.String)
    assert table.c.id.type.length == 32  # a random token, not a sequence
    receipt_columns = {column.name for column in SurveyReceipt.__table__.columns}
    assert receipt_columns == {"round_id", "member_id"}
    # A box is its round and its bytes: no id, no time, no sequence, no key.
    assert {column.name for column in sealed_answers.columns} == {"round_id", "sealed"}
    assert not sealed_answers.primary_key.columns


def test_answering_writes_a_receipt_and_a_sealed_box_and_no_answer_row(
    open_round, make
):
    workplace, job = make.workplace(), make.classification()
    first, second = make.member(workplace), make.member(workplace)
    for member in (first, second):
        survey.answer(
            member,
            open_round,
            answers_for(workplace, job, hourly_wage_cents=2375),
            now=make.now,
        )
    assert answer_rows() == 0
    stored = boxes(open_round)
    assert len(stored) == 2 and stored[0] != stored[1]
    assert all(b"2375" not in box and b"[1," not in box for box in stored)
    receipts = db.session.scalars(sa.select(SurveyReceipt.member_id)).all()
    assert sorted(receipts) == sorted([first.id, second.id])


def test_closing_gives_the_answers_new_random_ids(open_round, organizer, make):
    workplace, job = make.workplace(), make.classification()
    for member in (make.member(workplace), make.member(workplace)):
        survey.answer(member, open_round, answers_for(workplace, job), now=make.now)
    survey.close_round(open_round, actor=organizer, now=make.now)
    ids = db.session.scalars(sa.select(SurveyAnswer.id)).all()
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)
    assert int(ids[0], 16) != int(ids[1], 16) + 1
    assert boxes() == []


def test_a_member_answers_once_per_round(open_round, make):
    workplace, job = make.workplace(), make.classification()
    member = make.member(workplace)
    survey.answer(member, open_round, answers_for(workplace, job), now=make.now)
    with pytest.raises(InvalidTransition, match="already answered"):
        survey.answer(member, open_round, answers_for(workplace, job), now=make.now)
    assert len(boxes(open_round)) == 1


@pytest.mark.parametrize("status", [MemberStatus.APPLICANT, MemberStatus.RESIGNED])
def test_only_members_in_the_union_answer(open_round, make, status):
    workplace, job = make.workplace(), make.classification()
    member = make.member(workplace, status=status)
    with pytest.raises(InvalidTransition):
        survey.answer(member, open_round, answers_for(workplace, job), now=make.now)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"hourly_wage_cents": -500}, "hourly_wage"),
        ({"hourly_wage_cents": 400}, "hourly_wage"),
        ({"weekly_hours": 200}, "weekly_hours"),
        ({"weekly_hours": 0}, "weekly_hours"),
        ({"paid_sick_days": 61}, "paid_sick_days"),
        ({"vacation_days": -1}, "vacation_days"),
        ({"months_since_raise": 601}, "months_since_raise"),
        ({"months_since_raise": 3, "never_had_raise": True}, "months_since_raise"),
    ],
)
def test_implausible_answers_get_a_message_and_store_nothing(
    open_round, make, values, field
):
    workplace, job = make.workplace(), make.classification()
    member = make.member(workplace)
    with pytest.raises(ValidationFailed) as refused:
        survey.answer(
            member, open_round, answers_for(workplace, job, **values), now=make.now
        )
    assert field in refused.value.errors
    assert boxes() == [] and answer_rows() == 0
    assert not survey.has_answered(member, open_round)


def test_workplace_and_job_are_required_and_must_exist(open_round, make):
    member = make.member(make.workplace())
    pending = make.workplace(status=WorkplaceStatus.PENDING)
    with pytest.raises(ValidationFailed) as refused:
        survey.answer(
            member,
            open_round,
            survey.Answers(workplace_id=None, classification_id=999_999),
            now=make.now,
        )
    assert set(refused.value.errors) == {"workplace_id", "classification_id"}
    with pytest.raises(ValidationFailed) as refused:
        survey.answer(
            member,
            open_round,
            answers_for(pending, make.classification()),
            now=make.now,
        )
    assert "workplace_id" in refused.value.errors


def test_one_round_open_at_a_time(open_round, organizer, make):
    with pytest.raises(ValidationFailed):
        survey.open_round("Another", actor=organizer, now=make.now)
    with pytest.raises(ValidationFailed):
        survey.open_round("   ", actor=organizer, now=make.now)


def test_closing_stores_the_catalogue_once(open_round, organizer, make):
    workplace, job = make.workplace(), make.classification()
    survey.answer(
        make.member(workplace), open_round, answers_for(workplace, job), now=make.now
    )
    survey.close_round(open_round, actor=organizer, now=make.now + timedelta(days=30))
    assert open_round.respondents == 1
    assert open_round.closed_on == (make.now + timedelta(days=30)).date()
    artifacts = db.session.scalars(sa.select(ReportArtifact)).all()
    levels = [report.levels for report in catalogue.CATALOGUE]
    expected = (
        len(levels)
        + len(Sector) * sum(Level.SECTOR in each for each in levels)
        + sum(Level.WORKPLACE in each for each in levels)
    )
    assert len(artifacts) == expected
    with pytest.raises(InvalidTransition):
        survey.close_round(open_round, actor=organizer, now=make.now)
    with pytest.raises(InvalidTransition):
        survey.answer(
            make.member(workplace),
            open_round,
            answers_for(workplace, job),
            now=make.now,
        )


def test_artifacts_can_not_be_changed(open_round, organizer, make):
    survey.close_round(open_round, actor=organizer, now=make.now)
    artifact = db.session.scalars(sa.select(ReportArtifact)).first()
    artifact.body = json.dumps({"tampered": True})
    with pytest.raises(ValueError, match="immutable"):
        db.session.flush()
    db.session.rollback()


def answer_twelve(survey_round, make):
    workplace, job = make.workplace(), make.classification()
    for _ in range(12):
        survey.answer(
            make.member(workplace),
            survey_round,
            answers_for(workplace, job),
            now=make.now,
        )


def test_closing_rewrites_answers_in_random_id_order(open_round, organizer, make):
    answer_twelve(open_round, make)
    survey.close_round(open_round, actor=organizer, now=make.now)
    physical = "ctid" if db.engine.dialect.name == "postgresql" else "rowid"
    stored = db.session.scalars(
        sa.text(f"SELECT id FROM survey_answers ORDER BY {physical}")  # noqa: S608
    ).all()
    assert stored == sorted(stored)
    assert len(stored) == 12


def partition_oid(survey_round):
    return db.session.scalar(
        sa.text("SELECT to_regclass(:name)::oid"),
        {"name": f"survey_answers_round_{survey_round.id}"},
    )


def stored_in(table_name, survey_round):
    return db.session.scalar(
        sa.text(f"SELECT count(*) FROM {table_name} WHERE round_id = :id"),  # noqa: S608
        {"id": survey_round.id},
    )


@pytest.fixture
def postgresql_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("partitions are PostgreSQL's; SQLite rewrites the rows")


def test_closing_puts_a_new_table_in_the_rounds_partition(
    postgresql_only, open_round, organizer, make
):
    answered_into = partition_oid(open_round)
    assert answered_into is not None
    answer_twelve(open_round, make)
    survey.close_round(open_round, actor=organizer, now=make.now)
    reordered = partition_oid(open_round)
    assert reordered not in (None, answered_into)
    # The table the answers were written into, in their order, is gone whole.
    gone = sa.text("SELECT count(*) FROM pg_class WHERE oid = :oid")
    assert db.session.scalar(gone, {"oid": answered_into}) == 0
    assert stored_in(f"survey_answers_round_{open_round.id}", open_round) == 12
    assert stored_in("survey_answers_default", open_round) == 0


def move_to_default(table, survey_round):
    """The round's rows of `table` moved into its default partition, and the
    round's own partition gone, as for a round made by hand."""
    name = f"{table}_round_{survey_round.id}"
    db.session.execute(sa.text(f"ALTER TABLE {table} DETACH PARTITION {name}"))
    db.session.execute(sa.text(f"INSERT INTO {table} SELECT * FROM {name}"))  # noqa: S608
    db.session.execute(sa.text(f"DROP TABLE {name}"))


def test_a_round_without_its_own_partitions_closes_too(
    postgresql_only, open_round, organizer, make
):
    for table in ("survey_answers", "survey_sealed_answers", "survey_round_keys"):
        move_to_default(table, open_round)
    answer_twelve(open_round, make)
    assert stored_in("survey_sealed_answers_default", open_round) == 12
    survey.close_round(open_round, actor=organizer, now=make.now)
    name = f"survey_answers_round_{open_round.id}"
    assert stored_in(name, open_round) == 12
    for table in ("survey_answers", "survey_sealed_answers", "survey_round_keys"):
        assert stored_in(f"{table}_default", open_round) == 0, table
    stored = db.session.scalars(
        sa.text(f"SELECT id FROM {name} ORDER BY ctid")  # noqa: S608
    ).all()
    assert stored == sorted(stored)


def test_closing_drops_the_boxes_and_the_key_whole(
    postgresql_only, open_round, organizer, make
):
    answer_twelve(open_round, make)
    names = [
        f"survey_sealed_answers_round_{open_round.id}",
        f"survey_round_keys_round_{open_round.id}",
    ]
    oids = [
        db.session.scalar(sa.text("SELECT to_regclass(:name)::oid"), {"name": name})
        for name in names
    ]
    assert None not in oids
    survey.close_round(open_round, actor=organizer, now=make.now)
    gone = sa.text("SELECT count(*) FROM pg_class WHERE oid = :oid")
    assert [db.session.scalar(gone, {"oid": oid}) for oid in oids] == [0, 0]
    assert boxes() == []
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(SurveyRoundKey)) == 0
    )


DATA_ONLY_ROLE = "union_test_data_rights_only"


def test_a_role_with_data_rights_only_opens_and_closes_rounds(
    postgresql_only, organizer, make
):
    """As the README advises for production: the app's role may read and write
    rows and run the four partition functions, and owns nothing."""
    for statement in (
        f"CREATE ROLE {DATA_ONLY_ROLE} NOLOGIN",
        f"GRANT USAGE ON SCHEMA public TO {DATA_ONLY_ROLE}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
        f"TO {DATA_ONLY_ROLE}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {DATA_ONLY_ROLE}",
        "GRANT EXECUTE ON FUNCTION union_make_answer_partition(integer), "
        "union_begin_round_answers(integer), union_reorder_round_answers(integer), "
        "union_drop_sealed_answers(integer) "
        f"TO {DATA_ONLY_ROLE}",
    ):
        db.session.execute(sa.text(statement))
    workplace, job = make.workplace(), make.classification()
    members = [make.member(workplace) for _ in range(12)]
    db.session.execute(sa.text(f"SET LOCAL ROLE {DATA_ONLY_ROLE}"))
    try:
        assert db.session.scalar(sa.text("SELECT current_user")) == DATA_ONLY_ROLE
        survey_round = survey.open_round("Spring 2027", actor=organizer, now=make.now)
        for member in members:
            survey.answer(
                member, survey_round, answers_for(workplace, job), now=make.now
            )
        survey.close_round(survey_round, actor=organizer, now=make.now)
    finally:
        db.session.execute(sa.text("RESET ROLE"))
    assert stored_in(f"survey_answers_round_{survey_round.id}", survey_round) == 12
    assert survey_round.respondents == 12
    # The app wrote the opened answers into the new partition under a grant to
    # PUBLIC, taken back before it was attached.
    public_grants = sa.text(
        "SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a "
        "WHERE c.relname = :name AND a.grantee = 0"
    )
    partition = f"survey_answers_round_{survey_round.id}"
    assert db.session.scalar(public_grants, {"name": partition}) == 0


def test_receipts_are_in_a_members_data_and_go_when_they_are_erased(
    open_round, organizer, make
):
    workplace, job = make.workplace(), make.classification()
    member = make.member(workplace, account=True)
    survey.answer(member, open_round, answers_for(workplace, job), now=make.now)
    data = privacy.personal_data(member, now=make.now)
    assert data["survey_rounds_answered"] == [
        {"round": "Spring 2027", "opened_on": make.now.date().isoformat()}
    ]
    # Nothing of the answer itself is in the member's data.
    assert "hourly_wage_cents" not in repr(data)
    admin = make.user(roles=(Role.ADMIN,))
    privacy.erase_member(member, actor=admin, now=make.now, gateway=None)
    assert not survey.has_answered(member, open_round)
    # The answer stays, for the union's figures: sealed until the round closes.
    assert len(boxes(open_round)) == 1
    survey.close_round(open_round, actor=organizer, now=make.now)
    assert answer_rows() == 1


# Sealing -----------------------------------------------------------------------

LONGEST: dict[str, Any] = {
    "employment_type": EmploymentType.PERMANENT_FULL_TIME,
    "hourly_wage_cents": 20000,
    "weekly_hours": 80,
    "health_benefits": False,
    "dental_benefits": False,
    "paid_sick_days": 60,
    "vacation_days": 60,
    "months_since_raise": 600,
    "never_had_raise": False,
    "grant_funded": YesNoUnsure.NOT_SURE,
    "relies_on_social_assistance": False,
    "discrimination_lived_experience": False,
}


def test_the_payload_holds_every_answer_in_order():
    assert [name for name, _kind in survey.PAYLOAD] == [
        field.name for field in dataclasses.fields(survey.Answers)
    ]


def test_every_box_is_as_long_whichever_questions_were_answered(open_round, make):
    workplace, job = make.workplace(), make.classification()
    longest = survey.Answers(
        workplace_id=2**31 - 1, classification_id=2**31 - 1, **LONGEST
    )
    # The longest answer possible leaves room in the padded size.
    assert len(survey._payload(longest)) < survey.SEALED_SIZE - 64
    for values in ({}, LONGEST):
        survey.answer(
            make.member(workplace),
            open_round,
            answers_for(workplace, job, **values),
            now=make.now,
        )
    lengths = {len(box) for box in boxes(open_round)}
    assert lengths == {sealing.sealed_size(survey.SEALED_SIZE)}


def _payloads_of_every_kind() -> list[bytes]:
    """Payloads as answering writes them, every question blank and answered."""
    answered = survey.Answers(workplace_id=7, classification_id=3, **LONGEST)
    blank = survey.Answers(workplace_id=8, classification_id=4)
    never = dataclasses.replace(
        blank, never_had_raise=True, employment_type=EmploymentType.CASUAL
    )
    low = dataclasses.replace(
        blank,
        hourly_wage_cents=500,
        weekly_hours=1,
        paid_sick_days=0,
        vacation_days=0,
        months_since_raise=0,
        health_benefits=True,
        grant_funded=YesNoUnsure.YES,
    )
    return [survey._payload(a) for a in (answered, blank, never, low)]


def _as_copy_reads(line: bytes) -> list[str | None]:
    """A line's fields as COPY with NULL '' reads them: a blank is no answer."""
    return [field.decode() or None for field in line.split(b"\t")]


def _as_stored(values: list[Any]) -> list[str | None]:
    """Values as the answers table stores them, in COPY's text."""
    text = {True: "t", False: "f", None: None}
    return [text[v] if v is None or type(v) is bool else str(v) for v in values]


def test_opening_all_at_once_reads_what_one_by_one_reads():
    """Closing checks every opened payload field by field, in one go, and hands
    the lines to COPY; it must accept exactly what the answer-by-answer reading
    accepts, and COPY must read from the lines the values that reading gives."""
    payloads = _payloads_of_every_kind() * 3
    lines = survey._lines_in(payloads)
    one_by_one, unplausible = survey._columns_one_by_one(payloads)
    assert unplausible == 0
    assert lines is not None
    rows = zip(*(one_by_one[name] for name in FIELD_NAMES), strict=True)
    assert [_as_copy_reads(line) for line in lines] == [
        _as_stored(list(row)) for row in rows
    ]
    assert one_by_one["employment_type"][0] == "permanent_full_time"
    assert survey._lines_in([]) == []


FIELD_NAMES = [name for name, _kind in survey.PAYLOAD]


@pytest.mark.parametrize("name", sorted(survey._BOUNDS))
def test_the_lines_take_exactly_the_numbers_the_answers_may_hold(name):
    """Every number up to past the top of a question's range, and one more digit:
    the check of all the lines at once takes those the one-by-one reading takes."""
    low, high = survey._BOUNDS[name]
    for number in [*range(0, high + 150), high * 10, 10 ** len(str(high))]:
        payload = survey._payload(
            survey.Answers(workplace_id=7, classification_id=3, **{name: number})
        )
        in_range = low <= number <= high
        assert (survey._lines_in([payload]) is not None) is in_range, number
        assert (survey._answers_in(payload) is not None) is in_range, number


def test_months_go_with_a_raise_and_not_with_never_having_had_one():
    for never, months, plausible in [
        (None, 5, True),
        (False, 5, True),
        (True, 5, False),
        (True, 0, False),
        (True, None, True),
        (False, None, True),
        (None, None, True),
    ]:
        payload = survey._payload(
            survey.Answers(7, 3, never_had_raise=never, months_since_raise=months)
        )
        assert (survey._lines_in([payload]) is not None) is plausible
        assert (survey._answers_in(payload) is not None) is plausible


def test_numbers_written_other_than_answering_writes_them_are_read_one_by_one():
    """A leading zero is a plausible number the bulk check leaves to the slow way."""
    payload = survey._payload(survey.Answers(7, 3)).replace(b"2\t7\t", b"2\t07\t")
    assert survey._lines_in([payload]) is None
    assert survey._answers_in(payload) == survey.Answers(7, 3)


def test_answers_sealed_as_json_before_version_2_still_open():
    """Boxes sealed in version 1 (a JSON array) by a round open when the app was
    upgraded are read as they were."""
    for payload in _payloads_of_every_kind():
        answers = survey._answers_in(payload)
        assert answers is not None
        values = [
            value.value if isinstance(value, enum.Enum) else value
            for value in (getattr(answers, name) for name in FIELD_NAMES)
        ]
        legacy = json.dumps([1, *values], separators=(",", ":")).encode()
        assert survey._answers_in(legacy) == answers
        # Not a line: the one-by-one reading is the way for them.
        assert survey._lines_in([legacy]) is None


BLANKS = b"\t" * 12


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"2",
        b"not answers",
        b"3\t7\t3" + BLANKS,  # an unknown version
        b"2\t7\t3" + b"\t" * 11,  # one field short
        b"2\t7\t3" + b"\t" * 13,  # one field too many
        b"2\t\t3" + BLANKS,  # no workplace
        b"2\t7\t" + BLANKS,  # no job
        b"2\t7\tt" + BLANKS,  # a job that is a boolean
        b"2\t+7\t3" + BLANKS,  # a sign
        b"2\t7\t3\tboss" + b"\t" * 11,  # no such employment type
        b"2\t7\t3\tCASUAL" + b"\t" * 11,  # an option in capitals
        b"2\t7\t3\t casual" + b"\t" * 11,  # a space
        b"2\t7\t3\t\t499" + b"\t" * 10,  # a wage below the range
        b"2\t7\t3\t\t-500" + b"\t" * 10,  # a negative wage
        b"2\t7\t3\t\t2000.5" + b"\t" * 10,  # a wage that is not whole
        b"2\t7\t3\t\t\t\t1" + b"\t" * 8,  # benefits that are 1
        b"2\t7\t3\t\t\t\ttrue" + b"\t" * 8,  # benefits spelt out
        b"2\t7\t3" + b"\t" * 7 + b"\t12\tt\t\t\t",  # months and never
        b"2\t7\t3\t\\N" + b"\t" * 11,  # a backslash
        b"2\t7\t3" + BLANKS + b"\n2\t7\t3" + BLANKS,  # two in one
        b"2\t7\t3\r" + BLANKS,  # a carriage return
        b"2\t7\t3\x00" + BLANKS,  # a zero byte
        b'[1,7,3,"boss"' + b",null" * 11 + b"]",  # version 1, no such option
        b"[1,7,3" + b",null" * 6 + b",12,true,null,null,null]",  # v1 months and never
        b"[2," + b"null," * 13 + b"null]",  # JSON with version 2
        b"{}",
    ],
)
def test_one_implausible_payload_among_many_is_found_and_counted(bad):
    good = _payloads_of_every_kind()
    payloads = [*good, bad, *good]
    assert survey._lines_in(payloads) is None
    columns, unplausible = survey._columns_one_by_one(payloads)
    assert unplausible == 1
    assert len(columns["workplace_id"]) == 2 * len(good)


def test_answering_writes_two_rows_and_reads_or_changes_nothing_else(
    open_round, make, count_queries
):
    """No time, no sequence, no audit row, no update: whatever answering writes is
    the receipt and the box."""
    workplace, job = make.workplace(), make.classification()
    member = make.member(workplace)
    db.session.flush()
    with count_queries() as counter:
        survey.answer(member, open_round, answers_for(workplace, job), now=make.now)
    writes = [
        statement.split("(")[0].split()
        for statement in counter.statements
        if not statement.lstrip().upper().startswith("SELECT")
    ]
    assert writes == [
        ["INSERT", "INTO", "survey_receipts"],
        ["INSERT", "INTO", "survey_sealed_answers"],
    ]
    joined = " ".join(counter.statements).lower()
    assert "nextval" not in joined and "now()" not in joined


def test_a_box_does_not_open_with_what_the_database_holds(open_round, make):
    """The database holds the round's key encrypted with ENCRYPTION_KEYS: it does
    not open a box without the app's keys."""
    workplace, job = make.workplace(), make.classification()
    survey.answer(
        make.member(workplace), open_round, answers_for(workplace, job), now=make.now
    )
    [box] = boxes(open_round)
    stored = db.session.scalar(
        sa.select(sa.type_coerce(SurveyRoundKey.sealing_key, sa.Text()))
    )
    context = survey.seal_context(open_round.id)
    candidates = [
        stored.encode()[:32],
        stored.encode()[-32:],
        base64.urlsafe_b64decode(stored)[:32],
        base64.urlsafe_b64decode(stored)[-32:],
    ]
    for candidate in candidates:
        with pytest.raises(sealing.CannotOpen):
            sealing.Opener(candidate, context=context).open(box)
    # The round's key is a Fernet token: another key does not read it.
    with pytest.raises(crypto.InvalidToken):
        Fernet(crypto.new_key()).decrypt(stored.encode())
    # With the app's keys, it opens: what closing does.
    db.session.expire_all()
    key = survey.round_key(db.session.get(SurveyRoundKey, open_round.id))
    assert len(key) == 32
    assert sealing.Opener(key, context=context).open(box).startswith(b"2\t")
    # In this round only.
    with pytest.raises(sealing.CannotOpen):
        sealing.Opener(key, context=survey.seal_context(open_round.id + 1)).open(box)


def varied_answers(workplace, job, count):
    return [
        answers_for(
            workplace,
            job,
            hourly_wage_cents=1500 + 25 * number,
            weekly_hours=None if number % 3 else 20 + number % 40,
            health_benefits=[None, True, False][number % 3],
            employment_type=list(EmploymentType)[number % 4] if number % 5 else None,
            never_had_raise=number % 7 == 0 or None,
            grant_funded=list(YesNoUnsure)[number % 3],
        )
        for number in range(count)
    ]


def stored_answers(survey_round):
    rows = db.session.scalars(
        sa.select(SurveyAnswer).where(SurveyAnswer.round_id == survey_round.id)
    )
    return Counter(
        survey.Answers(
            **{f.name: getattr(row, f.name) for f in dataclasses.fields(survey.Answers)}
        )
        for row in rows
    )


def test_closing_opens_every_box_into_the_answers_given(open_round, organizer, make):
    workplace, job = make.workplace(), make.classification()
    given = varied_answers(workplace, job, 40)
    for answers in given:
        survey.answer(make.member(workplace), open_round, answers, now=make.now)
    survey.close_round(open_round, actor=organizer, now=make.now)
    assert stored_answers(open_round) == Counter(given)
    assert open_round.respondents == 40
    assert boxes() == []
    assert db.session.get(SurveyRoundKey, open_round.id) is None


def test_a_box_that_does_not_open_stops_the_close_and_changes_nothing(
    open_round, organizer, make
):
    answer_twelve(open_round, make)
    damaged = bytearray(boxes(open_round)[0])
    damaged[-1] ^= 1
    db.session.execute(
        sa.insert(sealed_answers).values(round_id=open_round.id, sealed=bytes(damaged))
    )
    with pytest.raises(InvalidTransition, match="1 sealed answers could not be opened"):
        survey.close_round(open_round, actor=organizer, now=make.now)
    db.session.expire_all()
    assert open_round.is_open
    assert len(boxes(open_round)) == 13
    assert db.session.get(SurveyRoundKey, open_round.id) is not None
    assert answer_rows() == 0
    assert db.session.scalar(sa.select(sa.func.count(ReportArtifact.id))) == 0


def test_an_answer_at_a_job_that_no_longer_exists_stops_the_close(
    open_round, organizer, make
):
    """On PostgreSQL the lines go to COPY and the foreign keys find the job gone
    as the table is attached; the answers are then read one by one to count."""
    answer_twelve(open_round, make)
    workplace = make.workplace()
    key = survey.round_key(db.session.get(SurveyRoundKey, open_round.id))
    gone = survey.Answers(workplace_id=workplace.id, classification_id=2**31 - 1)
    db.session.execute(
        sa.insert(sealed_answers).values(
            round_id=open_round.id, sealed=survey.seal(gone, key, open_round.id)
        )
    )
    with pytest.raises(InvalidTransition, match="1 sealed answers could not be opened"):
        survey.close_round(open_round, actor=organizer, now=make.now)
    db.session.expire_all()
    assert open_round.is_open
    assert len(boxes(open_round)) == 13
    assert db.session.get(SurveyRoundKey, open_round.id) is not None
    assert answer_rows() == 0


def test_a_round_with_boxes_sealed_before_version_2_still_closes(
    open_round, organizer, make
):
    """Boxes sealed as JSON by the app before the upgrade, in a round still open
    after it: on PostgreSQL the first batch is not lines, the COPY is called off
    and every box is read one by one; the answers are all kept."""
    workplace, job = make.workplace(), make.classification()
    given = varied_answers(workplace, job, 12)
    for answers in given:
        survey.answer(make.member(workplace), open_round, answers, now=make.now)
    key = survey.round_key(db.session.get(SurveyRoundKey, open_round.id))
    legacy = answers_for(workplace, job, hourly_wage_cents=2500, never_had_raise=True)
    values = [legacy.workplace_id, legacy.classification_id, None, 2500]
    values += [None] * 6 + [True, None, None, None]
    box = sealing.seal(
        json.dumps([1, *values]).encode(),
        key,
        size=survey.SEALED_SIZE,
        context=survey.seal_context(open_round.id),
    )
    db.session.execute(
        sa.insert(sealed_answers).values(round_id=open_round.id, sealed=box)
    )
    survey.close_round(open_round, actor=organizer, now=make.now)
    assert stored_answers(open_round) == Counter([*given, legacy])
    assert open_round.respondents == 13
    assert boxes() == []


def test_a_box_moved_to_another_round_does_not_open_there(organizer, make):
    workplace, job = make.workplace(), make.classification()
    first = survey.open_round("First", actor=organizer, now=make.now)
    survey.answer(
        make.member(workplace), first, answers_for(workplace, job), now=make.now
    )
    [box] = boxes(first)
    survey.close_round(first, actor=organizer, now=make.now)
    second = survey.open_round("Second", actor=organizer, now=make.now)
    db.session.execute(sa.insert(sealed_answers).values(round_id=second.id, sealed=box))
    with pytest.raises(InvalidTransition, match="could not be opened"):
        survey.close_round(second, actor=organizer, now=make.now)


def test_rotating_the_encryption_keys_keeps_an_open_round_closable(
    open_round, organizer, make, now
):
    answer_twelve(open_round, make)
    lookup = current_app.config["LOOKUP_HASH_KEY"]
    new = crypto.new_key()
    storage = current_app.extensions["union_documents"]
    try:
        crypto.configure([new, TEST_ENCRYPTION_KEY], lookup)
        counts = keys.rotate_keys(storage=storage, now=now)
        assert counts["survey_round_keys.sealing_key"] == 1
        crypto.configure([new], lookup)
        db.session.expire_all()
        survey.close_round(open_round, actor=organizer, now=now)
    finally:
        crypto.configure([TEST_ENCRYPTION_KEY], lookup)
    assert open_round.respondents == 12


def test_an_answer_after_the_round_closed_elsewhere_is_refused(open_round, make):
    """The round object in hand may still say open: answering reads the status
    again under a lock that closing also takes."""
    workplace, job = make.workplace(), make.classification()
    db.session.execute(
        sa.text("UPDATE survey_rounds SET status = 'closed' WHERE id = :id"),
        {"id": open_round.id},
    )
    assert open_round.is_open
    with pytest.raises(InvalidTransition, match="has closed"):
        survey.answer(
            make.member(workplace),
            open_round,
            answers_for(workplace, job),
            now=make.now,
        )
    assert boxes() == []


# The open round's count --------------------------------------------------------


def test_an_open_rounds_count_is_a_band_counted_at_most_once_a_day(
    open_round, organizer, make
):
    workplace, job = make.workplace(), make.classification()

    def answer(count):
        for _ in range(count):
            survey.answer(
                make.member(workplace),
                open_round,
                answers_for(workplace, job),
                now=make.now,
            )

    def shown(moment):
        [row] = survey.rounds(now=moment)
        assert row.respondents is None
        return row.band, row.counted_on

    day = make.now
    assert shown(day) == ((0, 0), today(day))
    answer(3)
    assert shown(day + timedelta(hours=1)) == ((0, 0), today(day))
    assert shown(day + timedelta(days=1)) == ((1, 4), today(day + timedelta(days=1)))
    answer(4)
    later = day + timedelta(days=1, hours=2)
    assert shown(later) == ((1, 4), today(later))
    next_day = day + timedelta(days=2)
    assert shown(next_day) == ((5, 9), today(next_day))
    # Closed, it shows how many answered.
    survey.close_round(open_round, actor=organizer, now=next_day)
    [row] = survey.rounds(now=next_day)
    assert (row.respondents, row.band) == (7, None)


def test_the_band_follows_the_disclosure_rules(open_round, make):
    workplace, job = make.workplace(), make.classification()
    for _ in range(7):
        survey.answer(
            make.member(workplace),
            open_round,
            answers_for(workplace, job),
            now=make.now,
        )
    [row] = survey.rounds(now=make.now, rules=Rules(min_count=10))
    assert row.band == (1, 9)
