"""The pages: what's new, the email choices, the call list, and the join path."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from union.db import db
from union.models import (
    AuditEvent,
    ContactPreference,
    MemberStatus,
    Notification,
    NotificationKind,
    Role,
    Workplace,
)
from union.services import notifications_feed
from union.web import handoff


def unread(user) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
    )


@pytest.fixture
def join_form(make):
    return {
        "chosen_name": "Robin",
        "legal_name": "",
        "pronouns": "",
        "email": "robin@example.org",
        "phone": "",
        "contact_preference": "email",
        "membership_class": "employed",
        "workplace": str(make.workplace("Riverside CHC").id),
        "new_employer": "",
        "new_site": "",
        "classification": str(make.classification("Peer worker").id),
        "dues_level": str(make.level("regular").id),
    }


def test_an_application_is_told_to_its_workplaces_stewards_and_admins_only(
    client,
    make,
    join_form,
    outbox,
):
    workplace = db.session.get(Workplace, int(join_form["workplace"]))
    steward = make.steward(workplace, email="covering@example.org")
    make.steward(make.workplace(), email="elsewhere@example.org")
    make.user("admin@example.org", roles=(Role.ADMIN,))
    make.user("organizer@example.org", roles=(Role.ORGANIZER,))

    client.submit("/join", join_form)

    addresses = sorted(message.to for message in outbox)
    assert addresses == [
        "admin@example.org",
        "covering@example.org",
        "robin@example.org",
    ]
    [row] = unread(steward)
    assert row.kind is NotificationKind.APPLICANT_WAITING
    told = next(m for m in outbox if m.to == "covering@example.org")
    assert told.subject == "A new application to join is waiting"
    assert "Robin" not in told.body and "robin@" not in told.body


def test_whats_new_lists_the_newest_first_and_marks_all_read(client, make, world):
    user = world.accounts["member"]
    notifications_feed.notify(
        [user],
        NotificationKind.GRIEVANCE_OPENED,
        {"number": "2026-0042", "step": "intake", "on": "2026-11-22"},
        about="grievance-x:event-1",
        now=make.now,
    )
    client.sign_in("member@example.org")

    home = client.get("/").get_data(as_text=True)
    assert "2 new notifications" in home
    page = client.get("/notifications").get_data(as_text=True)
    assert "2 unread." in page
    assert page.index("Grievance 2026-0042 was opened") < page.index(
        "Your dues payment of"
    )
    response = client.submit("/notifications/read", page="/notifications")
    assert response.status_code == 302
    assert unread(user) == []
    assert "Nothing unread." in client.get("/notifications").get_data(as_text=True)
    assert "new notification" not in client.get("/").get_data(as_text=True)


def test_whats_new_pages_and_reads_in_french(client, make, world):
    user = world.accounts["member"]
    for number in range(30):
        notifications_feed.notify(
            [user],
            NotificationKind.SURVEY_OPENED,
            {"round": number},
            about=f"round-{number}",
            now=make.now,
        )
    client.sign_in("member@example.org")
    client.submit("/language", {"language": "fr"}, page="/notifications")

    first = client.get("/notifications").get_data(as_text=True)
    second = client.get("/notifications?page=2").get_data(as_text=True)

    assert first.count("Un nouveau sondage des membres est ouvert.") == 25
    assert second.count("Un nouveau sondage des membres est ouvert.") == 5
    assert "Votre paiement de cotisations de" in second
    assert "Page 2 sur 2" in second


def test_choices_are_saved_and_a_choice_switched_off_sends_no_email(
    client, make, world, outbox
):
    user = world.accounts["member"]
    handoff.commit()  # the world's receipt goes out first
    client.sign_in("member@example.org")
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert "A receipt for each payment" in page
    assert "Someone applies to join" not in page  # for stewards and admins
    wanted = {
        f"email_{kind}": "y"
        for kind in notifications_feed.MEMBER_KINDS
        if kind is not NotificationKind.SURVEY_OPENED
    }

    response = client.submit("/notifications/settings", wanted, follow_redirects=True)

    assert "Your choices are saved." in response.get_data(as_text=True)
    outbox.clear()
    notifications_feed.notify(
        [user], NotificationKind.SURVEY_OPENED, {"round": 1}, about="r-1", now=make.now
    )
    notifications_feed.notify(
        [user],
        NotificationKind.WAIVER_DECIDED,
        {"case": 9, "granted": False},
        about="w-9",
        now=make.now,
    )
    handoff.commit()
    assert [message.subject for message in outbox] == [
        "Your dues waiver request was decided"
    ]
    assert len(unread(user)) == 3  # the world's receipt, and both of these


def test_the_call_list_shows_in_person_members_to_their_stewards_and_told_clears_them(
    client, make, world, outbox
):
    member = world.member
    handoff.commit()  # the world's receipt was emailed when it was taken
    outbox.clear()
    member.contact_preference = ContactPreference.IN_PERSON
    notifications_feed.notify(
        [member.user],
        NotificationKind.GRIEVANCE_MOVED,
        {"number": "2026-0042", "step": "step_1", "on": "2026-11-22"},
        about="grievance-x:event-2",
        now=make.now,
    )
    handoff.commit()
    assert outbox == []

    client.sign_in("other-steward@example.org")
    page = client.get("/call-list").get_data(as_text=True)
    assert "Robin Here" not in page and "Nobody is waiting" in page
    client.sign_out()

    client.sign_in("steward@example.org")
    assert "1 member to tell in person" in client.get("/").get_data(as_text=True)
    page = client.get("/call-list").get_data(as_text=True)
    assert "Robin Here" in page and "Here Agency" in page
    assert "Grievance 2026-0042 moved to Step 1 on Nov 22, 2026." in page
    assert "Your dues payment of" in page
    response = client.submit(
        f"/call-list/{member.public_id}/told",
        {"shown_at": make.now.isoformat()},
        page="/call-list",
        follow_redirects=True,
    )
    text = response.get_data(as_text=True)
    assert "Noted: Robin Here has been told in person." in text
    assert "Nobody is waiting to be told anything." in text
    assert unread(member.user) == []
    audit = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "member.told_in_person")
    )
    assert audit.detail is None
    assert "Robin" not in (audit.detail or "")


def test_told_without_the_moment_the_list_was_shown_changes_nothing(
    client, make, world
):
    world.member.contact_preference = ContactPreference.IN_PERSON
    db.session.flush()
    client.sign_in("steward@example.org")
    response = client.submit(
        f"/call-list/{world.member.public_id}/told",
        {"shown_at": "yesterday"},
        page="/call-list",
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "The list has changed." in response.get_data(as_text=True)
    assert len(unread(world.accounts["member"])) == 1


def test_a_member_who_chose_in_person_contact_reads_why_no_email_comes(client, world):
    world.member.contact_preference = ContactPreference.IN_PERSON
    db.session.flush()
    client.sign_in("member@example.org")
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert "we send you no email whatever you choose here" in page


def test_accepting_twice_tells_the_applicant_once(client, make, world, outbox):
    applicant = make.member(
        world.here, status=MemberStatus.APPLICANT, email="new@example.org"
    )
    client.sign_in("steward@example.org")
    for _ in range(2):
        client.submit(
            f"/members/{applicant.public_id}/accept",
            page=f"/members/{applicant.public_id}",
        )
    assert [message.to for message in outbox] == ["new@example.org"]
    assert len(unread(applicant.user)) == 1
