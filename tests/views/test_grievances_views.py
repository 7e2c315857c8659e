import io
import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from tests.factories import PDF_BYTES, PNG_BYTES
from tests.pdftext import pdf_text
from union.db import db
from union.models import (
    AuditEvent,
    CalendarFeed,
    Grievance,
    GrievanceDocument,
    GrievanceEvent,
    GrievanceNote,
    GrievanceOutcome,
    GrievanceStep,
    Role,
)
from union.views import grievances as grievance_views

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def case_url(world, suffix=""):
    return f"/grievances/{world.grievance.public_id}{suffix}"


def test_a_steward_opens_a_case_for_a_member_of_their_workplace(client, world):
    client.sign_in("steward@example.org")
    page = client.get("/grievances/new").get_data(as_text=True)
    assert "Robin Here" in page and "Sky There" not in page
    response = client.submit(
        "/grievances/new",
        {
            "category": "no_raise",
            "title": "No raise since 2022",
            "what_happened": "Wages frozen.",
            "who": "named",
            "grievants": str(world.member.id),
            "steward": str(world.accounts["steward"].id),
        },
    )
    assert response.status_code == 302
    grievance = next(
        g
        for g in db.session.scalars(sa.select(Grievance))
        if g.title == "No raise since 2022"
    )
    assert response.headers["Location"] == f"/grievances/{grievance.public_id}"
    assert grievance.grievants == [world.member]
    assert grievance.number == "2026-0001"


def test_a_group_grievance_names_nobody_and_a_named_one_needs_a_grievant(client, world):
    client.sign_in("steward@example.org")
    data = {
        "category": "scheduling",
        "title": "Split shifts",
        "what_happened": "Everyone gets split shifts.",
        "steward": str(world.accounts["steward"].id),
    }
    refused = client.submit("/grievances/new", {**data, "who": "named"})
    assert refused.status_code == 400
    assert "Choose at least one grievant" in refused.get_data(as_text=True)
    accepted = client.submit(
        "/grievances/new", {**data, "who": "group", "grievants": str(world.member.id)}
    )
    assert accepted.status_code == 302
    grievance = next(
        g for g in db.session.scalars(sa.select(Grievance)) if g.title == "Split shifts"
    )
    assert grievance.is_group


def test_a_steward_cannot_open_a_case_at_another_workplace(client, world):
    client.sign_in("steward@example.org")
    assert client.get(f"/grievances/new?workplace={world.there.id}").status_code == 404


def test_an_admin_chooses_the_workplace_first(client, world):
    client.sign_in("admin@example.org")
    page = client.get("/grievances/new").get_data(as_text=True)
    assert "There Agency" in page and 'name="title"' not in page
    page = client.get(f"/grievances/new?workplace={world.there.id}").get_data(
        as_text=True
    )
    assert 'name="title"' in page and "Sky There" in page


def test_the_case_page_shows_everything_to_the_steward_and_is_audited(client, world):
    client.sign_in("steward@example.org")
    response = client.get(case_url(world))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in (
        world.grievance.number,
        "Short pay",
        "Robin Here",
        "Manager admitted the rate was wrong.",
        "letter.pdf",
        "Case opened",
    ):
        assert text in page
    viewed = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "grievance.viewed")
    )
    assert viewed.actor_id == world.accounts["steward"].id


def test_another_workplaces_steward_gets_404_for_the_case_note_and_document(
    client, world
):
    client.sign_in("other-steward@example.org")
    assert client.get(case_url(world)).status_code == 404
    assert (
        client.get(case_url(world, f"/documents/{world.document.id}")).status_code
        == 404
    )
    response = client.submit(
        case_url(world, "/notes"), {"body": "sneaky"}, page="/grievances/"
    )
    assert response.status_code == 404
    assert (
        db.session.scalar(
            sa.select(sa.func.count(GrievanceNote.id)).where(
                GrievanceNote.body == "sneaky"
            )
        )
        == 0
    )


def test_a_document_of_one_case_cannot_be_read_through_another(client, make, world):
    other = make.grievance(world.here, steward=world.accounts["steward"])
    client.sign_in("steward@example.org")
    url = f"/grievances/{other.public_id}/documents/{world.document.id}"
    assert client.get(url).status_code == 404


def test_moving_on_and_a_forbidden_move(client, world):
    client.sign_in("steward@example.org")
    response = client.submit(
        case_url(world, "/move"), {"step": "arbitration"}, page=case_url(world)
    )
    assert response.status_code == 302
    page = client.get(case_url(world)).get_data(as_text=True)
    assert "A case at Intake cannot move to Arbitration." in page
    db.session.expire_all()
    assert world.grievance.step is GrievanceStep.INTAKE
    response = client.submit(
        case_url(world, "/move"),
        {"step": "step_1", "deadline_on": "2026-12-24"},
        page=case_url(world),
    )
    moved = db.session.get(Grievance, world.grievance.id, populate_existing=True)
    assert moved.step is GrievanceStep.STEP_1
    assert moved.deadline_on == date(2026, 12, 24)


def test_closing_a_case_with_its_outcome(client, world):
    client.sign_in("steward@example.org")
    page = client.get(case_url(world, "/close")).get_data(as_text=True)
    assert 'value="lost"' not in page  # nothing filed at intake can be lost
    refused = client.submit(case_url(world, "/close"), {"outcome": "won"})
    assert refused.status_code == 400
    assert "Say what was won." in refused.get_data(as_text=True)
    response = client.submit(
        case_url(world, "/close"),
        {
            "outcome": "won",
            "money_recovered": "1,250.50",
            "remedy_obtained": "Back pay at the posted rate.",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert world.grievance.outcome is GrievanceOutcome.WON
    assert world.grievance.money_recovered_cents == 125050
    assert world.grievance.step is GrievanceStep.RESOLVED


def test_notes_are_added_and_an_empty_one_is_refused(client, world):
    client.sign_in("steward@example.org")
    empty = client.submit(
        case_url(world, "/notes"), {"body": "  "}, page=case_url(world)
    )
    assert empty.status_code == 400
    assert "Write the note first." in empty.get_data(as_text=True)
    client.submit(
        case_url(world, "/notes"), {"body": "Called the ED."}, page=case_url(world)
    )
    assert "Called the ED." in client.get(case_url(world)).get_data(as_text=True)


def upload(client, world, data, filename):
    return client.post(
        case_url(world, "/documents"),
        data={
            "csrf_token": client.csrf_token(case_url(world)),
            "file": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
    )


def documents_count():
    return db.session.scalar(sa.select(sa.func.count(GrievanceDocument.id)))


def test_uploading_and_reading_a_photo(client, world):
    client.sign_in("steward@example.org")
    response = upload(client, world, PNG_BYTES, "stub.png")
    assert response.status_code == 302
    document = next(
        d
        for d in db.session.scalars(sa.select(GrievanceDocument))
        if d.filename == "stub.png"
    )
    served = client.get(case_url(world, f"/documents/{document.id}"))
    assert served.status_code == 200
    assert served.data == PNG_BYTES
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["Content-Disposition"].startswith("inline")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    pdf = client.get(case_url(world, f"/documents/{world.document.id}"))
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert pdf.data == PDF_BYTES


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"MZ\x90\x00 not really a pdf", "letter.pdf", "Send a PDF, PNG or JPEG file"),
        (b"<svg onload=alert(1)>", "photo.png", "Send a PDF, PNG or JPEG file"),
        (b"", "empty.pdf", "That file is empty."),
    ],
)
def test_a_wrong_file_is_refused_with_a_message_and_nothing_saved(
    client, world, data, filename, message
):
    client.sign_in("steward@example.org")
    before = documents_count()
    response = upload(client, world, data, filename)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert documents_count() == before


def test_an_oversized_file_is_refused(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "GRIEVANCE_DOCUMENT_MAX_BYTES", 1024)
    client.sign_in("steward@example.org")
    before = documents_count()
    response = upload(client, world, PDF_BYTES + b"0" * 2000, "big.pdf")
    assert response.status_code == 400
    assert "That file is too big. Send files up to" in response.get_data(as_text=True)
    assert documents_count() == before


def test_reassigning_and_adding_a_grievant(client, make, world):
    second = make.steward(world.here, email="second@example.org")
    colleague = make.member(world.here, name="Pat Colleague")
    client.sign_in("steward@example.org")
    case_page = client.get(case_url(world)).get_data(as_text=True)
    assert case_url(world, "/people") in case_page
    assert "Pat Colleague" not in case_page
    people = client.get(case_url(world, "/people")).get_data(as_text=True)
    assert f'value="{colleague.id}"' in people and f'value="{second.id}"' in people
    client.submit(
        case_url(world, "/grievants"),
        {"member": str(colleague.id)},
        page=case_url(world, "/people"),
    )
    client.submit(
        case_url(world, "/steward"),
        {"steward": str(second.id)},
        page=case_url(world, "/people"),
    )
    db.session.expire_all()
    assert colleague in world.grievance.grievants
    assert world.grievance.steward_id == second.id
    people = client.get(case_url(world, "/people")).get_data(as_text=True)
    assert "Pat Colleague</option>" not in people and "Pat Colleague" in people


def test_steps_days_are_set_per_workplace(client, world):
    client.sign_in("steward@example.org")
    url = f"/grievances/deadlines/{world.here.id}"
    assert 'value="14"' in client.get(url).get_data(as_text=True)
    refused = client.submit(
        url, {"intake": "0", "step_1": "14", "step_2": "14", "arbitration": "30"}
    )
    assert refused.status_code == 200
    assert "Enter a number of days from 1 to 365." in refused.get_data(as_text=True)
    client.submit(
        url, {"intake": "7", "step_1": "14", "step_2": "21", "arbitration": "30"}
    )
    assert 'value="21"' in client.get(url).get_data(as_text=True)


def test_the_dashboard_shows_my_cases_with_counts(client, make, world):
    make.grievance(
        world.here,
        steward=world.accounts["steward"],
        title="Overdue thing",
        deadline_on=date(2026, 11, 1),
    )
    client.sign_in("steward@example.org")
    page = client.get("/grievances/").get_data(as_text=True)
    assert page.index("Overdue thing") < page.index("Short pay")
    assert "1 overdue" in page
    assert "2 open cases." in page


def test_the_dashboard_and_case_page_take_a_fixed_number_of_queries(
    client, make, world, count_queries
):
    steward = world.accounts["steward"]
    client.sign_in("steward@example.org")
    with count_queries() as dashboard_few:
        assert client.get("/grievances/").status_code == 200
    with count_queries() as case_few:
        assert client.get(case_url(world)).status_code == 200
    for index in range(25):
        make.grievance(world.here, steward=steward, grievants=[make.member(world.here)])
        make.grievance(world.here, steward=make.steward(world.here))
        make.note(world.grievance, f"Note {index}", author=make.steward(world.here))
        make.document(world.grievance, uploaded_by=steward)
    world.grievance.grievants.append(make.member(world.here))
    db.session.flush()
    with count_queries() as dashboard_many:
        assert client.get("/grievances/").status_code == 200
    with count_queries() as case_many:
        assert client.get(case_url(world)).status_code == 200
    assert dashboard_many.count == dashboard_few.count
    assert case_many.count == case_few.count


def test_a_member_sees_status_step_date_and_outcome_but_no_notes_or_others(
    client, make, world
):
    world.grievance.grievants.append(make.member(world.here, name="Another Grievant"))
    db.session.flush()
    client.sign_in("member@example.org")
    page = client.get("/grievances/mine").get_data(as_text=True)
    assert world.grievance.number in page and "Short pay" in page
    assert "Intake" in page and "Dec 6, 2026" in page
    assert "Another Grievant" not in page
    assert "Manager admitted" not in page
    assert "letter.pdf" not in page
    assert client.get(case_url(world)).status_code == 403


def test_organizers_see_counts_without_names_titles_or_narratives(client, world):
    client.sign_in("organizer@example.org")
    page = client.get("/grievances/counts").get_data(as_text=True)
    # The quarter that ended last; the world's case, opened in this one, waits.
    assert "Wage discrepancy" in page and "Sep 30, 2026" in page
    assert "Here Agency" not in page
    for secret in ("Short pay", "Robin Here", "Manager admitted", "Paid less than"):
        assert secret not in page
    assert client.get(case_url(world)).status_code == 403


def test_the_grievance_release_shows_a_short_check_code_with_the_digest_inside(
    client, world
):
    client.sign_in("organizer@example.org")
    page = client.get("/grievances/counts").get_data(as_text=True)
    digest = re.search(r"<code>([0-9a-f]{64})</code>", page)
    assert digest is not None
    assert f"check code: {digest.group(1)[:12]}</summary>" in page
    assert "fingerprint" not in page.lower()


def readable_pages(app, world):
    """Every GET page that takes no id, or the ids of this world."""
    from tests.views.test_access_policy import url_for_rule

    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            yield url_for_rule(rule, world)


@pytest.mark.parametrize("persona", ["member", "organizer", "treasurer"])
def test_note_text_is_on_no_page_a_member_or_organizer_can_open(
    app, client, world, persona
):
    client.sign_in(world.accounts[persona].email)
    opened = 0
    for url in readable_pages(app, world):
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert "Manager admitted the rate was wrong." not in body, url
        assert "Paid less than the posted rate" not in body, url
        opened += response.status_code == 200
    assert opened >= 4


def test_the_admin_roster_export_carries_no_grievance_text(client, world):
    client.sign_in("admin@example.org")
    export = client.get("/members/export.csv").get_data(as_text=True)
    assert "Manager admitted" not in export and "Short pay" not in export


def test_script_payloads_are_escaped_everywhere(client, make, world):
    grievance = make.grievance(
        world.here,
        steward=world.accounts["steward"],
        grievants=[world.member],
        title=f"Title {SCRIPT}",
        what_happened=f"Narrative {SCRIPT}",
    )
    make.note(grievance, f"Note {SCRIPT}", author=world.accounts["steward"])
    make.document(grievance, filename=f"{SCRIPT}.pdf")
    pages = {
        "steward@example.org": [
            "/grievances/",
            "/grievances/cases",
            f"/grievances/{grievance.public_id}",
        ],
        "member@example.org": ["/grievances/mine"],
    }
    for email, urls in pages.items():
        client.sign_in(email)
        for url in urls:
            body = client.get(url).get_data(as_text=True)
            assert "<script" not in body, url
            assert ESCAPED in body, url
        client.sign_out()


def test_a_steward_makes_sees_and_revokes_a_calendar_feed(client, world):
    client.sign_in("steward@example.org")
    response = client.submit(
        "/grievances/calendar/new", page="/grievances/calendar", follow_redirects=True
    )
    page = response.get_data(as_text=True)
    url = re.search(r'<code id="feed-url">(https?://[^<]+\.ics)</code>', page).group(1)
    client.sign_out()
    feed = client.get(url.split("union.test", 1)[1])
    body = feed.get_data(as_text=True)
    assert feed.status_code == 200
    assert feed.headers["Content-Type"].startswith("text/calendar")
    assert f"SUMMARY:Grievance {world.grievance.number}: Intake deadline" in body
    assert "DTSTART;VALUE=DATE:20261206" in body
    for secret in ("Robin", "Short pay", "Manager", "Here Agency"):
        assert secret not in body
    old = f"/grievances/calendar/{world.feed_token}.ics"
    assert client.get(old).status_code == 404
    client.sign_in("steward@example.org")
    client.submit("/grievances/calendar/revoke", page="/grievances/calendar")
    assert client.get(url.split("union.test", 1)[1]).status_code == 404
    assert client.get("/grievances/calendar/made-up-token.ics").status_code == 404


def calendar_feeds_made():
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "calendar_feed.created")
    )


def test_the_new_calendar_address_is_shown_once_and_a_reload_sends_nothing(
    client, world
):
    client.sign_in("steward@example.org")
    before = calendar_feeds_made()
    response = client.submit("/grievances/calendar/new", page="/grievances/calendar")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/grievances/calendar")
    page = client.get("/grievances/calendar").get_data(as_text=True)
    url = re.search(r'<code id="feed-url">https?://union\.test([^<]+)</code>', page)
    assert url is not None
    assert f'href="webcal://union.test{url.group(1)}"' in page
    assert 'data-copy="feed-url"' in page and "js/enhance.js" in page
    # Reloading the page is a GET: no new address, and the secret is not shown again.
    again = client.get("/grievances/calendar").get_data(as_text=True)
    assert 'id="feed-url"' not in again and "webcal:" not in again
    assert calendar_feeds_made() == before + 1
    client.sign_out()
    assert client.get(url.group(1)).status_code == 200


def test_an_address_replaced_or_left_too_long_is_not_shown(client, world, monkeypatch):
    client.sign_in("steward@example.org")
    client.submit("/grievances/calendar/new", page="/grievances/calendar")
    client.submit("/grievances/calendar/revoke", page="/grievances/calendar")
    page = client.get("/grievances/calendar").get_data(as_text=True)
    assert 'id="feed-url"' not in page
    monkeypatch.setattr(grievance_views, "NEW_FEED_SHOWN_SECONDS", -1)
    client.submit("/grievances/calendar/new", page="/grievances/calendar")
    page = client.get("/grievances/calendar").get_data(as_text=True)
    assert 'id="feed-url"' not in page


def test_when_a_calendar_app_last_read_the_feed_ends_with_one_full_stop(client, world):
    client.sign_in("steward@example.org")
    client.submit(
        "/grievances/calendar/new", page="/grievances/calendar", follow_redirects=True
    )
    page = client.get("/grievances/calendar").get_data(as_text=True)
    url = re.search(r"/grievances/calendar/[^\s\"<]+\.ics", page)
    assert "No calendar app has read it yet." in page and url is None
    feed = db.session.scalar(sa.select(CalendarFeed).order_by(CalendarFeed.id.desc()))
    feed.last_used_at = datetime(2026, 11, 23, 1, 44, tzinfo=UTC)  # 8:44 p.m. there
    db.session.commit()
    for language in ("en", "fr"):
        client.submit("/language", {"language": language}, page="/grievances/calendar")
        text = client.get("/grievances/calendar").get_data(as_text=True)
        assert re.search(r"(p\.m\.|20 h 44)", text), language
        assert not re.search(r"\w\.\.(?!\.)", text), language


def test_the_timeline_only_grows(client, world):
    client.sign_in("steward@example.org")
    before = db.session.scalar(sa.select(sa.func.count(GrievanceEvent.id)))
    client.submit(case_url(world, "/notes"), {"body": "One."}, page=case_url(world))
    client.submit(case_url(world, "/move"), {"step": "step_1"}, page=case_url(world))
    after = db.session.scalar(sa.select(sa.func.count(GrievanceEvent.id)))
    assert after == before + 2


def test_nav_links_follow_roles(client, world):
    client.sign_in("steward@example.org")
    assert 'href="/grievances/"' in client.get("/").get_data(as_text=True)
    client.sign_out()
    client.sign_in("organizer@example.org")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/grievances/counts"' in home and 'href="/grievances/"' not in home
    client.sign_out()
    client.sign_in("member@example.org")
    assert 'href="/grievances/mine"' in client.get("/").get_data(as_text=True)
    assert Role.MEMBER in world.accounts["member"].roles


@pytest.mark.parametrize("token", [None, "", "not-the-token", "IjA5ZTk.wrong.sig"])
def test_an_upload_without_the_right_csrf_token_is_refused_and_stores_nothing(
    client, world, token
):
    client.sign_in("steward@example.org")
    client.csrf_token(case_url(world))  # the session has a token, just not this one
    before = documents_count()
    form = {"file": (io.BytesIO(PDF_BYTES), "letter.pdf")}
    if token is not None:
        form["csrf_token"] = token
    response = client.post(
        case_url(world, "/documents"), data=form, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert documents_count() == before


def test_a_downloaded_documents_name_has_only_safe_characters(client, world):
    client.sign_in("steward@example.org")
    assert upload(client, world, PDF_BYTES, "pay stub.pdf").status_code == 302
    document = next(
        d
        for d in db.session.scalars(sa.select(GrievanceDocument))
        if d.filename == "pay stub.pdf"
    )
    # As a browser may send it: quotes, angle brackets, a header break.
    document.filename = 'pay "stub" <b>;\r\nSet-Cookie: x=1;.pdf'
    db.session.flush()
    served = client.get(case_url(world, f"/documents/{document.id}"))
    disposition = served.headers["Content-Disposition"]
    name = disposition.split("filename=", 1)[1]
    assert name.startswith('"') and name.endswith('.pdf"')
    assert not set(name[1:-1]) & set('"<>\\/;\r\n:=')
    assert "Set-Cookie" not in served.headers


def accented_case(make, world):
    """A case whose people and story need accents and apostrophes to print right."""
    zoe = make.member(world.here, name="Zoë O'Brien")
    grievance = make.grievance(
        world.here,
        steward=world.accounts["steward"],
        grievants=[zoe, world.member],
        title="Paie réduite à l'accueil",
        what_happened="L\u2019employeur a payé 10 $ pour trois heures de travail.",
    )
    make.note(
        grievance, "Élodie l'a vu : « c'était voulu ».", world.accounts["steward"]
    )
    return grievance


def case_file_audits():
    return db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.detail)
        .where(AuditEvent.action.like("grievance.case_file%"))
        .order_by(AuditEvent.id)
    ).all()


def test_the_case_file_prints_with_accents_and_leaves_notes_out_unless_asked(
    client, make, world
):
    grievance = accented_case(make, world)
    client.sign_in("steward@example.org")
    url = f"/grievances/{grievance.public_id}/case-file"
    case_page = client.get(f"/grievances/{grievance.public_id}").get_data(as_text=True)
    assert f'href="{url}"' in case_page
    page = client.get(url).get_data(as_text=True)
    assert f"Case {grievance.number}: Paie réduite à l&#39;accueil" in page
    assert "Robin Here, Zoë O&#39;Brien" in page
    assert "L\u2019employeur a payé 10 $" in page
    assert "Here Agency" in page and "Intake" in page
    assert "c&#39;était voulu" not in page
    assert f'href="{url}?notes=1"' in page
    assert f'href="{url}.pdf"' in page
    assert "data-print hidden>Print</button>" in page
    with_notes = client.get(f"{url}?notes=1").get_data(as_text=True)
    assert "Élodie l&#39;a vu : « c&#39;était voulu »." in with_notes
    assert f'href="{url}.pdf?notes=1"' in with_notes
    for unknown in ("yes", "0", "2", "1%27%20OR%201=1"):
        ignored = client.get(f"{url}?notes={unknown}")
        assert ignored.status_code == 200
        assert "c&#39;était voulu" not in ignored.get_data(as_text=True)
    assert case_file_audits()[:2] == [
        ("grievance.case_file_viewed", "notes=omitted"),
        ("grievance.case_file_viewed", "notes=included"),
    ]


def test_the_case_file_pdf_is_a_download_with_the_case_in_readable_text(
    client, make, world
):
    grievance = accented_case(make, world)
    client.sign_in("steward@example.org")
    url = f"/grievances/{grievance.public_id}/case-file.pdf"
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=case-{grievance.number}.pdf"
    )
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_data()
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert f"Case {grievance.number}: Paie réduite à l'accueil" in text
    assert "Robin Here, Zoë O'Brien" in text
    assert "L\u2019employeur a payé 10 $ pour trois heures de travail." in text
    assert "Confidential union case file." in text and "Page 1 of 1" in text
    assert "voulu" not in text
    with_notes = pdf_text(client.get(f"{url}?notes=1").get_data())
    assert "Élodie l'a vu : « c'était voulu »." in with_notes
    assert case_file_audits() == [
        ("grievance.case_file_downloaded", "notes=omitted"),
        ("grievance.case_file_downloaded", "notes=included"),
    ]


def test_the_case_file_is_in_french_for_a_french_reader(client, make, world):
    grievance = accented_case(make, world)
    client.sign_in("steward@example.org")
    client.submit("/language", {"language": "fr"}, page="/grievances/")
    url = f"/grievances/{grievance.public_id}/case-file"
    page = client.get(url).get_data(as_text=True)
    assert "Zoë O&#39;Brien" in page
    text = pdf_text(client.get(f"{url}.pdf").get_data())
    assert "Robin Here, Zoë O'Brien" in text
    assert "Page 1 de 1" in text and "Page 1 of 1" not in text


def test_a_long_closed_case_file_runs_over_pages_and_shows_its_outcome(
    client, make, world
):
    for number in range(40):
        make.note(world.grievance, f"Note {number}: " + "détail " * 60)
    client.sign_in("steward@example.org")
    client.submit(
        case_url(world, "/close"),
        {"outcome": "won", "money_recovered": "1200.50", "remedy_obtained": "Back pay"},
    )
    text = pdf_text(client.get(case_url(world, "/case-file.pdf?notes=1")).get_data())
    assert "Won" in text and "$1,200.50" in text and "Back pay" in text
    assert "Note 39:" in text
    pages = re.findall(r"Page (\d+) of (\d+)", text)
    assert len(pages) > 2 and {total for _, total in pages} == {str(len(pages))}
