"""The home page at a glance, and the applicants list with accepting several at once."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from tests.conftest import hidden_fields
from union.db import db
from union.models import AuditEvent, MemberStatus


def home(client, email):
    client.sign_in(email)
    return client.get("/").get_data(as_text=True)


def accepted_events(member):
    return db.session.scalar(
        sa.select(sa.func.count()).where(
            AuditEvent.action == "member.accepted",
            AuditEvent.subject_id == str(member.id),
        )
    )


# Home -------------------------------------------------------------------------


def test_a_steward_sees_their_applicants_and_deadlines_with_links(client, make, world):
    for _ in range(3):
        make.member(world.here, status=MemberStatus.APPLICANT)
    make.member(world.there, status=MemberStatus.APPLICANT)
    make.grievance(world.here, deadline_on=date(2026, 11, 20))
    make.grievance(world.there, deadline_on=date(2026, 11, 20))

    page = home(client, "steward@example.org")

    assert "3 applicants waiting" in page
    assert 'href="/members/applicants"' in page
    assert "1 grievance past its deadline" in page
    # world's own case is due in 14 days: not this week.
    assert "deadline in the next 7 days" not in page
    assert "nothing owed" not in page  # a steward who is not a member owes nothing


def test_the_other_steward_counts_only_their_own_workplace(client, make, world):
    for _ in range(3):
        make.member(world.here, status=MemberStatus.APPLICANT)
    make.member(world.there, status=MemberStatus.APPLICANT)

    page = home(client, "other-steward@example.org")

    assert "1 applicant waiting" in page


def test_a_member_sees_what_they_owe_and_the_survey_waiting(client, make, world):
    from union.services import survey

    survey.open_round("Winter", actor=world.accounts["organizer"], now=make.now)

    page = home(client, "member@example.org")

    assert "Dues: nothing owed" in page
    assert "Winter" in page and 'href="/survey/"' in page


def test_a_member_behind_on_dues_is_told_how_many_months(client, make, world):
    behind = make.member(
        world.here, account=True, email="behind@example.org", joined_on=date(2026, 9, 1)
    )
    assert behind.user is not None

    page = home(client, "behind@example.org")

    assert "3 months of dues owed" in page
    assert 'href="/dues"' in page


def test_the_treasurer_sees_what_waits_and_where(client, make, world):
    # world's steward took cash this month (not yet confirmable), and the member
    # asked for a waiver.
    earlier = make.payment(world.member, paid_on=date(2026, 10, 15))
    earlier.recorded_by_id = world.accounts["steward"].id
    db.session.flush()

    page = home(client, "treasurer@example.org")

    assert "1 remittance to confirm, from October 2026 on" in page
    assert 'href="/treasurer/remittances?month=2026-10"' in page
    assert "1 hardship waiver to decide" in page
    assert "card payment" not in page


def test_organizers_and_admins_get_the_cards_their_menus_have(client, world):
    organizer = home(client, "organizer@example.org")
    assert 'href="/reports/"' in organizer
    assert 'href="/admin/audit"' not in organizer
    client.sign_out()

    admin = home(client, "admin@example.org")
    for link in ("/reports/", "/admin/audit", "/admin/breaches"):
        assert f'href="{link}"' in admin


def test_nothing_waiting_is_said_plainly(client, make, world):
    make.user("quiet@example.org", roles=())
    steward = make.steward(make.workplace(), email="quiet-steward@example.org")
    assert steward

    page = home(client, "quiet-steward@example.org")

    assert "Nothing is waiting for you." in page


def test_the_home_page_in_french(client, make, world):
    for _ in range(2):
        make.member(world.here, status=MemberStatus.APPLICANT)
    client.sign_in("steward@example.org")
    client.submit("/language", {"language": "fr"}, page="/account")

    page = client.get("/").get_data(as_text=True)

    assert "2 demandes d'adhésion en attente" in page


# Applicants -------------------------------------------------------------------


def test_applicants_are_listed_oldest_first_with_how_long_they_waited(
    client, make, world
):
    today = make.now.date()
    make.member(
        world.here,
        status=MemberStatus.APPLICANT,
        name="Newest Today",
        joined_on=today,
    )
    make.member(
        world.here,
        status=MemberStatus.APPLICANT,
        name="Oldest Waiting",
        joined_on=today - timedelta(days=3),
    )
    make.member(
        world.here,
        status=MemberStatus.APPLICANT,
        name="Yesterday Person",
        joined_on=today - timedelta(days=1),
    )
    make.member(world.there, status=MemberStatus.APPLICANT, name="Elsewhere Person")
    client.sign_in("steward@example.org")

    page = client.get("/members/applicants").get_data(as_text=True)

    assert "Elsewhere Person" not in page and "Robin Here" not in page
    assert (
        page.index("Oldest Waiting")
        < page.index("Yesterday Person")
        < page.index("Newest Today")
    )
    assert "waiting 3 days" in page
    assert "waiting 1 day" in page
    assert "applied today" in page
    assert "applied on Nov. 19, 2026" in page or "applied on Nov 19, 2026" in page


def test_a_steward_accepts_several_applicants_after_seeing_their_names(
    client, make, world, outbox
):
    first = make.member(world.here, status=MemberStatus.APPLICANT, name="Ana First")
    second = make.member(world.here, status=MemberStatus.APPLICANT, name="Bo Second")
    left = make.member(world.here, status=MemberStatus.APPLICANT, name="Cy Left")
    client.sign_in("steward@example.org")

    asking = client.submit(
        "/members/applicants/accept",
        {"member": [first.public_id, second.public_id]},
        page="/members/applicants",
    )
    page = asking.get_data(as_text=True)
    assert asking.status_code == 200
    assert "Accept 2 applicants?" in page
    assert "Ana First" in page and "Bo Second" in page and "Cy Left" not in page
    db.session.expire_all()
    assert first.status is MemberStatus.APPLICANT, "asking changed something"

    fields = hidden_fields(page)
    done = client.post("/members/applicants/accept", data=fields)
    assert done.headers["Location"] == "/members/applicants"
    shown = client.get("/members/applicants").get_data(as_text=True)
    assert "2 applicants are now active members." in shown

    db.session.expire_all()
    assert (first.status, second.status, left.status) == (
        MemberStatus.ACTIVE,
        MemberStatus.ACTIVE,
        MemberStatus.APPLICANT,
    )
    steward_id = world.accounts["steward"].id
    assert first.accepted_by_id == steward_id and second.accepted_by_id == steward_id
    assert first.accepted_on == make.now.date()
    assert (accepted_events(first), accepted_events(second)) == (1, 1)
    # Accepting one person at a time sends no email, so neither does this.
    assert outbox == []

    again = client.post("/members/applicants/accept", data=fields)
    assert again.status_code == 302
    assert (accepted_events(first), accepted_events(second)) == (1, 1)
    assert "Nobody was accepted" in client.get("/members/applicants").get_data(
        as_text=True
    )


def test_an_applicant_elsewhere_ticked_by_tampering_is_left_out(client, make, world):
    mine = make.member(world.here, status=MemberStatus.APPLICANT, name="Mine Here")
    theirs = make.member(world.there, status=MemberStatus.APPLICANT, name="Not Mine")
    client.sign_in("steward@example.org")

    asking = client.submit(
        "/members/applicants/accept",
        {"member": [mine.public_id, theirs.public_id]},
        page="/members/applicants",
    )
    page = asking.get_data(as_text=True)
    assert "Accept 1 applicant?" in page and "Not Mine" not in page
    client.post("/members/applicants/accept", data=hidden_fields(page))

    db.session.expire_all()
    assert mine.status is MemberStatus.ACTIVE
    assert theirs.status is MemberStatus.APPLICANT
    shown = client.get("/members/applicants").get_data(as_text=True)
    assert "1 person ticked was not accepted" in shown


def test_bad_choices_get_a_message_not_an_error(client, make, world):
    client.sign_in("steward@example.org")

    nothing = client.submit("/members/applicants/accept", {}, page="/account")
    assert nothing.status_code == 302
    assert "Tick the people to accept first." in client.get(
        "/members/applicants"
    ).get_data(as_text=True)

    junk = client.submit(
        "/members/applicants/accept",
        {"member": ["not-an-id", "x" * 5000, "' OR 1=1 --"]},
        page="/account",
    )
    assert junk.status_code == 302

    too_many = client.submit(
        "/members/applicants/accept",
        {"member": [f"id{n}" for n in range(101)]},
        page="/account",
    )
    assert too_many.status_code == 302
    assert "Accept at most 100 people at a time." in client.get(
        "/members/applicants"
    ).get_data(as_text=True)


def test_accepting_without_a_csrf_token_does_nothing(client, make, world):
    applicant = make.member(world.here, status=MemberStatus.APPLICANT)
    client.sign_in("steward@example.org")

    response = client.post(
        "/members/applicants/accept",
        data={"member": applicant.public_id, "confirmed": "yes"},
    )

    assert response.status_code in (302, 400)
    db.session.expire_all()
    assert applicant.status is MemberStatus.APPLICANT
