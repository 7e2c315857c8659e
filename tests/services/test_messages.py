"""Messages to members: who gets them (consent, the unsubscribed list, erasure),
in which language, and sending that survives being run twice or paused."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from union.db import db
from union.errors import InvalidTransition, ValidationFailed
from union.models import (
    Channel,
    ConsentSource,
    ContactPreference,
    DeliveryState,
    Job,
    MemberMessage,
    MessageConsent,
    MessageDelivery,
    MessageState,
    Role,
    Sector,
    SegmentKind,
    UnsubscribedContact,
    User,
    email_digest,
)
from union.services import jobs, messages, privacy
from union.services.messages import Draft, Segment
from union.web import handoff


@pytest.fixture
def organizer(make):
    return make.user("organizer@example.org", roles=(Role.ORGANIZER,))


@pytest.fixture
def admin(make):
    return make.user("admin@example.org", roles=(Role.ADMIN,))


def consenting(make, workplace, email, *, locale=None, channel=Channel.EMAIL):
    member = make.member(workplace, email=email)
    member.user.locale = locale
    messages.record_consent(
        member, channel, granted=True, source=ConsentSource.PROFILE, now=make.now
    )
    return member


def to_workplace(workplace, **text):
    return Draft(
        segment=Segment(SegmentKind.WORKPLACE, str(workplace.id)),
        subject_en=text.get("subject_en", "Meeting Thursday"),
        body_en=text.get("body_en", "Come to the meeting at 6."),
        subject_fr=text.get("subject_fr", ""),
        body_fr=text.get("body_fr", ""),
    )


def send(draft, actor, now):
    message = messages.send(draft, actor=actor, now=now, texts_enabled=False)
    handoff.commit()  # inline queue: the jobs run here, as the worker would
    return message


def delivered_to(outbox):
    return sorted(mail.to for mail in outbox)


def test_only_members_who_agreed_get_email(make, organizer, outbox, now):
    here = make.workplace()
    consenting(make, here, "yes@example.org")
    make.member(here, email="never-asked@example.org")
    withdrew = consenting(make, here, "withdrew@example.org")
    messages.record_consent(
        withdrew, Channel.EMAIL, granted=False, source=ConsentSource.PROFILE, now=now
    )
    make.member(make.workplace(), email="elsewhere@example.org")

    message = send(to_workplace(here), organizer, now)

    assert delivered_to(outbox) == ["yes@example.org"]
    assert db.session.get(MemberMessage, message.id).state is MessageState.SENT


def test_the_preview_counts_without_naming_anyone(make, organizer, now):
    here = make.workplace()
    consenting(make, here, "a@example.org")
    consenting(make, here, "b@example.org")
    make.member(here)  # no account: in person

    reach = messages.preview(
        Segment(SegmentKind.WORKPLACE, str(here.id)), now=now, texts_enabled=False
    )

    assert (reach.email, reach.text, reach.in_person, reach.total) == (2, 0, 1, 3)


def test_the_email_carries_a_one_click_unsubscribe(make, organizer, outbox, now):
    here = make.workplace()
    consenting(make, here, "robin@example.org")

    send(to_workplace(here), organizer, now)

    (mail,) = outbox
    link, mailto = mail.headers["List-Unsubscribe"].split(", ")
    assert link.startswith("<http://union.test/unsubscribe/")
    assert mailto.startswith("<mailto:union@example.org?subject=unsubscribe")
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.strip("<>") in mail.body
    assert mail.message_id and "robin" not in mail.message_id


def test_a_french_reader_gets_the_french_version_and_falls_back_to_english(
    make, organizer, outbox, now
):
    here = make.workplace()
    consenting(make, here, "camille@example.org", locale="fr")
    consenting(make, here, "sam@example.org", locale="en")
    bilingual = to_workplace(
        here, subject_fr="Réunion jeudi", body_fr="Venez à la réunion à 18 h."
    )

    send(bilingual, organizer, now)
    by_reader = {mail.to: mail for mail in outbox}
    assert by_reader["camille@example.org"].subject == "Réunion jeudi"
    assert "Venez à la réunion" in by_reader["camille@example.org"].body
    assert "Arrêter ces courriels" in by_reader["camille@example.org"].body
    assert by_reader["sam@example.org"].subject == "Meeting Thursday"
    assert "Stop these emails" in by_reader["sam@example.org"].body

    outbox.clear()
    send(to_workplace(here, subject_en="English only"), organizer, now)
    french_reader = next(m for m in outbox if m.to == "camille@example.org")
    assert french_reader.subject == "English only"
    # The text around the message is still in the reader's language.
    assert "Arrêter ces courriels" in french_reader.body


def test_an_erased_member_is_never_written_to_again(make, admin, outbox, now):
    here = make.workplace()
    member = consenting(make, here, "gone@example.org")
    privacy.erase_member(member, actor=admin, now=now, gateway=None)
    assert db.session.get(UnsubscribedContact, email_digest("gone@example.org"))
    assert not db.session.scalars(
        sa.select(MessageConsent).where(MessageConsent.member_id == member.id)
    ).all()

    # They join again with the same address, and an admin (wrongly) records
    # consent for them by hand: the hash still keeps messages away until they
    # agree again themselves, on their own page.
    returning = make.member(here, email="gone@example.org")
    db.session.add(
        MessageConsent(
            member_id=returning.id,
            channel=Channel.EMAIL,
            granted=True,
            at=now,
            source=ConsentSource.ADMIN,
        )
    )
    consenting(make, here, "still-here@example.org")
    send(to_workplace(here), admin, now)
    assert delivered_to(outbox) == ["still-here@example.org"]

    outbox.clear()
    messages.record_consent(
        returning, Channel.EMAIL, granted=True, source=ConsentSource.PROFILE, now=now
    )
    send(to_workplace(here), admin, now)
    assert delivered_to(outbox) == ["gone@example.org", "still-here@example.org"]


def test_a_segment_that_reaches_nobody_queues_nothing(make, organizer, now):
    here = make.workplace()
    make.member(here, email="no-consent@example.org")

    with pytest.raises(ValidationFailed) as refused:
        messages.send(to_workplace(here), actor=organizer, now=now, texts_enabled=False)

    assert "Nobody in that group" in refused.value.errors["segment"][0]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_an_organizer_cannot_write_to_everyone(make, organizer, admin, now):
    consenting(make, make.workplace(), "a@example.org")
    everyone = Draft(Segment(SegmentKind.EVERYONE), "Hello", "Everyone")

    with pytest.raises(ValidationFailed) as refused:
        messages.send(everyone, actor=organizer, now=now, texts_enabled=False)
    assert "segment" in refused.value.errors
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0

    assert messages.send(everyone, actor=admin, now=now, texts_enabled=False)


def test_a_pending_or_unknown_workplace_is_refused(make, organizer, now):
    from union.models import WorkplaceStatus

    pending = make.workplace(status=WorkplaceStatus.PENDING)
    consenting(make, pending, "a@example.org")
    for segment in (
        Segment(SegmentKind.WORKPLACE, str(pending.id)),
        Segment(SegmentKind.WORKPLACE, "999999"),
        Segment(SegmentKind.SECTOR, "casino"),
        None,
    ):
        with pytest.raises(ValidationFailed):
            messages.check_segment(organizer, segment)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ({"subject_en": "  "}, "subject_en"),
        ({"body_en": ""}, "body_en"),
        ({"subject_en": "x" * 151}, "subject_en"),
        ({"body_en": "x" * 10_001}, "body_en"),
        ({"subject_fr": "Seulement le sujet"}, "body_fr"),
    ],
)
def test_empty_or_oversized_text_is_refused(make, organizer, now, text, field):
    here = make.workplace()
    consenting(make, here, "a@example.org")
    with pytest.raises(ValidationFailed) as refused:
        messages.send(
            to_workplace(here, **text), actor=organizer, now=now, texts_enabled=False
        )
    assert field in refused.value.errors
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_a_sector_and_good_standing_reach_the_right_members(make, admin, now):
    shelter = make.workplace(sector=Sector.SHELTER)
    outreach = make.workplace(sector=Sector.OUTREACH)
    paid_up = consenting(make, shelter, "paid@example.org")
    make.payment(paid_up, months=1)
    behind = consenting(make, outreach, "behind@example.org")
    behind.joined_on = now.date().replace(year=now.year - 1)
    db.session.flush()

    def reach(segment):
        return messages.preview(segment, now=now, texts_enabled=False).email

    assert reach(Segment(SegmentKind.SECTOR, Sector.SHELTER.value)) == 1
    assert reach(Segment(SegmentKind.GOOD_STANDING)) == 1
    assert reach(Segment(SegmentKind.EVERYONE)) == 2


def batch_job(message):
    return db.session.scalars(
        sa.select(Job).where(Job.kind == messages.BATCH_JOB)
    ).all()


def test_running_a_batch_twice_sends_each_email_once(make, organizer, outbox, now):
    here = make.workplace()
    for number in range(3):
        consenting(make, here, f"m{number}@example.org")
    message = send(to_workplace(here), organizer, now)
    assert len(outbox) == 3

    (job,) = batch_job(message)
    from union.web.member_messages import _send_batch

    _send_batch({**json.loads(job.payload), jobs.KEY_FIELD: job.key}, now)
    db.session.commit()

    assert len(outbox) == 3
    states = db.session.scalars(
        sa.select(MessageDelivery.state).where(MessageDelivery.message_id == message.id)
    ).all()
    assert states == [DeliveryState.SENT] * 3


def test_pausing_stops_mid_way_and_resuming_finishes(
    make, organizer, outbox, now, app, monkeypatch
):
    here = make.workplace()
    for number in range(5):
        consenting(make, here, f"m{number}@example.org")
    mailer = app.extensions["union_mailer"]
    real_send = mailer.send
    message_ids: list[int] = []
    organizer_id = organizer.id

    def pause_after_two(mail):
        # The organizer presses Pause while the batch runs (in the job's own
        # session, as a request would have its own).
        real_send(mail)
        if len(outbox) == 2:
            message = db.session.get(MemberMessage, message_ids[0])
            author = db.session.get(User, organizer_id)
            messages.pause(message, actor=author, now=now)
            db.session.commit()

    monkeypatch.setattr(mailer, "send", pause_after_two)
    monkeypatch.setattr(messages, "BATCH_SIZE", 5)
    message = messages.send(
        to_workplace(here), actor=organizer, now=now, texts_enabled=False
    )
    message_ids.append(message.id)
    handoff.commit()

    assert len(outbox) == 2
    message = db.session.get(MemberMessage, message.id, populate_existing=True)
    assert message.state is MessageState.PAUSED
    progress = messages.progress(message)
    assert (progress.sent, progress.queued) == (2, 3)

    monkeypatch.setattr(mailer, "send", real_send)
    messages.resume(message, actor=organizer, now=now)
    handoff.commit()

    assert len(outbox) == 5
    assert len(set(delivered_to(outbox))) == 5
    message = db.session.get(MemberMessage, message.id, populate_existing=True)
    assert message.state is MessageState.SENT
    with pytest.raises(InvalidTransition):
        messages.resume(message, actor=organizer, now=now)


def test_a_mail_server_failure_puts_the_copy_back_for_the_retry(
    make, organizer, outbox, now, app, monkeypatch
):
    here = make.workplace()
    consenting(make, here, "a@example.org")
    mailer = app.extensions["union_mailer"]

    def refuse(mail):
        raise ConnectionRefusedError

    monkeypatch.setattr(mailer, "send", refuse)
    message = send(to_workplace(here), organizer, now)
    progress = messages.progress(message)
    assert (progress.sent, progress.queued) == (0, 1)
    (job,) = batch_job(message)
    assert job.error_class == "ConnectionRefusedError"


def test_withdrawing_consent_after_addressing_skips_the_copy(
    make, organizer, outbox, now, monkeypatch
):
    here = make.workplace()
    stays = consenting(make, here, "stays@example.org")
    leaves = consenting(make, here, "leaves@example.org")
    message = messages.send(
        to_workplace(here), actor=organizer, now=now, texts_enabled=False
    )
    messages.address(message.id, now=now, texts_enabled=False)
    messages.unsubscribe(leaves, Channel.EMAIL, now=now)
    handoff.commit()

    assert delivered_to(outbox) == ["stays@example.org"]
    progress = messages.progress(message)
    assert (progress.sent, progress.skipped) == (1, 1)
    del stays


def test_in_person_members_wait_on_the_call_list(make, organizer, outbox, now):
    here = make.workplace()
    by_email = consenting(make, here, "mail@example.org")
    in_person = make.member(here)
    asked_for_texts = consenting(make, here, "texts@example.org", channel=Channel.TEXT)
    asked_for_texts.contact_preference = ContactPreference.TEXT
    asked_for_texts.phone = "+1 514 555 0100"
    message = send(to_workplace(here), organizer, now)

    waiting = messages.waiting_in_person(
        [by_email.id, in_person.id, asked_for_texts.id]
    )
    assert set(waiting) == {in_person.id, asked_for_texts.id}
    assert waiting[in_person.id][0].message_id == message.id
    assert delivered_to(outbox) == ["mail@example.org"]
    # The message is sent once every email is; the call list keeps the others.
    assert db.session.get(MemberMessage, message.id).state is MessageState.SENT

    assert messages.told_in_person(waiting[in_person.id][0].delivery_id, now=now)
    assert not messages.told_in_person(waiting[in_person.id][0].delivery_id, now=now)
    assert set(messages.waiting_in_person([in_person.id, asked_for_texts.id])) == {
        asked_for_texts.id
    }


def test_a_large_message_is_split_into_batches_that_cover_everyone_once(
    make, organizer, outbox, now, monkeypatch
):
    monkeypatch.setattr(messages, "BATCH_SIZE", 2)
    here = make.workplace()
    for number in range(5):
        consenting(make, here, f"m{number}@example.org")
    make.member(here)  # in person: in no batch

    message = send(to_workplace(here), organizer, now)

    ranges = sorted(
        (payload["first"], payload["last"])
        for payload in (json.loads(job.payload) for job in batch_job(message))
    )
    emailed = db.session.scalars(
        sa.select(MessageDelivery.id)
        .where(
            MessageDelivery.message_id == message.id,
            MessageDelivery.channel == Channel.EMAIL,
        )
        .order_by(MessageDelivery.id)
    ).all()
    assert ranges == [
        (emailed[0], emailed[1]),
        (emailed[2], emailed[3]),
        (emailed[4], emailed[4]),
    ]
    assert len(outbox) == 5 and len(set(delivered_to(outbox))) == 5


def test_the_message_counts_who_it_was_addressed_to(make, organizer, now):
    here = make.workplace()
    consenting(make, here, "a@example.org")
    make.member(here)
    message = send(to_workplace(here), organizer, now)
    assert db.session.get(MemberMessage, message.id).recipients == 2
