"""A member raising a problem at work online, and their membership page naming
their stewards and delegate."""

import html
import re
from datetime import timedelta

import sqlalchemy as sa

from union.db import db
from union.models import ContactPreference, Grievance
from union.services import grievances
from union.services.grievances import RAISED_PER_DAY, Problem

WHAT_HAPPENED = "My shifts were cut after I asked about the missing sick days."
SCRIPT = "<script>alert(1)</script>"


def raise_data(world, **changes):
    data = {
        "what_happened": WHAT_HAPPENED,
        "incident_on": "2026-11-20",
        "workplace": str(world.here.id),
        "contact_preference": "email",
    }
    data.update(changes)
    return data


def raised_cases():
    return db.session.scalars(
        sa.select(Grievance).where(Grievance.is_raised_online.is_(True))
    ).all()


def test_a_member_raises_a_problem_and_is_told_where_it_went(client, world):
    client.sign_in("member@example.org")
    form = client.get("/grievances/raise")
    page = form.get_data(as_text=True)
    assert form.status_code == 200
    assert "Here Agency" in page and "There Agency" not in page
    assert "in confidence" in page
    response = client.submit("/grievances/raise", raise_data(world))
    [case] = raised_cases()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/grievances/raised/{case.public_id}"
    assert case.grievants == [world.member]
    assert case.contact_preference is ContactPreference.EMAIL
    confirmation = client.get(response.headers["Location"]).get_data(as_text=True)
    assert case.number in confirmation
    assert "Test Person" in confirmation  # the steward covering Here Agency
    assert "Received. Someone from the union will be in touch." in confirmation
    profile = client.get("/profile").get_data(as_text=True)
    assert case.number in profile and "Received." in profile
    # The member sees where it stands, never the steward's side of it.
    assert WHAT_HAPPENED not in profile


def test_every_mistake_shows_at_once_and_what_was_typed_is_kept(client, world):
    client.sign_in("member@example.org")
    response = client.submit(
        "/grievances/raise",
        raise_data(
            world,
            what_happened=f"Shifts cut {SCRIPT}",
            incident_on="2026-02-31",
            workplace=str(world.there.id),
            contact_preference="text",
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert summary is not None
    for message in (
        "Enter a date like 2026-03-31.",
        "Choose one of the workplaces where you work.",
        "We have no phone number for you.",
    ):
        assert message in summary.group(0)
    assert "Shifts cut &lt;script&gt;" in page and SCRIPT not in page
    assert 'value="2026-02-31"' in page
    assert re.search(r'value="text"[^>]*checked|checked[^>]*value="text"', page)
    empty = client.submit("/grievances/raise", raise_data(world, what_happened=" "))
    assert empty.status_code == 400
    assert "Tell us what happened." in empty.get_data(as_text=True)
    assert raised_cases() == []


def test_tampered_values_are_named_not_a_server_error(client, world):
    client.sign_in("member@example.org")
    for changes in (
        {"workplace": "abc"},
        {"workplace": "99999999999999999999"},
        {"contact_preference": "carrier pigeon"},
        {"incident_on": "yesterday"},
    ):
        response = client.submit("/grievances/raise", raise_data(world, **changes))
        assert response.status_code == 400, changes
    assert client.get("/grievances/raised/not-a-case").status_code == 404
    assert raised_cases() == []


def test_sending_twice_opens_one_case(client, world):
    client.sign_in("member@example.org")
    first = client.submit("/grievances/raise", raise_data(world))
    second = client.submit("/grievances/raise", raise_data(world))
    assert first.headers["Location"] == second.headers["Location"]
    assert len(raised_cases()) == 1


def test_after_a_few_in_a_day_the_member_is_told_to_talk_to_a_steward(
    client, world, now
):
    for number in range(RAISED_PER_DAY):
        grievances.raise_problem(
            Problem(
                what_happened=f"Problem {number}.",
                workplace_id=world.here.id,
                contact_preference=ContactPreference.EMAIL,
            ),
            actor=world.accounts["member"],
            now=now - timedelta(hours=1),
        )
    client.sign_in("member@example.org")
    page = client.get("/grievances/raise").get_data(as_text=True)
    assert "as many as can be sent online" in page
    assert 'name="what_happened"' not in page
    refused = client.submit(
        "/grievances/raise",
        raise_data(world, what_happened="A fourth thing."),
        page="/profile",
    )
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "as many as can be sent online" in text
    assert "A fourth thing." in text
    assert len(raised_cases()) == RAISED_PER_DAY


def test_the_covering_steward_sees_it_at_intake_marked_as_raised_online(client, world):
    client.sign_in("member@example.org")
    client.submit(
        "/grievances/raise", raise_data(world, contact_preference="in_person")
    )
    [case] = raised_cases()
    client.sign_out()

    client.sign_in("steward@example.org")
    for url in ("/grievances/", "/grievances/cases?step=intake"):
        listed = client.get(url).get_data(as_text=True)
        row = listed[listed.index(case.number) :]
        assert "Raised online by the member" in row[: row.index("</tr>")], url
    detail = client.get(f"/grievances/{case.public_id}").get_data(as_text=True)
    assert WHAT_HAPPENED in detail
    assert "The member asks to be reached by" in detail
    assert "In person, through my steward" in detail
    client.sign_out()

    client.sign_in("other-steward@example.org")
    assert client.get(f"/grievances/{case.public_id}").status_code == 404
    assert case.number not in client.get("/grievances/cases").get_data(as_text=True)


def test_another_members_raised_problem_is_not_found(client, world, make, now):
    colleague = make.member(world.here, account=True)
    theirs = grievances.raise_problem(
        Problem(
            what_happened="Theirs.",
            workplace_id=world.here.id,
            contact_preference=ContactPreference.EMAIL,
        ),
        actor=colleague.user,
        now=now,
    )
    client.sign_in("member@example.org")
    assert client.get(f"/grievances/raised/{theirs.public_id}").status_code == 404
    assert theirs.number not in client.get("/profile").get_data(as_text=True)


def test_the_membership_page_names_the_steward_and_delegate(client, world):
    client.sign_in("member@example.org")
    page = client.get("/profile").get_data(as_text=True)
    assert "Your steward at Here Agency is Test Person." in page
    # The steward took the member's cash dues (the world's receipt).
    assert "Your delegate is Test Person" in page
    assert "steward@example.org" not in page
    assert 'href="/grievances/raise"' in page


def test_a_member_whose_workplace_has_no_steward_is_told_whom_to_turn_to(client, make):
    quiet = make.workplace("Quiet Agency")
    member = make.member(quiet, email="alone@example.org", account=True)
    assert member.user is not None
    client.sign_in("alone@example.org")
    page = html.unescape(client.get("/profile").get_data(as_text=True))
    assert "No steward covers Quiet Agency yet" in page
    assert "the union's admins look after its members" in page
    assert "Any steward can take your dues" in page
    form = client.get("/grievances/raise").get_data(as_text=True)
    assert "No steward covers Quiet Agency yet" in form


def test_a_member_with_no_workplace_is_asked_to_add_one(client, make):
    make.member(email="nowhere@example.org", account=True)
    client.sign_in("nowhere@example.org")
    page = client.get("/grievances/raise").get_data(as_text=True)
    assert "We have no workplace on record for you" in page
    assert 'name="what_happened"' not in page
    assert "/profile/corrections" in page
