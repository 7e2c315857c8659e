"""Members' privacy pages, and the admin's audit log, corrections and breach register."""

import csv
import io

import sqlalchemy as sa

from tests.factories import PASSWORD
from union.db import db
from union.models import (
    AuditEvent,
    Breach,
    CorrectionRequest,
    CorrectionStatus,
    Member,
    MemberStatus,
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


def test_the_audit_log_filters_pages_and_exports_safely(client, world):
    client.sign_in("admin@example.org")
    client.get(f"/members/{world.member.public_id}")
    page = client.get("/admin/audit?action=member.viewed").get_data(as_text=True)
    assert "member.viewed" in page and "role.granted" not in page
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
