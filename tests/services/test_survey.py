"""Survey rounds and answering: anonymity of the stored rows, one answer per member,
plausible values, and the reports stored once when a round closes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from union.db import db
from union.errors import InvalidTransition, ValidationFailed
from union.models import (
    MemberStatus,
    ReportArtifact,
    Role,
    Sector,
    SurveyAnswer,
    SurveyReceipt,
    WorkplaceStatus,
)
from union.services import privacy, survey
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


def test_answer_ids_are_random_and_the_receipt_is_separate(open_round, make):
    workplace, job = make.workplace(), make.classification()
    first, second = make.member(workplace), make.member(workplace)
    for member in (first, second):
        survey.answer(member, open_round, answers_for(workplace, job), now=make.now)
    ids = db.session.scalars(sa.select(SurveyAnswer.id)).all()
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)
    assert int(ids[0], 16) != int(ids[1], 16) + 1
    receipts = db.session.scalars(sa.select(SurveyReceipt.member_id)).all()
    assert sorted(receipts) == sorted([first.id, second.id])


def test_a_member_answers_once_per_round(open_round, make):
    workplace, job = make.workplace(), make.classification()
    member = make.member(workplace)
    survey.answer(member, open_round, answers_for(workplace, job), now=make.now)
    with pytest.raises(InvalidTransition, match="already answered"):
        survey.answer(member, open_round, answers_for(workplace, job), now=make.now)
    assert db.session.scalar(sa.select(sa.func.count(SurveyAnswer.id))) == 1


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
    assert db.session.scalar(sa.select(sa.func.count(SurveyAnswer.id))) == 0
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


def test_a_round_without_its_own_partition_closes_too(
    postgresql_only, open_round, organizer, make
):
    name = f"survey_answers_round_{open_round.id}"
    db.session.execute(sa.text(f"ALTER TABLE survey_answers DETACH PARTITION {name}"))
    db.session.execute(sa.text(f"DROP TABLE {name}"))
    answer_twelve(open_round, make)
    assert stored_in("survey_answers_default", open_round) == 12
    survey.close_round(open_round, actor=organizer, now=make.now)
    assert stored_in(name, open_round) == 12
    assert stored_in("survey_answers_default", open_round) == 0
    stored = db.session.scalars(
        sa.text(f"SELECT id FROM {name} ORDER BY ctid")  # noqa: S608
    ).all()
    assert stored == sorted(stored)


DATA_ONLY_ROLE = "union_test_data_rights_only"


def test_a_role_with_data_rights_only_opens_and_closes_rounds(
    postgresql_only, organizer, make
):
    """As the README advises for production: the app's role may read and write
    rows and run the two partition functions, and owns nothing."""
    for statement in (
        f"CREATE ROLE {DATA_ONLY_ROLE} NOLOGIN",
        f"GRANT USAGE ON SCHEMA public TO {DATA_ONLY_ROLE}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
        f"TO {DATA_ONLY_ROLE}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {DATA_ONLY_ROLE}",
        "GRANT EXECUTE ON FUNCTION union_make_answer_partition(integer), "
        f"union_reorder_round_answers(integer) TO {DATA_ONLY_ROLE}",
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
    assert db.session.scalar(sa.select(sa.func.count(SurveyAnswer.id))) == 1
