"""The survey as members answer it, and the report pages organizers read."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from union.db import db
from union.models import AuditEvent, SurveyAnswer, SurveyReceipt, sealed_answers
from union.services import survey
from union.services.reports import catalogue
from union.services.reports.artifact import Level


@pytest.fixture
def open_round(world, make):
    return survey.open_round("Autumn", actor=world.accounts["organizer"], now=make.now)


def sealed_count(survey_round):
    return db.session.scalar(
        sa.select(sa.func.count()).where(sealed_answers.c.round_id == survey_round.id)
    )


def survey_form(world, job_id, **values):
    form = {"workplace_id": str(world.here.id), "classification_id": str(job_id)}
    form.update(values)
    return form


def test_the_member_is_told_what_is_stored_before_answering(client, world, open_round):
    client.sign_in("member@example.org")
    page = client.get("/survey/").get_data(as_text=True)
    assert "without your name, member number, email or the time you answered" in page
    assert "No one, not stewards, organizers or admins" in page
    assert 'name="hourly_wage"' in page


def test_answering_stores_a_sealed_box_and_a_receipt(client, world, open_round, make):
    job = make.classification()
    client.sign_in("member@example.org")
    client.get("/survey/")
    audit_rows = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    response = client.submit(
        "/survey/",
        survey_form(
            world,
            job.id,
            hourly_wage="24.50",
            weekly_hours="35",
            dental_benefits="no",
            never_had_raise="no",
        ),
    )
    assert response.status_code == 302
    # Sealed until the round closes: no answer row yet, one box.
    assert sealed_count(open_round) == 1
    in_the_clear = sa.select(sa.func.count(SurveyAnswer.id)).where(
        SurveyAnswer.round_id == open_round.id
    )
    assert db.session.scalar(in_the_clear) == 0
    assert db.session.get(SurveyReceipt, (open_round.id, world.member.id))
    # Answering leaves no trace in the audit log (its time would date the answer).
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == audit_rows
    survey.close_round(open_round, actor=None, now=make.now)
    answer = db.session.scalar(
        sa.select(SurveyAnswer).where(SurveyAnswer.round_id == open_round.id)
    )
    assert answer.hourly_wage_cents == 2450
    assert answer.dental_benefits is False and answer.never_had_raise is True
    assert answer.health_benefits is None


def test_a_second_answer_is_refused_kindly(client, world, open_round, make):
    job = make.classification()
    client.sign_in("member@example.org")
    client.submit("/survey/", survey_form(world, job.id))
    again = client.get("/survey/")
    assert again.status_code == 200
    assert "You have already answered this round" in again.get_data(as_text=True)
    assert sealed_count(open_round) == 1


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"hourly_wage": "-5"}, "Enter an hourly wage between $5.00 and $200.00"),
        ({"weekly_hours": "200"}, "from 1 to 80"),
        ({"hourly_wage": "lots"}, "Enter an hourly wage between $5.00 and $200.00"),
        ({"paid_sick_days": "ten"}, "Enter a whole number"),
    ],
)
def test_implausible_answers_get_a_clear_message(
    client, world, open_round, make, values, message
):
    job = make.classification()
    client.sign_in("member@example.org")
    response = client.submit("/survey/", survey_form(world, job.id, **values))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    # What was typed is still there.
    assert f'value="{next(iter(values.values()))}"' in page
    assert not survey.has_answered(world.member, open_round)


def test_boxes_left_empty_in_a_browser_are_skipped_answers(
    client, world, open_round, make
):
    """A browser sends every box, empty ones as "": those are questions skipped,
    not numbers typed wrong (the survey could not be sent from a real browser)."""
    job = make.classification()
    client.sign_in("member@example.org")
    empty = dict.fromkeys(
        (
            "hourly_wage",
            "weekly_hours",
            "paid_sick_days",
            "vacation_days",
            "months_since_raise",
        ),
        "",
    )
    response = client.submit("/survey/", survey_form(world, job.id, **empty))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert survey.has_answered(world.member, open_round)


def test_every_problem_in_an_answer_shows_on_the_first_try(
    client, world, open_round, make
):
    """A wage the form cannot read and hours the service finds implausible, in
    one answer: both are named at once, not one per try."""
    job = make.classification()
    client.sign_in("member@example.org")
    response = client.submit(
        "/survey/",
        survey_form(
            world,
            job.id,
            hourly_wage="-3",
            weekly_hours="200",
            paid_sick_days="400",
            employment_type="not-a-kind",
        ),
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    summary = page[page.index('class="error-summary"') :]
    for message in (
        "Enter an hourly wage between $5.00 and $200.00",
        "from 1 to 80",
        "Enter a number of days from 0 to 60.",
        "Not a valid choice",
    ):
        assert message in summary, message
    # One message per field, not the form's and the service's side by side.
    assert page.count("Enter an hourly wage between") == 2  # summary and field
    assert not survey.has_answered(world.member, open_round)


def test_without_an_open_round_the_member_is_told_so(client, world):
    client.sign_in("member@example.org")
    page = client.get("/survey/").get_data(as_text=True)
    assert "There is no survey open right now" in page


def report_urls(world):
    """The round's catalogue, then every report at every level it is published at,
    as a page and as a CSV."""
    round_id = world.survey_round.id
    scope = {
        Level.UNION: "",
        Level.SECTOR: world.here.sector.value,
        Level.WORKPLACE: str(world.here.id),
    }
    urls = [f"/reports/rounds/{round_id}/"]
    for report in catalogue.CATALOGUE:
        for level in report.levels:
            place = f"{report.name}/{level}/{scope[level]}"
            urls.append(f"/reports/rounds/{round_id}/{place}")
            urls.append(
                f"/reports/rounds/{round_id}/{place}{'/' if scope[level] else ''}csv"
            )
    return urls


@pytest.mark.parametrize("persona", ["member", "steward", "treasurer"])
def test_only_organizers_and_admins_reach_reports(client, world, persona):
    client.sign_in(world.accounts[persona].email)
    for url in ["/reports/", *report_urls(world)]:
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("persona", ["organizer", "admin"])
def test_reports_hold_no_name_email_or_member_number(client, world, persona):
    client.sign_in(world.accounts[persona].email)
    for url in report_urls(world):
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        for member in (world.member, world.stranger):
            assert member.chosen_name not in text
            assert member.member_number not in re.findall(r"\b[A-Z]?\d{4,}\b", text)
        assert "@example.org" not in text.replace(world.accounts[persona].email, ""), (
            url
        )


def test_every_pull_is_audited_without_values(client, world):
    client.sign_in("organizer@example.org")
    client.get(f"/reports/rounds/{world.survey_round.id}/wages/union/")
    client.get(f"/reports/rounds/{world.survey_round.id}/wages/union/csv")
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action.in_(["report.pulled", "report.exported"]))
        .order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["report.pulled", "report.exported"]
    assert all(e.actor_id == world.accounts["organizer"].id for e in events)
    assert all(e.subject_type == "report" for e in events)
    assert all(not re.search(r"\$|\d+\.\d\d", e.detail or "") for e in events)


@pytest.mark.parametrize(
    "path",
    [
        "wages/union/?workplace=1",
        "wages/union/?min_wage=20",
        "wages/union/?from=2026-01-01&to=2026-06-30",
        "wages/region/",
        "average_wage/union/",
        "grievances/workplace/1",
        "wages/sector/nowhere",
        "wages/union/csv?filter=peer",
    ],
)
def test_anything_outside_the_catalogue_answers_400(client, world, path):
    client.sign_in("organizer@example.org")
    response = client.get(f"/reports/rounds/{world.survey_round.id}/{path}")
    assert response.status_code == 400


def test_an_open_round_has_no_reports(client, world, make):
    open_round = survey.open_round("Now", actor=None, now=make.now)
    client.sign_in("organizer@example.org")
    for path in ("", "wages/union/", "wages/union/csv"):
        url = f"/reports/rounds/{open_round.id}/{path}"
        assert client.get(url).status_code == 400, url
    assert client.get("/reports/rounds/999999/wages/union/").status_code == 404


def test_csv_is_escaped_against_formulas(client, world, make):
    world.here.employer = '=HYPERLINK("http://evil.example")'
    db.session.flush()
    new_round = survey.open_round("Formula", actor=None, now=make.now)
    survey.close_round(new_round, actor=None, now=make.now)
    client.sign_in("organizer@example.org")
    response = client.get(f"/reports/rounds/{new_round.id}/density/union/csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    cells = [
        c
        for row in csv.reader(io.StringIO(response.get_data(as_text=True)))
        for c in row
    ]
    assert '\'=HYPERLINK("http://evil.example")' in cells
    assert not any(c.startswith("=") for c in cells)


def test_organizers_open_and_close_rounds_from_the_page(client, world):
    client.sign_in("organizer@example.org")
    response = client.submit(
        "/reports/rounds", {"name": "Winter 2027"}, page="/reports/"
    )
    assert response.status_code == 302
    current = survey.current_round()
    assert current is not None and current.name == "Winter 2027"
    response = client.submit_and_confirm(
        f"/reports/rounds/{current.id}/close", {}, page="/reports/"
    )
    assert response.status_code == 302
    db.session.refresh(current)
    assert not current.is_open
    page = client.get("/reports/").get_data(as_text=True)
    assert "Reports for Winter 2027" in page


def test_a_report_page_reads_out_what_it_shows(client, world):
    client.sign_in("organizer@example.org")
    page = client.get(
        f"/reports/rounds/{world.survey_round.id}/funding/union/"
    ).get_data(as_text=True)
    assert "What this shows" in page
    assert "funded positions depend on grants" in page
    assert "fingerprint" in page


NUMBER = re.compile(r"-?\d[\d,\u00a0\u202f ]*(?:\.\d+)?")


def figures_in(texts):
    """Every number in some cells, read as the English page and the CSV write
    them ("$1,200.50", "22.5", "45%", "1200.50")."""
    found = []
    for text in texts:
        if re.fullmatch(r"\d+-\d+|\d+\+", text.strip()):
            continue  # a band of group sizes, the same text in both
        for match in NUMBER.findall(text):
            cleaned = re.sub(r"[,\u00a0\u202f ]", "", match)
            found.append(Decimal(cleaned).normalize())
    return sorted(found)


def test_every_report_page_and_its_csv_show_the_same_figures(client, world, make):
    organizer = world.accounts["organizer"]
    survey_round = survey.open_round("Figures", actor=organizer, now=make.now)
    job = make.classification("Peer worker")
    for index in range(24):
        db.session.add(
            SurveyAnswer(
                round_id=survey_round.id,
                workplace_id=world.here.id,
                classification_id=job.id,
                hourly_wage_cents=2000 + 25 * index,
                months_since_raise=(22, 23)[index % 2],
                health_benefits=index % 3 == 0,
                weekly_hours=20 + index,
            )
        )
    db.session.flush()
    survey.close_round(survey_round, actor=organizer, now=make.now)
    client.sign_in(organizer.email)
    compared = 0
    for report in catalogue.CATALOGUE:
        for level in report.levels:
            scope = {
                Level.UNION: "",
                Level.SECTOR: world.here.sector.value,
                Level.WORKPLACE: str(world.here.id),
            }[level]
            place = f"{report.name}/{level}/{scope}"
            url = f"/reports/rounds/{survey_round.id}/{place}"
            page = client.get(url).get_data(as_text=True)
            tables = re.findall(r"<tbody>(.*?)</tbody>", page, re.S)
            # Each row's first cell names the row; the figures are the others.
            cells = [
                re.sub(r"<[^>]+>", "", cell).strip()
                for table in tables
                for cell in re.findall(r"<td[^>]*>(.*?)</td>", table, re.S)
            ]
            csv_url = f"{url}{'/' if scope else ''}csv"
            text = client.get(csv_url).get_data(as_text=True)
            rows = list(csv.reader(io.StringIO(text)))
            # A preamble (artifact, digest, names), a blank line, the page's
            # title; then each table: its title, its columns, its rows, a blank.
            rest = rows[rows.index([]) + 2 :]
            data = []
            while rest:
                _title, _columns, *rest = rest
                end = rest.index([]) if [] in rest else len(rest)
                data += [cell for row in rest[:end] for cell in row[1:]]
                rest = rest[end + 1 :]
            assert figures_in(cells) == figures_in(data), url
            compared += 1
    assert compared == sum(len(report.levels) for report in catalogue.CATALOGUE)


def test_the_reports_page_says_who_the_reports_hold_against_and_the_budget(
    client, world
):
    client.sign_in("organizer@example.org")
    page = client.get("/reports/").get_data(as_text=True)
    assert "How these reports protect members" in page
    assert "Someone who knows how everyone else answered" in page
    assert "at most 2.7 times likelier" in page
    # The world's closed round released both sensitive questions at epsilon 1.
    assert "2.0 of 4.0 used over the last 365 days" in page


def answers_cell(page):
    """The open round's row's figure on the reports page."""
    match = re.search(r'data-label="Answers">(.*?)</td>', page, re.S)
    assert match is not None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def test_the_reports_page_shows_an_open_round_in_bands_counted_once_a_day(
    client, world, make, now
):
    from datetime import timedelta

    from union import clock

    job = make.classification()
    survey_round = survey.open_round("Winter", actor=None, now=make.now)

    def answer(count):
        for _ in range(count):
            survey.answer(
                make.member(world.here),
                survey_round,
                survey.Answers(workplace_id=world.here.id, classification_id=job.id),
                now=make.now,
            )
        db.session.flush()

    client.sign_in("organizer@example.org")
    answer(7)
    page = client.get("/reports/").get_data(as_text=True)
    assert answers_cell(page).startswith("5 to 9 counted ")
    assert "at most once a day" in page
    answer(5)
    # Later the same day: the same band, though 12 have answered now.
    with clock.pinned(now + timedelta(hours=3)):
        page = client.get("/reports/").get_data(as_text=True)
    assert answers_cell(page).startswith("5 to 9 counted ")
    with clock.pinned(now + timedelta(days=1)):
        page = client.get("/reports/").get_data(as_text=True)
    assert answers_cell(page).startswith("10 to 19 counted ")
    assert ">12<" not in page and ">7<" not in page


def test_how_many_answered_reads_as_a_sentence_in_both_languages(app, client, world):
    from union.views.reports import members_answered

    with app.test_request_context(headers={"Accept-Language": "en-CA"}):
        assert members_answered(3) == "Fewer than 5 members answered."
        assert members_answered(1234) == "1,234 members answered."
    client.sign_in("organizer@example.org")
    page = client.get(f"/reports/rounds/{world.survey_round.id}/")
    text = page.get_data(as_text=True)
    assert re.search(r"<p>(Fewer than 5|[\d,]+) members answered\. Closed ", text)
