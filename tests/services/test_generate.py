"""The benchmark data generator: rows shaped exactly as the app writes them."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from union import generate
from union.clock import month_index, month_start
from union.db import db
from union.generate import organisation, surveys
from union.generate.ledger import CoveredMonths
from union.models import (
    DuesCoverage,
    DuesPayment,
    DuesWaiver,
    Grievance,
    GrievanceEvent,
    GrievanceEventKind,
    GrievanceNote,
    Member,
    MemberStatus,
    Remittance,
    ReportArtifact,
    Role,
    StepRecord,
    SurveyAnswer,
    SurveyReceipt,
    SurveyRound,
    Workplace,
    sealed_answers,
)
from union.rules.passwords import hash_password
from union.rules.standing import coverage_summary, months_to_cover
from union.services import accounts, dues, numbers, survey, treasury

SMALL = generate.Scale.of(members=80, workplaces=6, years=2, grievances=40, seed=3)


@pytest.fixture
def generated(database, now):
    progress: list[tuple[str, int, int]] = []
    summary = generate.generate(
        SMALL,
        password_hash=hash_password("generated password"),
        now=now,
        progress=lambda *step: progress.append(step),
    )
    db.session.expire_all()
    return summary, progress


Operation = st.one_of(
    st.tuples(st.just("pay"), st.integers(1, 6)),
    st.tuples(st.just("waive"), st.integers(0, 30), st.integers(1, 6)),
    st.tuples(st.just("refund"), st.integers(0, 50)),
)


@given(st.lists(Operation, max_size=25))
def test_covered_months_are_the_oldest_uncovered_as_the_app_picks_them(operations):
    start = month_index(date(2024, 3, 1))
    months = CoveredMonths(start)
    covered: set[date] = set()
    payments: list[list[int]] = []
    for operation in operations:
        if operation[0] == "pay":
            expected = months_to_cover(month_start(start), covered, operation[1])
            chosen = months.cover_oldest(operation[1], ("payment", len(payments)))
            assert [month_start(m) for m in chosen] == expected
            covered.update(expected)
            payments.append(chosen)
        elif operation[0] == "waive":
            first = start + operation[1]
            wanted = range(first, first + operation[2])
            chosen = months.cover(wanted, ("waiver", 0))
            assert chosen == [m for m in wanted if month_start(m) not in covered]
            covered.update(month_start(m) for m in chosen)
        elif payments:
            refunded = payments.pop(operation[1] % len(payments))
            months.release(refunded)
            covered.difference_update(month_start(m) for m in refunded)
        assert {month_start(m) for m in months.by} == covered


def test_it_makes_the_union_it_was_asked_for(generated):
    summary, progress = generated
    count = sa.func.count()
    assert db.session.scalar(sa.select(count).select_from(Member)) == 80
    assert db.session.scalar(sa.select(count).select_from(Workplace)) == 6
    assert db.session.scalar(sa.select(count).select_from(Grievance)) == 40
    assert summary.rows["members"] == 80
    assert summary.rows["dues_coverage"] > 80 * 6
    assert {section for section, _done, _total in progress} >= {
        "workplaces",
        "members",
        "dues",
        "grievances",
    }
    assert progress[-1][1] == progress[-1][2]


def test_every_payment_covers_its_months_and_refunds_cover_none(generated):
    covered = Counter(
        db.session.scalars(
            sa.select(DuesCoverage.payment_id).where(
                DuesCoverage.payment_id.is_not(None)
            )
        )
    )
    payments = db.session.scalars(sa.select(DuesPayment)).all()
    assert payments
    for payment in payments:
        expected = 0 if payment.is_refunded else payment.months
        assert covered.get(payment.id, 0) == expected, payment.id
        assert payment.amount_cents >= payment.initiation_cents >= 0
    receipts = [p.receipt_number for p in payments if p.receipt_number]
    assert len(receipts) == len(set(receipts))
    first: dict[int, DuesPayment] = {}
    for payment in sorted(payments, key=lambda p: p.id):
        first.setdefault(payment.member_id, payment)
    assert all(p.initiation_cents > 0 for p in first.values())


def test_each_confirmed_remittance_took_in_exactly_its_months_receipts(generated):
    remittances = db.session.scalars(sa.select(Remittance)).all()
    assert remittances
    taken: dict[int, list[DuesPayment]] = {}
    for payment in db.session.scalars(
        sa.select(DuesPayment).where(DuesPayment.remittance_id.is_not(None))
    ):
        taken.setdefault(payment.remittance_id, []).append(payment)
    for remittance in remittances:
        payments = taken.get(remittance.id, [])
        assert sum(p.amount_cents for p in payments) == remittance.total_cents
        assert len(payments) == remittance.receipts
        assert all(
            p.recorded_by_id == remittance.delegate_id
            and p.paid_on.replace(day=1) == remittance.month
            for p in payments
        )
        assert remittance.parent_cents + remittance.branch_cents == (
            remittance.total_cents
        )


def test_standing_in_sql_and_in_python_agree_for_every_member(generated, now):
    members = db.session.scalars(sa.select(Member)).all()
    owing = treasury.arrears_by_member([m.id for m in members], now=now)
    statuses = set()
    for member in members:
        standing = dues.member_standing(member, now=now)
        assert owing[member.id] == standing.arrears, member.member_number
        statuses.add(member.status)
        if member.status is MemberStatus.APPLICANT:
            assert standing.months_covered == 0
    assert MemberStatus.ACTIVE in statuses
    assert any(value > 0 for value in owing.values())
    assert any(value == 0 for value in owing.values())


def test_waivers_cover_only_granted_months_nothing_else_covered(generated):
    for waiver in db.session.scalars(sa.select(DuesWaiver)):
        months = db.session.scalars(
            sa.select(DuesCoverage.month).where(DuesCoverage.waiver_id == waiver.id)
        ).all()
        if waiver.status.value == "pending":
            assert months == []
        for month in months:
            assert waiver.first_month <= month <= waiver.last_month


def test_accounts_sign_in_and_emails_are_encrypted_with_their_hash(generated, now):
    user = accounts.authenticate("steward1@example.org", "generated password", now=now)
    assert user is not None
    assert Role.STEWARD in user.roles
    assert user.member is not None
    assert user.steward_assignments
    for email, role in (
        ("admin@example.org", Role.ADMIN),
        ("treasurer@example.org", Role.TREASURER),
        ("organizer@example.org", Role.ORGANIZER),
    ):
        staff = accounts.user_by_email(email)
        assert staff is not None and role in staff.roles
    stored = db.session.execute(sa.text("SELECT email FROM users LIMIT 1")).scalar()
    assert stored is not None and "@" not in stored


def test_grievances_have_timelines_and_per_year_numbers(generated):
    for grievance in db.session.scalars(sa.select(Grievance)):
        steps = db.session.scalars(
            sa.select(StepRecord)
            .where(StepRecord.grievance_id == grievance.id)
            .order_by(StepRecord.id)
        ).all()
        kinds = db.session.scalars(
            sa.select(GrievanceEvent.kind).where(
                GrievanceEvent.grievance_id == grievance.id
            )
        ).all()
        assert steps[0].step.value == "intake"
        assert steps[-1].step is grievance.step
        assert GrievanceEventKind.OPENED in kinds
        assert grievance.is_open == (grievance.outcome is None)
        assert grievance.number.startswith(f"{grievance.opened_on.year}-")
        assert grievance.title


def test_the_apps_own_numbers_carry_on_after_the_generated_ones(generated):
    highest = db.session.scalar(sa.select(sa.func.max(Member.member_number)))
    assert numbers.next_number("member_number") == highest + 1
    receipt = db.session.scalar(sa.select(sa.func.max(DuesPayment.receipt_number)))
    assert numbers.next_number("receipt") == receipt + 1


def test_it_refuses_a_union_that_already_has_members(generated, now):
    with pytest.raises(generate.AlreadyPopulated):
        generate.generate(SMALL, password_hash="x", now=now, progress=lambda *_: None)


def test_the_scale_keeps_workplaces_and_grievances_in_proportion():
    scale = generate.Scale.of(members=100_000, workplaces=1000, years=5)
    assert scale.grievances == 20_000
    assert generate.Scale.of(members=20, workplaces=50, years=1).workplaces == 4
    with pytest.raises(ValueError, match="at least"):
        generate.Scale.of(members=5, workplaces=1, years=1)


def test_each_members_arrears_summary_matches_their_coverage(generated):
    for member in db.session.scalars(sa.select(Member)):
        covered = dues.covered_months(member.id)
        expected = coverage_summary(dues.start_month(member), covered)
        assert (member.first_uncovered_month, member.months_covered_later) == expected
        assert member.last_covered_month == max(covered, default=None)


def test_survey_rounds_are_quarterly_with_answers_receipts_and_reports(generated, now):
    summary, _progress = generated
    rounds = db.session.scalars(sa.select(SurveyRound).order_by(SurveyRound.id)).all()
    assert len(rounds) == SMALL.survey_rounds == 8
    assert [r.is_open for r in rounds] == [False] * 7 + [True]
    per_round = SMALL.survey_answers // SMALL.survey_rounds
    for survey_round in rounds:
        in_the_clear = db.session.scalar(
            sa.select(sa.func.count(SurveyAnswer.id)).where(
                SurveyAnswer.round_id == survey_round.id
            )
        )
        sealed = db.session.scalar(
            sa.select(sa.func.count()).where(
                sealed_answers.c.round_id == survey_round.id
            )
        )
        receipts = db.session.scalar(
            sa.select(sa.func.count()).where(SurveyReceipt.round_id == survey_round.id)
        )
        # The open round's answers are sealed, as the app seals them.
        answers = sealed if survey_round.is_open else in_the_clear
        assert (in_the_clear if survey_round.is_open else sealed) == 0
        assert 0 < answers == receipts <= per_round
        stored = db.session.scalar(
            sa.select(sa.func.count(ReportArtifact.id)).where(
                ReportArtifact.round_id == survey_round.id
            )
        )
        assert (stored > 0) is (not survey_round.is_open)
        if not survey_round.is_open:
            assert survey_round.respondents == answers
    assert summary.rows["survey_answers"] == sum(
        db.session.scalars(
            sa.select(sa.func.count(SurveyAnswer.id)).group_by(SurveyAnswer.round_id)
        )
    )
    assert summary.rows["survey_sealed_answers"] == db.session.scalar(
        sa.select(sa.func.count()).select_from(sealed_answers)
    )
    # The open round closes like any other: every sealed answer opens.
    current = survey.current_round()
    survey.close_round(current, actor=None, now=now)
    assert current.respondents == summary.rows["survey_sealed_answers"]


def test_every_generated_note_is_on_its_case_timeline(generated):
    """The case page reads notes only for cases whose timeline shows one added."""
    with_notes = set(db.session.scalars(sa.select(GrievanceNote.grievance_id)))
    noted = set(
        db.session.scalars(
            sa.select(GrievanceEvent.grievance_id).where(
                GrievanceEvent.kind == GrievanceEventKind.NOTE_ADDED
            )
        )
    )
    assert with_notes and with_notes <= noted


def test_the_close_round_benchmark_gets_one_open_round_and_nobody_who_answered(
    database, now
):
    """benchmarks/close_round.py's data: the workplaces section, then one open
    round of anonymous answers at those workplaces, which closes."""
    scale = generate.Scale(
        members=0,
        workplaces=5,
        years=1,
        grievances=0,
        seed=3,
        survey_rounds=1,
        survey_answers=300,
    )
    summary = generate.generate(
        scale,
        password_hash="",
        now=now,
        progress=lambda *_: None,
        sections=(organisation.workplaces, surveys.open_round),
    )
    survey_round = db.session.scalars(sa.select(SurveyRound)).one()
    assert survey_round.is_open
    assert summary.rows["workplaces"] == 5
    assert summary.rows["survey_sealed_answers"] == 300
    assert "survey_answers" not in summary.rows
    assert "members" not in summary.rows
    assert "survey_receipts" not in summary.rows
    survey.close_round(survey_round, actor=None, now=now)
    assert survey_round.respondents == 300
    answered_at = set(db.session.scalars(sa.select(SurveyAnswer.workplace_id)))
    assert answered_at <= set(db.session.scalars(sa.select(Workplace.id)))
