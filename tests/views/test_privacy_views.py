"""Members' privacy pages, and the admin's audit log, corrections and breach register."""

import csv
import io
import re
from datetime import date

import pytest
import sqlalchemy as sa

from tests.factories import PASSWORD
from tests.views.test_fuzz import PAST_ANY_COLUMN
from union.db import db
from union.models import (
    AuditEvent,
    Breach,
    CorrectionRequest,
    CorrectionStatus,
    DuesNotice,
    DuesSubscription,
    Member,
    MemberStatus,
    NoticeKind,
)
from union.services import privacy


def actions(prefix):
    return db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.action.like(prefix + "%"))
        .order_by(AuditEvent.id)
    ).all()


def test_a_member_reads_and_downloads_everything_held_about_them(client, world):
    client.sign_in("member@example.org")
    page = client.get("/profile/data").get_data(as_text=True)
    for expected in ("Robin Here", "member@example.org", "Here Agency", "Short pay"):
        assert expected in page
    assert "Manager admitted the rate was wrong." not in page  # a steward's note
    response = client.get("/profile/data.json")
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.json
    assert data["member"]["chosen_name"] == "Robin Here"
    assert data["waivers"][0]["case_number"] == world.waiver.case_number
    assert [case["number"] for case in data["grievances"]] == [world.grievance.number]
    assert "Sky There" not in response.get_data(as_text=True)
    assert db.session.scalars(
        sa.select(AuditEvent.detail)
        .where(AuditEvent.action == "member.data_downloaded")
        .order_by(AuditEvent.id)
    ).all() == ["format=page", "format=json"]


def main_text(page):
    """A page's main content as text, tags dropped."""
    main = page[page.index("<main") : page.index("</main>")]
    # Spaces only: a French no-break space before "$" or ":" stays as it is.
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", main)).strip()


#: Codes, cents and UTC times: the machine form, which only the download keeps.
RAW_FORMS = re.compile(
    r"card_subscription|wage_discrepancy|dues_reminder|past_due|\bemployed\b"
    r"|\b(?:dues|account|member|correction)\.[a-z_]+|\(cents\)|_cents"
    r"|\d{4}-\d\d-\d\dT\d\d|\+00:00|\b2026-1[12]\b"
)


def test_the_data_page_reads_plainly_in_english_and_french(client, world, make):
    db.session.add_all(
        [
            DuesSubscription(
                member_id=world.member.id,
                stripe_subscription_id="sub_plain",
                status="past_due",
                last_event_created=make.now,
                current_period_end=make.now,
            ),
            DuesNotice(
                member_id=world.member.id,
                kind=NoticeKind.DUES_REMINDER,
                key="2026-11",
                sent_at=make.now,
            ),
        ]
    )
    db.session.flush()
    client.sign_in("member@example.org")
    english = main_text(client.get("/profile/data").get_data(as_text=True))
    assert RAW_FORMS.findall(english) == []
    for plain in (
        "Member number 1001",
        "Employment Employed",
        "$22.00 on Nov 22, 2026",
        "Cash",
        "Covers November 2026",
        "Of which $11.00 is the initiation fee",
        "Stripe is trying the card again",
        "Reminder about dues owed",
        "Case 1: December 2026 to January 2027",
        "Reason: Something else",
        "Decision: waiting for a decision",
        "Wage discrepancy",
        "Waiting for an answer",
        "Correction asked for",
    ):
        assert plain in english, plain

    client.submit("/language", {"language": "fr", "next": "/"}, page="/")
    french = main_text(client.get("/profile/data").get_data(as_text=True))
    assert RAW_FORMS.findall(french) == []
    for plain in (
        "Tous les renseignements que nous avons sur vous",
        "22,00\u00a0$ le 22 nov. 2026",
        "Argent comptant",
        "novembre 2026",
        "Écart de salaire",
        "Autre chose",
        "Français",
    ):
        assert plain in french, plain
    assert "Who looked" not in french  # every heading is in French too


def test_a_long_history_is_collapsed_newest_first(client, world, make):
    for day in range(1, 8):
        make.payment(world.member, 1, paid_on=date(2026, 1, day))
    client.sign_in("member@example.org")
    page = client.get("/profile/data").get_data(as_text=True)
    payments = page[page.index('id="dues"') : page.index('id="waivers"')]
    shown, _, older = payments.partition("<details")
    assert "Show 7 older" in older
    assert "Nov 22, 2026" in shown and "Jan 7, 2026" in older  # the newest first
    assert 'Payments <span class="muted">(8)</span>' in payments


def test_the_record_of_access_shows_who_looked(client, world):
    client.sign_in("steward@example.org")
    client.get(f"/members/{world.member.public_id}")
    client.sign_out()
    client.sign_in("member@example.org")
    entries = client.get("/profile/data.json").json["record_of_access"]
    assert any(
        entry["action"] == "member.viewed" and entry["by"] == "Test Person"
        for entry in entries
    )


def test_a_member_asks_for_a_correction_and_an_admin_answers(client, world, outbox):
    client.sign_in("member@example.org")
    client.submit("/profile/corrections", {"details": "My pronouns are they/them."})
    client.sign_out()
    client.sign_in("admin@example.org")
    listing = client.get("/admin/corrections").get_data(as_text=True)
    assert f"Member {world.member.member_number}" in listing
    request = db.session.scalars(
        sa.select(CorrectionRequest).order_by(CorrectionRequest.id.desc())
    ).first()
    url = f"/admin/corrections/{request.id}"
    assert "they/them" in client.get(url).get_data(as_text=True)
    refused = client.submit(url, {"status": "declined", "response": ""})
    assert "Say why the record stays as it is." in refused.get_data(as_text=True)
    done = client.submit(url, {"status": "corrected", "response": "Updated."})
    assert done.headers["Location"] == "/admin/corrections"
    assert [m.to for m in outbox] == ["member@example.org"]
    client.sign_out()
    client.sign_in("member@example.org")
    mine = client.get("/profile/corrections").get_data(as_text=True)
    assert "Corrected." in mine and "Updated." in mine
    db.session.expire_all()
    assert request.status is CorrectionStatus.CORRECTED


def test_leaving_without_card_payments_erases_and_signs_out(client, world, outbox):
    client.sign_in("member@example.org")
    page = client.get("/profile/leave").get_data(as_text=True)
    assert "cannot be undone" in page
    unsure = client.submit("/profile/leave", {"password": PASSWORD})
    assert "Tick the box" in unsure.get_data(as_text=True)
    wrong = client.submit("/profile/leave", {"password": "nope", "understood": "y"})
    assert "That is not your password." in wrong.get_data(as_text=True)
    db.session.expire_all()
    assert world.member.chosen_name == "Robin Here"
    assert actions("account.password_confirmed") == []
    user_id = world.member.user_id
    left = client.submit("/profile/leave", {"password": PASSWORD, "understood": "y"})
    assert left.headers["Location"] == "/"
    # The password is checked as every re-confirmation is, and leaves the same row.
    assert db.session.scalars(
        sa.select(AuditEvent.actor_id).where(
            AuditEvent.action == "account.password_confirmed"
        )
    ).all() == [user_id]
    db.session.expire_all()
    member = db.session.get(Member, world.member.id)
    assert (member.chosen_name, member.status, member.user_id) == (
        privacy.ERASED_NAME,
        MemberStatus.RESIGNED,
        None,
    )
    assert [m.subject for m in outbox] == ["Your membership has ended"]
    assert client.get("/profile").status_code == 302


def test_an_admin_erases_a_member_at_their_request(client, world):
    client.sign_in("admin@example.org")
    url = f"/members/{world.stranger.public_id}/erase"
    assert "Erase Sky There" in client.get(url).get_data(as_text=True)
    response = client.submit(url, {"understood": "y"})
    assert response.headers["Location"] == "/members/"
    db.session.expire_all()
    assert db.session.get(Member, world.stranger.id).chosen_name == privacy.ERASED_NAME


def log_lines(page):
    """The audit log's table rows, as text."""
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return [re.sub(r"<[^>]+>", " ", row) for row in body.split("<tr>")[1:]]


def test_the_audit_log_filters_pages_and_exports_safely(client, world):
    client.sign_in("admin@example.org")
    client.get(f"/members/{world.member.public_id}")
    page = client.get("/admin/audit?action=member.viewed").get_data(as_text=True)
    lines = log_lines(page)
    assert lines and all("Member record viewed" in line for line in lines)
    assert client.get("/admin/audit?from_day=not-a-date").status_code == 200
    export = client.get("/admin/audit.csv?action=member.")
    assert export.mimetype == "text/csv"
    assert (
        export.headers["Content-Disposition"]
        == 'attachment; filename="audit-2026-11-22.csv"'
    )
    assert export.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows[0][:4] == ["at_utc", "actor_id", "actor", "action"]
    assert {row[3] for row in rows[1:]} <= {"member.viewed", "member.data_downloaded"}
    assert "audit.exported" in actions("audit.")


def test_the_audit_log_says_what_happened_and_names_members_by_number(client, world):
    client.sign_in("steward@example.org")
    client.get(f"/members/{world.member.public_id}")
    client.sign_out()
    client.sign_in("admin@example.org")
    page = client.get("/admin/audit").get_data(as_text=True)
    lines = log_lines(page)
    viewed = next(line for line in lines if "Member record viewed" in line)
    assert f"Member {world.member.member_number}" in viewed
    assert "Test Person" in viewed  # the steward, named as the app names accounts
    paid = next(line for line in lines if "Payment recorded" in line)
    assert "Cash, 1 month" in paid
    text = " ".join(lines)
    for code in ("member.viewed", "dues.", "method=", "member ", "#"):
        assert code not in text, code
    assert f"member={world.member.member_number}" in page  # its link filters by it
    assert f"subject_type=member&amp;subject_id={world.member.id}" not in page


def test_the_audit_log_filters_by_member_number_and_by_a_link_to_a_person(
    client, world
):
    client.sign_in("admin@example.org")
    number = world.member.member_number
    about = log_lines(
        client.get(f"/admin/audit?member={number}").get_data(as_text=True)
    )
    assert about and all(
        f"Member {number}" in line or "Robin Here" in line for line in about
    )
    steward = world.accounts["steward"]
    page = client.get(f"/admin/audit?actor={steward.id}").get_data(as_text=True)
    assert "Only what Test Person did." in page
    assert f'name="actor" type="hidden" value="{steward.id}"' in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("actor=abc", "The link named no account we know"),
        ("actor=0", "The link named no account we know"),
        ("actor=99999999999", "The link named no account we know"),
        ("member=abc", "Enter a whole number, like 12."),
        ("member=0", "Member numbers are whole numbers, like 1061."),
        ("member=99999999999", "Member numbers are whole numbers, like 1061."),
        ("member=9999", "No member has number 9999."),
        ("action=bogus", "Choose from the list."),
        ("action=member.viewed%25", "Choose from the list."),
        ("subject_type=secret&subject_id=1", "The link named nothing the log knows"),
        ("subject_type=member&subject_id=" + "9" * 80, "The link named nothing"),
        ("from_day=not-a-date", "Enter a date like 2026-03-31."),
        ("to_day=2026-13-40", "Enter a date like 2026-03-31."),
        ("from_day=2026-11-23&to_day=2026-11-01", "This day is before the first day."),
        ("page=abc", None),
        ("page=-4", None),
        ("page=99999999999999999999", None),
    ],
)
def test_a_bad_audit_filter_is_explained_and_ignored(client, world, query, message):
    client.sign_in("admin@example.org")
    everything = client.get("/admin/audit").get_data(as_text=True)
    total = re.search(r"(\d+) entries\.", everything).group(1)
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Number must be between" not in page
    assert "Not a valid choice" not in page
    if message is not None:
        assert message in page
    if not query.startswith(("from_day", "page=9")):
        assert f"{total} entries." in page  # the bad filter was left out
    assert client.get(f"/admin/audit.csv?{query}").status_code == 200


#: Every filter of the audit log, the hidden ones a link sets among them (the
#: fuzz tests find parameters on the page as it first shows, without those).
AUDIT_FILTERS = (
    "action",
    "member",
    "from_day",
    "to_day",
    "actor",
    "subject_type",
    "subject_id",
    "page",
)


@pytest.mark.parametrize("name", AUDIT_FILTERS)
def test_no_audit_filter_value_answers_an_error(client, world, name):
    client.sign_in("admin@example.org")
    for value in (*PAST_ANY_COLUMN, "-1", "1e308", "x" * 300, "' OR 1=1 --", ""):
        for path in ("/admin/audit", "/admin/audit.csv"):
            query = (
                {name: value, "subject_type": "member"}
                if name == "subject_id"
                else {name: value}
            )
            response = client.get(path, query_string=query)
            assert response.status_code == 200, (path, name, value)


def test_member_record_views_are_audited_for_steward_and_admin(client, world):
    client.sign_in("steward@example.org")
    client.get(f"/members/{world.member.public_id}")
    client.get(f"/members/{world.member.public_id}/edit")
    assert actions("member.viewed") == ["member.viewed", "member.viewed"]


def test_probing_another_workplaces_records_is_refused_and_audited(client, world):
    client.sign_in("other-steward@example.org")
    assert client.get(f"/grievances/{world.grievance.public_id}").status_code == 404
    assert client.get(f"/members/{world.member.public_id}").status_code == 404
    client.get("/admin/users")
    details = db.session.scalars(
        sa.select(AuditEvent.detail)
        .where(AuditEvent.action == "access.refused")
        .order_by(AuditEvent.id)
    ).all()
    assert details == [
        "endpoint=grievances.detail status=404",
        "endpoint=members.detail status=404",
        "endpoint=admin.users status=403",
    ]


def test_admins_record_and_update_breaches(client, world):
    client.sign_in("admin@example.org")
    listing = client.get("/admin/breaches").get_data(as_text=True)
    assert "A steward&#39;s phone with the roster was lost." in listing
    assert "not yet" in listing
    response = client.submit(
        "/admin/breaches/new",
        {
            "discovered_on": "2026-11-20",
            "description": "Emailed the roster to the wrong list.",
            "data_affected": "Names and emails",
            "people_affected": "40",
            "real_risk_of_significant_harm": "y",
        },
    )
    assert response.headers["Location"] == "/admin/breaches"
    bad = client.submit(
        f"/admin/breaches/{world.breach.id}",
        {
            "discovered_on": "2026-11-22",
            "description": "x",
            "data_affected": "x",
            "people_affected": "-3",
        },
    )
    assert bad.status_code == 200 and "Enter 0 or more." in bad.get_data(as_text=True)
    client.submit(
        f"/admin/breaches/{world.breach.id}",
        {
            "discovered_on": "2026-11-22",
            "description": "Phone lost; wiped remotely.",
            "data_affected": "Names and phone numbers",
            "people_affected": "12",
            "real_risk_of_significant_harm": "y",
            "individuals_notified_on": "2026-11-22",
            "commissioner_reported_on": "2026-11-22",
        },
    )
    db.session.expire_all()
    breach = db.session.get(Breach, world.breach.id)
    assert breach.commissioner_reported_on.isoformat() == "2026-11-22"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Breach)) == 2
    assert actions("breach.") == [
        "breach.recorded",
        "breach.recorded",
        "breach.updated",
    ]


def test_a_case_past_its_keeping_period_says_what_was_removed(app, client, world, now):
    from datetime import timedelta

    from union.models import GrievanceOutcome, GrievanceStep
    from union.services import retention

    world.grievance.step = GrievanceStep.RESOLVED
    world.grievance.outcome = GrievanceOutcome.WON
    world.grievance.closed_on = now.date() - timedelta(days=800)
    db.session.flush()
    retention.apply_retention(
        retention.RetentionPeriods(closed_grievances=timedelta(days=730)),
        now=now,
        storage=app.extensions["union_documents"],
    )
    client.sign_in("steward@example.org")
    page = client.get(f"/grievances/{world.grievance.public_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "were removed on" in text and "Short pay" not in text
    assert "Manager admitted" not in text
