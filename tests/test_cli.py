import pytest
import sqlalchemy as sa

from union.db import db
from union.models import (
    Job,
    JobState,
    Member,
    ReportArtifact,
    Role,
    SurveyAnswer,
    SurveyRound,
)
from union.services import accounts, jobs
from union.web import handoff


@pytest.fixture
def runner(app, database):
    return app.test_cli_runner()


def test_demo_loads_once_and_prints_the_logins(runner):
    first = runner.invoke(args=["union", "demo", "--password", "demo password"])
    assert first.exit_code == 0, first.output
    assert "Loaded demo data" in first.output
    for email in ("admin@", "treasurer@", "organizer@", "steward@", "member@"):
        assert f"{email}example.org" in first.output
    second = runner.invoke(args=["union", "demo", "--password", "demo password"])
    assert "already loaded" in second.output
    assert accounts.authenticate(
        "steward@example.org",
        "demo password",
        now=__import__("union.clock").clock.utcnow(),
    )


def test_create_admin(runner):
    result = runner.invoke(
        args=[
            "union",
            "create-admin",
            "--email",
            "first@example.org",
            "--name",
            "First",
        ],
        input="a good passphrase\na good passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert Role.ADMIN in accounts.user_by_email("first@example.org").roles
    again = runner.invoke(
        args=[
            "union",
            "create-admin",
            "--email",
            "first@example.org",
            "--name",
            "First",
            "--password",
            "whatever long",
        ]
    )
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_import_members_reports_problems_by_line_and_column(runner, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("chosen_name,dues_level\nAsh,11\nBee,fortytwo\n")
    result = runner.invoke(args=["union", "import-members", str(bad)])
    assert result.exit_code == 1
    assert "line 3, column dues_level: No dues level called fortytwo." in result.output
    assert "nothing was imported" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Member)) == 0


def test_import_members_imports_a_good_file(runner, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(
        "chosen_name,dues_level,employer\nAsh,11,New Agency\nBee,22,\n",
        encoding="utf-8",
    )
    checked = runner.invoke(args=["union", "import-members", "--check-only", str(good)])
    assert "2 members would be imported" in checked.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Member)) == 0
    result = runner.invoke(args=["union", "import-members", str(good)])
    assert result.exit_code == 0, result.output
    assert "Imported 2 members." in result.output
    assert "New Agency" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Member)) == 2


def test_import_members_reads_a_workbook_and_refuses_a_damaged_one(runner, tmp_path):
    from tests.services.test_roster import workbook

    good = tmp_path / "roster.xlsx"
    good.write_bytes(workbook(("chosen_name", "dues_level"), ("Ash", 11)))
    result = runner.invoke(args=["union", "import-members", str(good)])
    assert result.exit_code == 0, result.output
    assert "Imported 1 members." in result.output
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(good.read_bytes()[:200])
    result = runner.invoke(args=["union", "import-members", str(damaged)])
    assert result.exit_code == 1
    assert "error: This workbook can't be read" in result.output


def test_grievance_reminders_go_out_once_however_often_the_command_runs(
    runner, make, outbox
):
    from datetime import timedelta

    from union import clock

    workplace = make.workplace("Here Agency")
    steward = make.steward(workplace, email="steward@example.org")
    member = make.member(workplace, name="Robin Here")
    today = clock.today(clock.utcnow())
    grievance = make.grievance(
        workplace,
        steward=steward,
        grievants=[member],
        title="Short pay",
        deadline_on=today + timedelta(days=1),
    )
    first = runner.invoke(args=["union", "send-grievance-reminders"])
    assert first.exit_code == 0, first.output
    assert "Grievance reminders: 1 queued to send." in first.output
    [message] = outbox
    assert message.to == "steward@example.org"
    assert grievance.number in message.subject and "tomorrow" in message.subject
    assert f"/grievances/{grievance.public_id}" in message.body
    for private in ("Robin", "Short pay", "Here Agency", "Paid less"):
        assert private not in message.subject + message.body
    for _ in range(3):
        again = runner.invoke(args=["union", "send-grievance-reminders"])
        assert "Grievance reminders: 0 queued to send." in again.output
    assert len(outbox) == 1


def test_a_mail_failure_waits_to_be_retried_and_names_no_one(
    app, runner, make, monkeypatch, caplog, outbox
):
    from union import clock

    def refuse(message):
        raise OSError("connection refused")

    monkeypatch.setattr(app.extensions["union_mailer"], "send", refuse)
    workplace = make.workplace()
    make.grievance(
        workplace,
        steward=make.steward(workplace),
        deadline_on=clock.today(clock.utcnow()),
    )
    result = runner.invoke(args=["union", "send-grievance-reminders"])
    assert result.exit_code == 0, result.output
    [email] = db.session.scalars(sa.select(Job).where(Job.kind == "email")).all()
    assert (email.state, email.attempts) == (JobState.WAITING, 1)
    assert email.error_class == "OSError"
    assert "(email) failed on attempt 1: OSError" in caplog.text
    assert "connection refused" not in caplog.text
    # The claim and its email committed together: running again sends no
    # second copy, and the waiting one goes out when the mail server is back.
    monkeypatch.undo()
    again = runner.invoke(args=["union", "send-grievance-reminders"])
    assert "0 queued" in again.output
    ran = runner.invoke(args=["union", "run-jobs"])
    assert "Ran 0 jobs; 1 waiting" in ran.output  # not before its retry time
    later = clock.utcnow() + jobs.FIRST_RETRY
    assert jobs.run_due(now=later, waker=handoff.waker()) == 1
    assert len(outbox) == 1


def test_survey_rounds_open_and_close_from_the_command_line(runner, make):
    workplace, job = make.workplace(), make.classification()
    opened = runner.invoke(args=["union", "open-survey-round", "Spring 2027"])
    assert opened.exit_code == 0, opened.output
    survey_round = db.session.scalars(sa.select(SurveyRound)).one()
    db.session.add(
        SurveyAnswer(
            round_id=survey_round.id,
            workplace_id=workplace.id,
            classification_id=job.id,
        )
    )
    db.session.flush()
    again = runner.invoke(args=["union", "open-survey-round", "Another"])
    assert again.exit_code == 1 and "already open" in again.output
    closed = runner.invoke(args=["union", "close-survey-round"])
    assert closed.exit_code == 0, closed.output
    assert "Protecting small counts" in closed.output
    assert "(1 answers)" in closed.output
    assert db.session.scalar(sa.select(sa.func.count(ReportArtifact.id))) > 9
    nothing = runner.invoke(args=["union", "close-survey-round"])
    assert nothing.exit_code == 1 and "No survey round is open" in nothing.output
    missing = runner.invoke(args=["union", "close-survey-round", "--round", "999"])
    assert missing.exit_code == 1
