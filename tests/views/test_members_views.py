import csv
import io
from datetime import date

import sqlalchemy as sa

from tests.services.test_roster import workbook
from union.db import db
from union.models import AuditEvent, Member, MemberStatus
from union.services import members as members_service


def test_a_member_sees_and_edits_their_own_profile(client, world):
    client.sign_in("member@example.org")
    page = client.get("/profile").get_data(as_text=True)
    assert "Robin Here" in page and str(world.member.member_number) in page
    response = client.submit(
        "/profile/edit",
        {
            "chosen_name": "Robin H.",
            "pronouns": "she/her",
            "phone": "416 555 0100",
            "contact_preference": "text",
            "membership_class": "employed",
        },
    )
    assert response.headers["Location"] == "/profile"
    db.session.expire_all()
    assert (world.member.chosen_name, world.member.phone) == (
        "Robin H.",
        "416 555 0100",
    )


def test_a_profile_form_cannot_change_status_account_or_number(client, world):
    client.sign_in("member@example.org")
    number, user_id = world.member.member_number, world.member.user_id
    client.submit(
        "/profile/edit",
        {
            "chosen_name": "Robin",
            "contact_preference": "email",
            "membership_class": "employed",
            "status": "active",
            "member_number": "1",
            "user_id": str(world.accounts["admin"].id),
            "dues_level_id": "4",
        },
    )
    db.session.expire_all()
    assert (
        world.member.member_number,
        world.member.user_id,
        world.member.dues_level.code,
    ) == (number, user_id, "minimum")


def test_a_rejected_profile_edit_keeps_what_was_typed_and_saves_nothing(client, world):
    client.sign_in("member@example.org")
    response = client.submit(
        "/profile/edit",
        {
            "chosen_name": "New Name",
            "phone": "",
            "contact_preference": "phone",
            "membership_class": "employed",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Add a phone number" in page
    assert 'value="New Name"' in page
    db.session.expire_all()
    assert world.member.chosen_name == "Robin Here"


def test_the_roster_shows_a_steward_only_their_workplaces(client, world):
    client.sign_in("steward@example.org")
    page = client.get("/members/").get_data(as_text=True)
    assert "Robin Here" in page
    assert "Sky There" not in page


def test_a_steward_gets_404_for_another_workplaces_member(client, world):
    client.sign_in("steward@example.org")
    assert client.get(f"/members/{world.stranger.public_id}").status_code == 404
    assert client.get(f"/members/{world.member.public_id}").status_code == 200
    response = client.submit(
        f"/members/{world.stranger.public_id}/status",
        {"status": "lapsed"},
        page="/members/",
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert world.stranger.status is MemberStatus.ACTIVE


def test_a_steward_accepts_an_applicant_at_their_workplace(client, make, world):
    applicant = make.member(
        world.here, status=MemberStatus.APPLICANT, name="New Person"
    )
    client.sign_in("steward@example.org")
    page = client.get("/members/?status=applicant").get_data(as_text=True)
    assert "New Person" in page and "Robin Here" not in page
    response = client.submit(
        f"/members/{applicant.public_id}/accept", page=f"/members/{applicant.public_id}"
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert applicant.status is MemberStatus.ACTIVE
    assert applicant.accepted_by_id == world.accounts["steward"].id


def test_declining_removes_the_application(client, make, world):
    applicant = make.member(world.here, status=MemberStatus.APPLICANT)
    client.sign_in("steward@example.org")
    client.submit_and_confirm(
        f"/members/{applicant.public_id}/decline",
        page=f"/members/{applicant.public_id}",
    )
    assert db.session.scalar(sa.select(Member).where(Member.id == applicant.id)) is None


def test_the_roster_searches_and_pages(client, make, world):
    for index in range(60):
        make.member(world.here, name=f"Person {index:02d}")
    client.sign_in("admin@example.org")
    first = client.get("/members/").get_data(as_text=True)
    assert "62 members found." in first
    assert "Page 1 of 2" in first
    second = client.get("/members/?page=2").get_data(as_text=True)
    assert "Sky There" in second or "Robin Here" in second
    found = client.get("/members/?q=person+07").get_data(as_text=True)
    assert "1 member found." in found and "Person 07" in found
    by_number = client.get(f"/members/?q={world.member.member_number}").get_data(
        as_text=True
    )
    assert "Robin Here" in by_number and "1 member found." in by_number
    assert (
        client.get("/members/?page=abc&status=nonsense&workplace=x").status_code == 200
    )


def test_names_are_escaped_everywhere_they_are_shown(client, make, world):
    evil = make.member(world.here, name='<script>alert("x")</script>')
    client.sign_in("steward@example.org")
    for url in ("/members/", f"/members/{evil.public_id}"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in page
        assert "&lt;script&gt;" in page


def test_a_steward_adds_and_ends_employment_only_where_they_cover(client, make, world):
    client.sign_in("steward@example.org")
    elsewhere = client.submit(
        f"/members/{world.member.public_id}/employments",
        {"workplace": str(world.there.id), "classification": "", "started_on": ""},
        page=f"/members/{world.member.public_id}",
    )
    assert elsewhere.status_code == 400
    assert "Choose a workplace from the list." in elsewhere.get_data(as_text=True)
    job = world.member.employments[0]
    ended = client.submit(
        f"/members/{world.member.public_id}/employments/{job.id}/end",
        {"ended_on": "2026-11-01"},
        page=f"/members/{world.member.public_id}",
    )
    assert ended.status_code == 302
    db.session.expire_all()
    assert str(job.ended_on) == "2026-11-01"


def test_a_steward_cannot_end_a_job_at_a_workplace_they_do_not_cover(
    client, make, world
):
    """A member working at both workplaces is on both stewards' rosters; each
    steward may end only the job at the workplace they cover."""
    both = make.member(world.here, name="Kit Both")
    there_job = members_service.add_employment(
        both,
        workplace_id=world.there.id,
        classification_id=None,
        started_on=None,
        actor=world.accounts["admin"],
        now=make.now,
    )
    client.sign_in("steward@example.org")
    response = client.submit(
        f"/members/{both.public_id}/employments/{there_job.id}/end",
        {"ended_on": "2026-11-01"},
        page="/account",
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert there_job.ended_on is None
    assert {job.workplace_id for job in both.current_employments} == {
        world.here.id,
        world.there.id,
    }
    page = client.get(f"/members/{both.public_id}").get_data(as_text=True)
    assert f"/employments/{there_job.id}/end" not in page
    assert f"/employments/{both.employments[0].id}/end" in page


def test_admins_export_the_roster_as_safe_csv_and_it_is_audited(client, make, world):
    make.member(world.here, name="=1+2")
    client.sign_in("admin@example.org")
    response = client.get("/members/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="roster-2026-11-22.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    names = {row[1] for row in rows[1:]}
    assert {"Robin Here", "Sky There", "'=1+2"} <= names
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "roster.exported")
        )
        == 1
    )


def test_stewards_cannot_export(client, world):
    client.sign_in("steward@example.org")
    assert client.get("/members/export.csv").status_code == 403


def upload(client, content, *, check_only=False):
    data: dict[str, object] = {"file": (io.BytesIO(content), "roster.csv")}
    if check_only:
        data["check_only"] = "y"
    return client.submit("/members/import", data, content_type="multipart/form-data")


def test_uploading_a_good_roster_shows_progress_and_imports_it(client, world):
    client.sign_in("admin@example.org")
    rows = "".join(f"Person {i},11,Here Agency\n" for i in range(1200))
    response = upload(client, f"chosen_name,dues_level,employer\n{rows}".encode())
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["X-Accel-Buffering"] == "no"
    assert "Checked 500 of 1,200 rows" in page
    assert "Checked 1,200 of 1,200 rows" in page
    assert "Saved 1,000 of 1,200 members" in page
    assert "1,200 members imported." in page or "1200 members imported." in page
    imported = db.session.scalar(
        sa.select(Member).where(Member.chosen_name == "Person 7")
    )
    assert imported.current_employments[0].workplace_id == world.here.id


def test_uploading_a_bad_roster_lists_problems_and_imports_nothing(client, world):
    client.sign_in("admin@example.org")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Member))
    page = upload(client, b"chosen_name,dues_level\nAsh,11\n,99\n").get_data(
        as_text=True
    )
    assert "Nothing was imported." in page
    assert '<td class="number">3</td><td>chosen_name</td>' in page
    assert '<td class="number">3</td><td>dues_level</td>' in page
    assert "Saved" not in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Member)) == before


def test_checking_a_roster_saves_nothing(client, world):
    client.sign_in("admin@example.org")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Member))
    page = upload(
        client, b"chosen_name,dues_level\nAsh,11\n", check_only=True
    ).get_data(as_text=True)
    assert "The file is fine: 1 member would be imported." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Member)) == before


def test_uploading_something_that_is_not_utf8_csv_is_refused_kindly(client, world):
    client.sign_in("admin@example.org")
    response = upload(client, "chosen_name\nRené".encode("latin-1"))
    assert response.status_code == 400
    assert "UTF-8" in response.get_data(as_text=True)
    data = {"file": (io.BytesIO(b"%PDF-1.4"), "roster.pdf")}
    response = client.submit(
        "/members/import", data, content_type="multipart/form-data"
    )
    assert "Choose a .xlsx or .csv file." in response.get_data(as_text=True)


def test_uploading_a_workbook_imports_its_first_sheet(client, world):
    client.sign_in("admin@example.org")
    data = {
        "file": (
            io.BytesIO(
                workbook(
                    ("chosen_name", "dues_level", "employer", "joined_on"),
                    ("Zoë Lévesque", 11, "Here Agency", date(2025, 3, 1)),
                )
            ),
            "roster.xlsx",
        )
    }
    response = client.submit(
        "/members/import", data, content_type="multipart/form-data"
    )
    assert "1 member imported." in response.get_data(as_text=True)
    imported = db.session.scalar(
        sa.select(Member).where(Member.chosen_name == "Zoë Lévesque")
    )
    assert imported.joined_on == date(2025, 3, 1)


def test_a_damaged_workbook_gets_a_message_not_an_error_page(client, world):
    client.sign_in("admin@example.org")
    good = workbook(("chosen_name", "dues_level"), ("Ash", 11))
    for damaged in (good[: len(good) // 2], b"PK\x03\x04 not really a zip"):
        data = {"file": (io.BytesIO(damaged), "roster.xlsx")}
        response = client.submit(
            "/members/import", data, content_type="multipart/form-data"
        )
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert "This workbook can&#39;t be read; it may be damaged." in page
    assert "Ash" not in db.session.scalars(sa.select(Member.chosen_name)).all()


def test_a_file_over_the_upload_limit_gets_a_plain_message(app, client, world):
    client.sign_in("admin@example.org")
    token = client.csrf_token("/members/import")
    limit = app.config["MAX_CONTENT_LENGTH"]
    # Written out by hand: the test client would spool a file this big to disk.
    body = (
        b'--cut\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + token.encode()
        + b'\r\n--cut\r\nContent-Disposition: form-data; name="file"; '
        b'filename="roster.xlsx"\r\n\r\n' + b"x" * (limit + 1) + b"\r\n--cut--\r\n"
    )
    response = client.post(
        "/members/import",
        data=body,
        content_type="multipart/form-data; boundary=cut",
    )
    assert response.status_code == 413
    assert "That file is too big" in response.get_data(as_text=True)


def test_the_roster_page_runs_the_same_number_of_queries_for_10_or_100_members(
    client, make, world, count_queries
):
    client.sign_in("admin@example.org")
    for _ in range(8):
        make.member(make.workplace(), classification=make.classification())
    with count_queries() as few:
        assert client.get("/members/").status_code == 200
    for _ in range(90):
        make.member(make.workplace(), classification=make.classification())
    with count_queries() as many:
        assert client.get("/members/").status_code == 200
    assert many.count == few.count


def test_organizers_see_no_member_rows(client, world):
    client.sign_in("organizer@example.org")
    for url in (
        "/members/",
        f"/members/{world.member.public_id}",
        "/members/export.csv",
    ):
        assert client.get(url).status_code == 403
    page = client.get(f"/workplaces/{world.here.id}").get_data(as_text=True)
    assert "Robin Here" not in page
    assert "Members here" not in page
