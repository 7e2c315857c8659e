"""After a roster import: inviting everyone it added who has an email, asking first."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from tests.conftest import CSRF_FIELD, hidden_fields
from union.db import db
from union.models import RosterImport, User, email_digest

ROSTER = (
    "chosen_name,email,status,dues_level\n"
    "Ash Imported,ash@example.org,active,11\n"
    "Bo Imported,bo@example.org,applicant,11\n"
    "Cy Imported,,active,11\n"
    "Di Imported,di@example.org,resigned,11\n"
)
INVITE_FORM = re.compile(r'<form method="post" action="(/members/imports/\d+/invite)">')


def upload(client, content):
    return client.submit(
        "/members/import",
        {"file": (io.BytesIO(content.encode()), "roster.csv")},
        content_type="multipart/form-data",
    )


def test_an_admin_imports_then_invites_everyone_with_an_email_once(
    client, world, outbox
):
    client.sign_in("admin@example.org")
    result = upload(client, ROSTER).get_data(as_text=True)
    assert "4 members imported." in result
    form = INVITE_FORM.search(result)
    assert form is not None, "no invitation button after the import"
    url = form.group(1)
    token = CSRF_FIELD.search(result[form.end() :])
    assert token is not None

    asking = client.post(url, data={"csrf_token": token.group(1)})
    page = asking.get_data(as_text=True)
    assert asking.status_code == 200
    assert "Invite 2 imported members by email?" in page
    assert "2 not invited: 1 has no email, 1 has left the union." in page
    assert outbox == []

    fields = hidden_fields(page)
    done = client.post(url, data=fields)
    assert done.headers["Location"] == "/members/import"
    shown = client.get("/members/import").get_data(as_text=True)
    assert "2 members invited by email." in shown
    assert "2 not invited: 1 has no email, 1 has left the union." in shown
    assert "has been invited or already uses their account" in shown

    assert sorted(message.to for message in outbox) == [
        "ash@example.org",
        "bo@example.org",
    ]
    ash = next(message for message in outbox if message.to == "ash@example.org")
    assert ash.subject == "Your union membership is now online"
    assert "Hello Ash Imported," in ash.body
    link = re.search(r"http://union\.test(/account/activate/\S+)", ash.body)
    assert link is not None
    assert client.get(link.group(1)).status_code == 200

    outbox.clear()
    again = client.post(url, data=fields)
    assert again.status_code == 302
    shown = client.get("/members/import").get_data(as_text=True)
    assert "Nobody was invited." in shown
    assert "4 not invited: 2 were invited before" in shown
    assert outbox == []


def test_the_import_page_offers_to_invite_the_last_import(client, world):
    client.sign_in("admin@example.org")
    upload(client, ROSTER)

    page = client.get("/members/import").get_data(as_text=True)

    assert "4 members added." in page
    assert "2 of them have an email and have not been invited" in page
    assert INVITE_FORM.search(page)


def test_a_member_who_set_up_their_account_is_not_invited(client, world, outbox):
    client.sign_in("admin@example.org")
    upload(client, "chosen_name,email,dues_level\nEd Ready,ed@example.org,11\n")
    ed = db.session.scalar(
        sa.select(User).where(User.email_hash == email_digest("ed@example.org"))
    )
    ed.password_hash = "set through a reset link"
    db.session.flush()
    imported = db.session.scalar(sa.select(sa.func.max(RosterImport.id)))

    response = client.submit(
        f"/members/imports/{imported}/invite", page="/members/import"
    )

    assert response.status_code == 302
    shown = client.get("/members/import").get_data(as_text=True)
    assert "Nobody was invited." in shown
    assert "1 not invited: 1 already uses their account." in shown
    assert outbox == []


def test_no_such_import_is_no_such_page(client, world):
    client.sign_in("admin@example.org")

    response = client.submit("/members/imports/999999/invite", page="/members/import")

    assert response.status_code == 404


def test_an_invitation_without_a_csrf_token_sends_nothing(client, world, outbox):
    client.sign_in("admin@example.org")
    upload(client, ROSTER)
    imported = db.session.scalar(sa.select(sa.func.max(RosterImport.id)))

    response = client.post(
        f"/members/imports/{imported}/invite", data={"confirmed": "yes"}
    )

    assert response.status_code in (302, 400)
    assert outbox == []
