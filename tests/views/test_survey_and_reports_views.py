"""The survey as members answer it, and the report pages organizers read."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from union.adapters.csvsafe import unescape_cell
from union.db import db
from union.i18n import format_day
from union.models import (
    AuditEvent,
    GrievanceCategory,
    GrievanceOutcome,
    ReportArtifact,
    Sector,
    SurveyAnswer,
    SurveyReceipt,
    sealed_answers,
)
from union.services import grievances, survey
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


def test_blank_number_boxes_are_skipped_questions_as_a_browser_sends_them(
    client, world, open_round, make
):
    """A browser sends every box, the empty ones as blank text: a skipped
    question, not a number typed wrong."""
    job = make.classification()
    client.sign_in("member@example.org")
    boxes = ("weekly_hours", "paid_sick_days", "vacation_days", "months_since_raise")
    blanks = dict.fromkeys((*boxes, "hourly_wage"), "")
    response = client.submit("/survey/", survey_form(world, job.id, **blanks))
    assert response.status_code == 302
    assert sealed_count(open_round) == 1


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


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en-CA", "Report check code: "),
        ("fr-CA", "Code de vérification du rapport\u00a0: "),
    ],
)
def test_the_check_code_is_short_and_tucked_away_with_the_whole_digest_inside(
    client, world, language, words
):
    client.sign_in("organizer@example.org")
    artifact = db.session.scalars(
        sa.select(ReportArtifact).where(
            ReportArtifact.round_id == world.survey_round.id,
            ReportArtifact.report == "funding",
            ReportArtifact.level == "union",
        )
    ).one()
    page = client.get(
        f"/reports/rounds/{world.survey_round.id}/funding/union/",
        headers={"Accept-Language": language},
    ).get_data(as_text=True)
    found = re.search(r'<details class="check-code">(.*?)</details>', page, re.S)
    assert found is not None
    inside = found.group(1)
    summary = re.search(r"<summary>(.*?)</summary>", inside, re.S)
    assert summary is not None
    assert summary.group(1) == words + artifact.digest[:12]
    assert f"<code>{artifact.digest}</code>" in inside
    # The whole digest is only inside, and the page no longer says "fingerprint".
    assert page.count(artifact.digest) == 1
    assert "fingerprint" not in page.lower() and "empreinte" not in page.lower()


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


def at(day):
    """A moment on the union's day `day` (16:00 UTC is midday in Toronto)."""
    return datetime(day.year, day.month, day.day, 16, tzinfo=UTC)


#: When the figures round closes: the quarter before it (October to December
#: 2026) has no grievance release yet, unlike the one before the world's round.
FIGURES_CLOSE = datetime(2027, 1, 5, 16, tzinfo=UTC)


def autumn_cases(world):
    """Cases of the quarter before the figures round closes: won cases with
    back pay of one kind, withdrawn cases without any of another, and no case
    at all of most other kinds."""
    steward = world.accounts["steward"]
    for kind, count, outcome, cents in (
        (GrievanceCategory.WAGE_DISCREPANCY, 3, GrievanceOutcome.WON, 150_000),
        (GrievanceCategory.BENEFITS, 6, GrievanceOutcome.WITHDRAWN, None),
    ):
        for _ in range(count):
            case = grievances.open_grievance(
                grievances.NewGrievance(
                    workplace_id=world.here.id,
                    details=grievances.GrievanceDetails(
                        kind, "Short pay", "Paid less."
                    ),
                ),
                actor=steward,
                now=at(date(2026, 10, 6)),
            )
            grievances.close_grievance(
                case,
                grievances.Closing(outcome, cents, "Settled."),
                actor=steward,
                now=at(date(2026, 11, 2)),
            )


@pytest.fixture
def figures_round(world, make):
    """A closed round with enough answers at one workplace for every kind of
    figure, withheld ones included, a grant ending soon, and the autumn's cases."""
    organizer = world.accounts["organizer"]
    autumn_cases(world)
    make.funding(world.here, ends_on=date(2027, 3, 31), positions=3, funder="Province")
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
    # A few answers from a workplace of no known size in another sector: small
    # counts, and a density that reads "unknown".
    elsewhere = make.workplace(
        "Shelter Without Numbers", sector=Sector.SHELTER, headcount=None
    )
    make.member(elsewhere)
    for index in range(3):
        db.session.add(
            SurveyAnswer(
                round_id=survey_round.id,
                workplace_id=elsewhere.id,
                classification_id=job.id,
                hourly_wage_cents=1800 + 25 * index,
                weekly_hours=10,
            )
        )
    db.session.flush()
    survey.close_round(survey_round, actor=organizer, now=FIGURES_CLOSE)
    return survey_round


def every_report_url(world, survey_round):
    """Every report of the round at every level, the page's address."""
    for report in catalogue.CATALOGUE:
        for level in report.levels:
            scope = {
                Level.UNION: "",
                Level.SECTOR: world.here.sector.value,
                Level.WORKPLACE: str(world.here.id),
            }[level]
            yield f"/reports/rounds/{survey_round.id}/{report.name}/{level}/{scope}"


ISO_DAY = re.compile(r"\d{4}-\d\d-\d\d")


def days_as_on_the_page(app, cells):
    """CSV cells with their days (written 2027-03-31, for spreadsheets) as the
    English page writes them (Mar 31, 2027)."""
    with app.test_request_context(headers={"Accept-Language": "en-CA"}):
        return [
            format_day(date.fromisoformat(c)) if ISO_DAY.fullmatch(c) else c
            for c in cells
        ]


def test_every_report_page_and_its_csv_show_the_same_figures(
    app, client, world, figures_round
):
    client.sign_in(world.accounts["organizer"].email)
    compared = 0
    for url in every_report_url(world, figures_round):
        page = client.get(url).get_data(as_text=True)
        tables = re.findall(r"<tbody>(.*?)</tbody>", page, re.S)
        # Each row's first cell names the row; the figures are the others.
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip()
            for table in tables
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", table, re.S)
        ]
        csv_url = url + "csv" if url.endswith("/") else url + "/csv"
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
        assert figures_in(cells) == figures_in(days_as_on_the_page(app, data)), url
        compared += 1
    assert compared == sum(len(report.levels) for report in catalogue.CATALOGUE)


def page_tables(page):
    """Each table of a report page as (title, columns, rows of cell texts, the
    address of its own download)."""
    found = []
    for match in re.finditer(
        r'<h2 id="table-\d+">(?P<title>.*?)</h2>.*?<thead>(?P<head>.*?)</thead>'
        r"\s*<tbody>(?P<body>.*?)</tbody>.*?"
        r'<p class="table-download"><a href="(?P<href>[^"]+)"',
        page,
        re.S,
    ):

        def texts(html_text):
            return [
                html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
                for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", html_text, re.S)
            ]

        rows = [
            texts(row)
            for row in re.findall(r"<tr>(.*?)</tr>", match["body"], re.S)
            if "colspan" not in row  # "Nothing to show."
        ]
        found.append(
            (
                html.unescape(match["title"]),
                texts(match["head"]),
                rows,
                html.unescape(match["href"]),
            )
        )
    return found


#: How the English page words a figure it does not give.
STATUS_WORDS = {
    "fewer than 5",
    "hidden",
    "not published",
    "too few cases",
    "changed too little to show",
    "none",
    "unknown",
}


def test_each_table_downloads_on_its_own_with_the_pages_figures_and_words(
    app, client, world, figures_round
):
    client.sign_in(world.accounts["organizer"].email)
    tables = 0
    seen_words: set[str] = set()
    for url in every_report_url(world, figures_round):
        page = client.get(url).get_data(as_text=True)
        found = page_tables(page)
        assert len(found) == page.count("<table"), url
        for title, columns, rows, href in found:
            response = client.get(href)
            assert response.status_code == 200, href
            assert response.mimetype == "text/csv"
            disposition = response.headers["Content-Disposition"]
            assert re.search(r'-[0-9a-f]{12}\.csv"$', disposition), disposition
            header, *lines = [
                [unescape_cell(cell) for cell in line]
                for line in csv.reader(io.StringIO(response.get_data(as_text=True)))
            ]
            # One header row, named as the page names the columns, then one
            # line per row of the table, nothing else.
            assert header == columns, (url, title)
            assert len(lines) == len(rows), (url, title)
            for shown, line in zip(rows, lines, strict=True):
                line = days_as_on_the_page(app, line)
                assert len(line) == len(shown), (url, title)
                for on_page, in_csv in zip(shown, line, strict=True):
                    if re.search(r"[^\W\d_]", on_page) or not on_page:
                        # Words (names, days, "fewer than 5") exactly as shown.
                        assert in_csv == on_page, (url, title)
                        seen_words.update({on_page} & STATUS_WORDS)
                    else:
                        assert figures_in([in_csv]) == figures_in([on_page]), (
                            url,
                            title,
                        )
            tables += 1
    assert tables > 20
    assert {"fewer than 5", "hidden", "not published", "unknown"} <= seen_words


def test_a_table_downloaded_in_french_names_its_columns_and_words_in_french(
    client, world, figures_round
):
    client.sign_in(world.accounts["organizer"].email)
    french = {"Accept-Language": "fr-CA"}
    url = f"/reports/rounds/{figures_round.id}/grievances/union/"
    found = page_tables(client.get(url, headers=french).get_data(as_text=True))
    assert found
    words = set()
    for _title, columns, rows, href in found:
        text = client.get(href, headers=french).get_data(as_text=True)
        header, *lines = list(csv.reader(io.StringIO(text)))
        assert header == columns
        for shown, line in zip(rows, lines, strict=True):
            for on_page, in_csv in zip(shown, line, strict=True):
                if re.search(r"[^\W\d_]", on_page):
                    assert in_csv == on_page
                    words.add(on_page)
    assert {"aucun", "trop peu de dossiers"} <= words


def test_the_autumns_money_reads_none_only_where_the_counts_already_say_so(
    client, world, figures_round
):
    """A kind with no closed case recovered nothing, as its published zeros say.
    A kind whose closed cases recovered no money is withheld like any other
    small group: "none" there would tell that 1 to 9 cases of a kind with back
    pay did recover some."""
    client.sign_in(world.accounts["organizer"].email)
    url = f"/reports/rounds/{figures_round.id}/grievances/union/"
    tables = {
        title: rows
        for title, _columns, rows, _href in page_tables(
            client.get(url).get_data(as_text=True)
        )
    }
    money = dict(tables["Money recovered, rounded to $100"])
    assert money["Wage discrepancy"] == "too few cases"
    assert money["Benefits"] == "too few cases"
    assert money["Scheduling"] == "none"
    assert money["All"] == "too few cases"
    by_kind = {
        row[0]: row[1:] for row in tables["Grievances by kind and where they stand"]
    }
    assert by_kind["Scheduling"] == ["0"] * 6
    # Benefits' closed cases are withheld (withdrawn), not published as 0.
    assert by_kind["Benefits"][4] != "0"
    csv_text = client.get(f"{url}csv?table=money_recovered").get_data(as_text=True)
    assert "Scheduling,none" in csv_text.splitlines()
    assert "Benefits,too few cases" in csv_text.splitlines()


@pytest.mark.parametrize(
    "query",
    ["table=nonsense", "table=", "table=%3Cscript%3E", "table=Hourly%20wage"],
)
def test_an_unknown_table_answers_400_with_a_clear_message_and_exports_nothing(
    client, world, query
):
    client.sign_in("organizer@example.org")
    before = db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "report.exported")
    )
    response = client.get(
        f"/reports/rounds/{world.survey_round.id}/wages/union/csv?{query}"
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "This report has no table by that name" in text
    assert "<script>" not in text
    after = db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "report.exported")
    )
    assert after == before


def test_a_table_download_is_audited_as_an_export_of_its_report(client, world):
    client.sign_in("organizer@example.org")
    response = client.get(
        f"/reports/rounds/{world.survey_round.id}/wages/union/csv?table=hourly_wage"
    )
    assert response.status_code == 200
    event = db.session.scalars(
        sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)
    ).one()
    assert event.action == "report.exported"
    assert event.actor_id == world.accounts["organizer"].id


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
