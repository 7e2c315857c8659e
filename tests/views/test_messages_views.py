"""Writing to members through the pages: the confirm step says how many, bad input
gets a clear message and queues nothing, the unsubscribe link works with one
click (RFC 8058) and from its page, and members choose on their own page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.conftest import hidden_fields
from union.db import db
from union.models import (
    Channel,
    ConsentSource,
    Job,
    MemberMessage,
    MessageConsent,
    MessageState,
    Role,
    UnsubscribedContact,
    User,
    email_digest,
)
from union.services import messages

ORGANIZER = "organizer@example.org"


@pytest.fixture
def union(make):
    here = make.workplace("Here Agency")
    make.user(ORGANIZER, roles=(Role.ORGANIZER,))
    make.user("admin@example.org", roles=(Role.ADMIN,))
    robin = make.member(here, email="robin@example.org", account=True)
    messages.record_consent(
        robin, Channel.EMAIL, granted=True, source=ConsentSource.PROFILE, now=make.now
    )
    camille = make.member(here, email="camille@example.org", account=True)
    camille.user.locale = "fr"
    messages.record_consent(
        camille,
        Channel.EMAIL,
        granted=True,
        source=ConsentSource.PROFILE,
        now=make.now,
    )
    make.member(here)  # in person
    db.session.commit()
    return here


def compose(here, **changes):
    return {
        "segment": f"workplace:{here.id}",
        "subject_en": "Meeting Thursday",
        "body_en": "Come to the meeting at 6.",
        "subject_fr": "Réunion jeudi",
        "body_fr": "Venez à la réunion à 18 h.",
        **changes,
    }


def jobs_recorded():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Job))


def test_an_organizer_sends_to_a_workplace_after_seeing_how_many(client, union, outbox):
    client.sign_in(ORGANIZER)
    asking = client.submit("/messages/new", compose(union))
    page = asking.get_data(as_text=True)
    assert "Send this message to 3 people?" in page
    assert "2 by email" in page
    assert "1 in person" in page
    assert "robin@example.org" not in page
    assert jobs_recorded() == 0  # nothing until confirmed

    sent = client.submit_and_confirm("/messages/new", compose(union))
    assert sent.status_code == 302
    message = db.session.scalar(sa.select(MemberMessage))
    assert sent.headers["Location"].endswith(f"/messages/{message.id}")
    by_reader = {mail.to: mail.subject for mail in outbox}
    assert by_reader == {
        "robin@example.org": "Meeting Thursday",
        "camille@example.org": "Réunion jeudi",
    }

    detail = client.get(f"/messages/{message.id}").get_data(as_text=True)
    assert "2 sent" in detail
    assert "1 to be told in person" in detail
    assert "robin@example.org" not in detail


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"subject_en": ""}, "Write a subject."),
        ({"body_en": "   "}, "Write the message."),
        ({"subject_en": "x" * 151}, "Keep the subject to 150 characters."),
        ({"body_en": "x" * 10_001}, "Keep the message to 10,000 characters."),
        ({"segment": ""}, "Choose who the message is for."),
        ({"segment": "everyone"}, "not to that group"),
        ({"segment": "good_standing"}, "not to that group"),
        ({"segment": "workplace:999999"}, "You can&#39;t write to that workplace"),
        ({"segment": "sector:casino"}, "Choose a sector from the list."),
        ({"segment": "sector:shelter"}, "Nobody in that group can get this message"),
    ],
)
def test_bad_input_gets_a_clear_message_and_queues_nothing(
    client, union, changes, says
):
    client.sign_in(ORGANIZER)
    response = client.submit("/messages/new", compose(union, **changes))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert says in page
    assert "Please check this" in page
    # What was typed is still there.
    if "body_en" not in changes:
        assert "Come to the meeting at 6." in page
    assert jobs_recorded() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MemberMessage)) == 0


def test_going_back_from_the_question_keeps_what_was_written(client, union, outbox):
    client.sign_in(ORGANIZER)
    asking = client.submit("/messages/new", compose(union))
    page = asking.get_data(as_text=True)
    assert 'name="going_back" value="yes"' in page

    # "Cancel and go back" posts the form as it was sent, with its own name.
    back = client.post(
        "/messages/new", data={**hidden_fields(page), "going_back": "yes"}
    )

    assert back.status_code == 200
    form = back.get_data(as_text=True)
    assert "<h1>Write a message</h1>" in form
    for written in ("Meeting Thursday", "Come to the meeting at 6.", "Réunion jeudi"):
        assert written in form
    assert f'<option selected value="workplace:{union.id}">' in form
    assert jobs_recorded() == 0
    assert outbox == []

    # Sent from there, after all, it asks again and goes once.
    sent = client.submit_and_confirm("/messages/new", compose(union))
    assert sent.status_code == 302
    assert len(outbox) == 2


def test_an_admin_may_write_to_everyone(client, union, outbox):
    client.sign_in("admin@example.org")
    client.submit_and_confirm("/messages/new", compose(union, segment="everyone"))
    assert len(outbox) == 2


def test_the_preview_button_counts_and_sends_nothing(client, union):
    client.sign_in(ORGANIZER)
    page = client.submit(
        "/messages/new", {**compose(union), "preview": "yes"}
    ).get_data(as_text=True)
    assert "This message reaches 3 people" in page
    assert jobs_recorded() == 0


def unsubscribe_link(mail):
    return re.search(r"<(http[^>]+)>", mail.headers["List-Unsubscribe"]).group(1)


def test_one_click_unsubscribe_from_the_email_header(client, union, outbox):
    client.sign_in(ORGANIZER)
    client.submit_and_confirm("/messages/new", compose(union))
    robin_mail = next(mail for mail in outbox if mail.to == "robin@example.org")
    link = unsubscribe_link(robin_mail)
    client.sign_out()
    assert robin_mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # What a mail client posts, with no cookie and no CSRF token (RFC 8058).
    response = client.post(
        link.removeprefix("http://union.test"),
        data={"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == 204
    assert db.session.get(UnsubscribedContact, email_digest("robin@example.org"))
    consent = db.session.scalar(
        sa.select(MessageConsent).where(
            MessageConsent.source == ConsentSource.UNSUBSCRIBE_LINK
        )
    )
    assert consent is not None
    assert (consent.channel, consent.granted) == (Channel.EMAIL, False)

    outbox.clear()
    client.sign_in(ORGANIZER)
    client.submit_and_confirm("/messages/new", compose(union, subject_en="Again"))
    assert [mail.to for mail in outbox] == ["camille@example.org"]


def test_a_post_to_the_link_without_one_click_needs_the_pages_token(
    client, union, outbox
):
    client.sign_in(ORGANIZER)
    client.submit_and_confirm("/messages/new", compose(union))
    link = unsubscribe_link(outbox[0]).removeprefix("http://union.test")
    client.sign_out()

    forged = client.post(link, data={"List-Unsubscribe": "yes"})
    assert forged.status_code == 400
    assert db.session.scalar(sa.select(UnsubscribedContact)) is None

    # A link scanner's GET changes nothing; the page's button does.
    asking = client.get(link)
    assert asking.status_code == 200
    assert db.session.scalar(sa.select(UnsubscribedContact)) is None
    done = client.submit(link, {}, page=link)
    assert "you will get no more emails" in done.get_data(as_text=True)
    assert db.session.scalar(sa.select(UnsubscribedContact)) is not None


def test_the_link_still_works_after_the_member_changes_email(client, union, outbox):
    client.sign_in(ORGANIZER)
    client.submit_and_confirm("/messages/new", compose(union))
    robin_mail = next(mail for mail in outbox if mail.to == "robin@example.org")
    link = unsubscribe_link(robin_mail).removeprefix("http://union.test")
    client.sign_out()
    user = db.session.scalar(
        sa.select(User).where(User.email_hash == email_digest("robin@example.org"))
    )
    user.email = "robin.new@example.org"
    db.session.commit()

    client.post(link, data={"List-Unsubscribe": "One-Click"})
    assert db.session.get(UnsubscribedContact, email_digest("robin.new@example.org"))


def test_a_broken_link_says_so(client, union):
    response = client.get("/unsubscribe/not-a-token")
    assert response.status_code == 400
    assert "This link doesn't work any more" in response.get_data(as_text=True)


def test_a_member_changes_their_choices_on_their_page(client, union, make):
    client.sign_in("robin@example.org")
    profile = client.get("/profile").get_data(as_text=True)
    assert "/messages/my-choices" in profile
    page = client.get("/messages/my-choices").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*name="email"', page)
    assert not re.search(r'<input[^>]*checked[^>]*name="text"', page)

    client.submit("/messages/my-choices", {"text": "y"})
    robin = db.session.scalar(
        sa.select(MessageConsent).where(
            MessageConsent.channel == Channel.EMAIL,
            MessageConsent.source == ConsentSource.PROFILE,
            MessageConsent.granted.is_(False),
        )
    )
    assert robin is not None
    assert db.session.get(UnsubscribedContact, email_digest("robin@example.org"))

    client.submit("/messages/my-choices", {"email": "y"})
    assert (
        db.session.get(UnsubscribedContact, email_digest("robin@example.org")) is None
    )


def test_a_sent_message_cannot_be_paused(client, union, outbox):
    client.sign_in(ORGANIZER)
    client.submit_and_confirm("/messages/new", compose(union))
    message = db.session.scalar(sa.select(MemberMessage))
    assert message.state is MessageState.SENT

    paused = client.submit(
        f"/messages/{message.id}/pause", {}, page=f"/messages/{message.id}"
    )
    assert paused.status_code == 302
    flashed = client.get(f"/messages/{message.id}").get_data(as_text=True)
    assert "Only a message that is being sent can be paused." in flashed


@pytest.mark.parametrize(
    ("reader", "language", "footer", "page_says", "done_says"),
    [
        (
            "robin@example.org",
            "en",
            "Stop these emails with one click:",
            "Stop getting union messages by email?",
            "you will get no more emails",
        ),
        (
            "camille@example.org",
            "fr",
            "Arrêter ces courriels en un clic\u00a0:",
            "Ne plus recevoir les messages du syndicat par courriel\u00a0?",
            "vous ne recevrez plus de courriels",
        ),
    ],
)
def test_each_reader_unsubscribes_in_their_language_and_gets_nothing_more(
    client, union, outbox, reader, language, footer, page_says, done_says
):
    client.sign_in(ORGANIZER)
    client.submit_and_confirm("/messages/new", compose(union))
    mail = next(mail for mail in outbox if mail.to == reader)
    assert footer in mail.body
    link = unsubscribe_link(mail).removeprefix("http://union.test")
    client.sign_out()

    headers = {"Accept-Language": language}
    assert page_says in client.get(link, headers=headers).get_data(as_text=True)
    done = client.submit(link, {}, page=link, headers=headers)
    assert done_says in done.get_data(as_text=True)

    outbox.clear()
    client.sign_in(ORGANIZER)
    client.submit_and_confirm("/messages/new", compose(union, subject_en="Again"))
    assert reader not in [mail.to for mail in outbox]
    assert len(outbox) == 1


def joining(make, **ticked):
    workplace = make.workplace("Riverside CHC")
    return {
        "chosen_name": "Sky",
        "legal_name": "",
        "pronouns": "",
        "email": "sky@example.org",
        "phone": "",
        "contact_preference": "email",
        "membership_class": "employed",
        "workplace": str(workplace.id),
        "new_employer": "",
        "new_site": "",
        "classification": "",
        "dues_level": str(make.level("regular").id),
        **ticked,
    }


def test_consent_given_on_the_joining_form_is_recorded_with_its_source(
    client, make, now
):
    response = client.submit("/join", joining(make, messages_by_email="y"))
    assert response.status_code == 302
    [consent] = db.session.scalars(sa.select(MessageConsent)).all()
    assert (consent.channel, consent.granted) == (Channel.EMAIL, True)
    assert (consent.source, consent.at) == (ConsentSource.JOINING_FORM, now)


def test_nothing_is_ticked_for_someone_joining(client, make):
    page = client.get("/join").get_data(as_text=True)
    assert not re.search(r'<input[^>]*checked[^>]*name="messages_by', page)
    client.submit("/join", joining(make))
    assert db.session.scalars(sa.select(MessageConsent)).all() == []
