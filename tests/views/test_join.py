import re

import pytest
import sqlalchemy as sa

from tests.conftest import without_csrf_tokens
from union.db import db
from union.models import Member, MemberStatus, Role, User, Workplace, WorkplaceStatus
from union.services import settings


@pytest.fixture
def form(make):
    workplace = make.workplace("Riverside CHC", site="Consumption site")
    job = make.classification("Peer worker")
    return {
        "chosen_name": "Robin",
        "legal_name": "",
        "pronouns": "they/them",
        "email": "robin@example.org",
        "phone": "",
        "contact_preference": "email",
        "membership_class": "employed",
        "workplace": str(workplace.id),
        "new_employer": "",
        "new_site": "",
        "classification": str(job.id),
        "dues_level": str(make.level("regular").id),
    }


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def link_in(message):
    return re.search(r"http://union\.test(/\S+)", message.body).group(1)


def test_the_join_page_lists_levels_with_their_brackets_and_only_public_workplaces(
    client, make, form
):
    make.workplace("Secret Campaign Site", listed=False)
    make.workplace("Typed In Place", status=WorkplaceStatus.PENDING)
    page = client.get("/join").get_data(as_text=True)
    assert "$22.00 a month: $2,000 to $3,500 a month" in page
    assert "$6.00 a month" in page
    assert "Riverside CHC \u2013 Consumption site" in page
    assert "Secret Campaign Site" not in page
    assert "Typed In Place" not in page
    assert "isn&#39;t listed" in page or "isn't listed" in page


def test_joining_sends_a_link_that_leads_to_a_member_number_and_next_steps(
    client, form, outbox
):
    response = client.submit("/join", form)
    assert (response.status_code, response.headers["Location"]) == (302, "/join/sent")
    assert "Check your email" in client.get("/join/sent").get_data(as_text=True)
    [message] = outbox
    assert message.to == "robin@example.org"
    member = db.session.scalar(sa.select(Member))
    assert member.status is MemberStatus.APPLICANT
    assert member.pronouns == "they/them"

    link = link_in(message)
    response = client.submit(
        link, {"password": "a long passphrase", "confirm": "a long passphrase"}
    )
    assert response.headers["Location"] == "/welcome"
    welcome = client.get("/welcome").get_data(as_text=True)
    assert str(member.member_number) in welcome
    assert "What happens next" in welcome or "what happens next" in welcome
    assert client.get("/profile").status_code == 200


def test_a_join_link_works_once(client, form, outbox):
    client.submit("/join", form)
    link = link_in(outbox[0])
    client.submit(
        link, {"password": "a long passphrase", "confirm": "a long passphrase"}
    )
    client.submit("/logout", page="/account")
    again = client.get(link)
    assert again.status_code == 400


def test_with_auto_accept_the_applicant_is_active_once_their_email_is_confirmed(
    client, make, form, outbox
):
    settings.update_settings(
        {"auto_accept_applicants": True},
        actor=make.user(roles=(Role.ADMIN,)),
        now=make.now,
    )
    client.submit("/join", form)
    client.submit(
        link_in(outbox[0]),
        {"password": "a long passphrase", "confirm": "a long passphrase"},
    )
    db.session.expire_all()
    assert db.session.scalar(sa.select(Member.status)) is MemberStatus.ACTIVE


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"chosen_name": ""}, "Tell us what to call you."),
        ({"chosen_name": "x" * 101}, "Keep this under 100 characters."),
        ({"email": ""}, "Enter your email."),
        (
            {"email": "robin at example"},
            "Enter an email address like name@example.org.",
        ),
        ({"phone": "call me"}, "Enter a phone number using digits"),
        (
            {"contact_preference": "text"},
            "Add a phone number, or choose another way to reach you.",
        ),
        ({"contact_preference": "pigeon"}, "Not a valid choice"),
        ({"workplace": ""}, "Choose your workplace, or choose"),
        ({"workplace": "99999"}, "Choose a workplace from the list."),
        ({"workplace": "not-listed"}, "Tell us the name of your employer."),
        ({"classification": "99999"}, "Choose a job from the list."),
        ({"dues_level": ""}, "Choose a dues level."),
        ({"dues_level": "99999"}, "Not a valid choice"),
        ({"pronouns": "p" * 41}, "Keep this under 40 characters."),
    ],
)
def test_each_bad_answer_gets_a_clear_message_and_nothing_is_saved(
    client, form, outbox, change, message
):
    response = client.submit("/join", {**form, **change})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page.replace("&#39;", "'").replace("&#34;", '"')
    assert 'class="error-summary"' in page
    assert (count(Member), count(User), outbox) == (0, 0, [])
    assert 'value="Robin"' in page or change.get("chosen_name") is not None


def test_every_problem_shows_on_the_first_try(client, form, outbox):
    """A missing name (the form's check) and a missing workplace (the service's)
    in the same application: both are named at once, not one per try."""
    response = client.submit(
        "/join",
        {
            **form,
            "chosen_name": "",
            "workplace": "",
            "classification": "99999",
            "contact_preference": "text",
            "dues_level": "",
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True).replace("&#39;", "'")
    summary = page[page.index('class="error-summary"') :]
    for message in (
        "Tell us what to call you.",
        "Choose your workplace, or choose",
        "Choose a job from the list.",
        "Add a phone number, or choose another way to reach you.",
        "Choose a dues level.",
    ):
        assert message in summary, message
    # The form and the service both require a name: it is said once.
    assert page.count("Tell us what to call you.") == 2  # summary and field
    assert (count(Member), count(User), outbox) == (0, 0, [])


def test_a_tampered_choice_is_reported_beside_the_other_problems(client, form):
    response = client.submit(
        "/join",
        {**form, "membership_class": "pirate", "workplace": "", "dues_level": "x"},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert "Not a valid choice" in page
    assert "Choose your workplace, or choose" in page
    assert count(Member) == 0


def test_a_workplace_that_isnt_listed_is_created_for_an_organizer(client, form):
    client.submit(
        "/join",
        {
            **form,
            "workplace": "not-listed",
            "new_employer": "Westend Van",
            "new_site": "Nights",
        },
    )
    workplace = db.session.scalar(
        sa.select(Workplace).where(Workplace.employer == "Westend Van")
    )
    assert workplace.status is WorkplaceStatus.PENDING


def test_joining_with_a_used_email_looks_exactly_like_a_new_join(
    client, make, form, outbox
):
    make.user("taken@example.org")
    fresh = client.submit("/join", {**form, "email": "fresh@example.org"})
    fresh_page = client.get(fresh.headers["Location"]).get_data(as_text=True)
    before = (count(Member), count(User))
    other_browser = client.application.test_client()
    taken = other_browser.submit(
        "/join", {**form, "email": "Taken@example.org", "chosen_name": "Impostor"}
    )
    taken_page = other_browser.get(taken.headers["Location"]).get_data(as_text=True)

    assert (fresh.status_code, fresh.headers["Location"]) == (
        taken.status_code,
        taken.headers["Location"],
    )
    assert fresh.get_data() == taken.get_data()
    # Each browser has its own CSRF token (in the language switch); nothing else differs.
    assert without_csrf_tokens(fresh_page) == without_csrf_tokens(taken_page)
    assert (count(Member), count(User)) == before
    assert [m.to for m in outbox] == ["fresh@example.org", "taken@example.org"]
    assert "already has an account" in outbox[1].body
    assert "Impostor" not in outbox[1].body


def test_a_signed_in_member_is_sent_to_their_profile_instead(client, make):
    make.member(make.workplace(), user=make.user("m@example.org", name=None))
    client.sign_in("m@example.org")
    assert client.get("/join").headers["Location"] == "/profile"


class BrokenMailer:
    def send(self, message):
        raise ConnectionRefusedError("smtp is down")


def test_a_mail_outage_keeps_the_application_and_logs_no_address(
    client, app, form, caplog, monkeypatch
):
    monkeypatch.setitem(app.extensions, "union_mailer", BrokenMailer())
    response = client.submit("/join", form)
    assert response.headers["Location"] == "/join/sent"
    assert count(Member) == 1
    assert "(email) failed on attempt 1: ConnectionRefusedError" in caplog.text
    assert "robin@example.org" not in caplog.text


def _served_without_close(client, form):
    """Posts the form and reads the answer as a server writes it, then drops the
    connection without closing the response, as Werkzeug's development server does
    when the browser resets it right after a redirect."""
    response = client.submit("/join", form, buffered=False)
    assert response.status_code == 302
    for _chunk in response.response:
        pass


def test_a_join_is_recorded_and_emailed_even_when_the_server_never_closes_the_answer(
    client, form, outbox
):
    _served_without_close(client, form)
    assert [message.to for message in outbox] == ["robin@example.org"]
    assert count(Member) == 1


def test_without_the_wrapper_such_a_server_loses_the_join(
    app, client, form, outbox, monkeypatch
):
    # The control: the server's behaviour is real, and the wrapper is what saves it.
    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app.app)
    _served_without_close(client, form)
    assert outbox == []
    assert count(Member) == 0


def test_a_server_that_closes_the_answer_unread_runs_its_work_once(
    client, form, outbox
):
    response = client.submit("/join", form, buffered=False)
    response.close()
    response.close()
    assert [message.to for message in outbox] == ["robin@example.org"]
    assert count(Member) == 1
