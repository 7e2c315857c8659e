"""The retention job removes exactly what is past its period, once, on the record."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from union.db import db
from union.models import (
    AccountToken,
    AuditEvent,
    CheckoutAttempt,
    DuesNotice,
    DuesPayment,
    GrievanceDocument,
    GrievanceNote,
    GrievanceOutcome,
    GrievanceStep,
    LoginSession,
    Member,
    MemberStatus,
    NoticeKind,
    StripeEvent,
    TokenPurpose,
    User,
    grievance_grievants,
)
from union.services import accounts, audit, retention

DAY = timedelta(days=1)


def count(model, *conditions):
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(model).where(*conditions)
    )


def run(now, **periods):
    return retention.apply_retention(
        retention.RetentionPeriods(**periods),
        now=now,
        storage=current_app.extensions["union_documents"],
    )


@pytest.fixture
def later(now):
    """The moment the job runs: a year and a bit after the data was made."""
    return now + DAY * 450


def test_tokens_and_sessions_go_a_month_after_they_end(make, now, later):
    user = make.user()
    accounts.issue_token(user, TokenPurpose.RESET, now=now, lifetime=DAY)
    fresh_token = accounts.issue_token(
        make.user(), TokenPurpose.RESET, now=later - DAY, lifetime=DAY * 7
    )
    accounts.start_login_session(user, now=now, max_age=DAY)
    accounts.start_login_session(user, now=later - DAY, max_age=DAY * 14)
    counts = run(later)
    assert (counts["account_tokens"], counts["login_sessions"]) == (1, 1)
    assert count(AccountToken, AccountToken.token_hash == accounts.digest(fresh_token))
    assert count(LoginSession) == 1


def test_unconfirmed_applications_go_but_confirmed_ones_and_staff_stay(
    make, now, later
):
    abandoned = make.member(status=MemberStatus.APPLICANT, email="gone@example.org")
    waiting = make.member(status=MemberStatus.APPLICANT, account=True)
    abandoned_user_id = abandoned.user_id
    counts = run(later)
    assert counts["unconfirmed_applications"] == 1
    assert db.session.get(Member, abandoned.id) is None
    assert db.session.get(User, abandoned_user_id) is None
    assert db.session.get(Member, waiting.id) is not None


def test_stripe_events_checkouts_and_notices_go_after_their_periods(make, now, later):
    member = make.member()
    db.session.add_all(
        [
            StripeEvent(
                id="evt_old", type="x", created=now, received_at=now, outcome="ok"
            ),
            StripeEvent(
                id="evt_new", type="x", created=later, received_at=later, outcome="ok"
            ),
            CheckoutAttempt(
                public_id="a1",
                member_id=member.id,
                kind="one_off",
                amount_cents=1100,
                created_at=now,
            ),
            DuesNotice(
                member_id=member.id, kind=NoticeKind.DUES_REMINDER, key="k", sent_at=now
            ),
        ]
    )
    db.session.flush()
    counts = run(later)
    assert (
        counts["stripe_events"],
        counts["checkout_attempts"],
        counts["dues_notices"],
    ) == (1, 1, 0)
    assert db.session.scalars(sa.select(StripeEvent.id)).all() == ["evt_new"]


def test_long_closed_grievances_keep_their_counts_but_lose_their_story(
    app, make, now, later
):
    workplace = make.workplace()
    steward = make.steward(workplace)
    member = make.member(workplace)
    closed = make.grievance(workplace, steward=steward, grievants=[member])
    closed.step, closed.closed_on = GrievanceStep.RESOLVED, now.date()
    closed.outcome, closed.money_recovered_cents = GrievanceOutcome.WON, 50_000
    closed.remedy_obtained = "Back pay"
    make.note(closed, "Private note", steward)
    document = make.document(closed)
    still_open = make.grievance(workplace, steward=steward, grievants=[member])
    payment_count = count(DuesPayment)

    assert run(later)["closed_grievances"] == 0  # kept until a period is set
    counts = run(later, closed_grievances=DAY * 365)

    assert counts["closed_grievances"] == 1
    db.session.expire_all()
    assert (closed.title, closed.what_happened, closed.remedy_obtained) == (
        "",
        "",
        None,
    )
    assert closed.erased_at == later
    assert (closed.outcome, closed.money_recovered_cents) == (
        GrievanceOutcome.WON,
        50_000,
    )
    assert count(GrievanceNote, GrievanceNote.grievance_id == closed.id) == 0
    assert count(GrievanceDocument) == 0
    with pytest.raises(FileNotFoundError):
        app.extensions["union_documents"].read(document.storage_key)
    assert not count(
        grievance_grievants, grievance_grievants.c.grievance_id == closed.id
    )
    assert count(
        grievance_grievants, grievance_grievants.c.grievance_id == still_open.id
    )
    assert still_open.title and count(DuesPayment) == payment_count
    # A second run the same day has nothing left to do.
    again = run(later, closed_grievances=DAY * 365)
    assert not any(again.values())


def test_audit_rows_stay_unless_a_period_is_set_and_every_run_is_recorded(
    make, now, later
):
    audit.record("member.viewed", actor=None, now=now)
    audit.record("member.viewed", actor=None, now=later)
    db.session.flush()
    assert run(later)["audit_events"] == 0
    assert run(later, audit_events=DAY * 365)["audit_events"] == 1
    runs = db.session.scalars(
        sa.select(AuditEvent.detail).where(AuditEvent.action == "retention.applied")
    ).all()
    assert len(runs) == 2 and runs[1] == "audit_events=1"


def test_periods_come_from_configuration(app):
    periods = retention.RetentionPeriods.from_days(app.config["RETENTION_DAYS"])
    assert periods.login_sessions == DAY * 30
    assert periods.closed_grievances is None and periods.audit_events is None


def test_the_command_prints_what_it_removed(app, database, make, now):
    accounts.issue_token(
        make.user(), TokenPurpose.RESET, now=now - DAY * 60, lifetime=DAY
    )
    result = app.test_cli_runner().invoke(args=["union", "apply-retention"])
    assert result.exit_code == 0, result.output
    assert "account tokens: 1" in result.output
    second = app.test_cli_runner().invoke(args=["union", "apply-retention"])
    assert "account tokens: 0" in second.output


def test_notifications_and_finished_work_go_after_their_periods(make, now, later):
    from union.models import Job, JobState, Notification, NotificationKind
    from union.services import jobs

    user = make.user()
    db.session.add(
        Notification(
            user_id=user.id,
            kind=NotificationKind.SURVEY_OPENED,
            key="old",
            params="{}",
            created_at=now,
        )
    )
    done = jobs.enqueue("email", {"to": "x@example.org"}, now=now)
    parked = jobs.enqueue("email", {"to": "y@example.org"}, now=now)
    db.session.flush()
    done.state, done.finished_at = JobState.DONE, now
    parked.state = JobState.PARKED
    db.session.flush()
    counts = run(later)
    assert (counts["notifications"], counts["finished_jobs"]) == (1, 1)
    assert db.session.scalars(sa.select(Job.id)).all() == [parked.id]
    assert count(Notification) == 0
