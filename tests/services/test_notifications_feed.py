"""Who is told of what, in which language, by which channel, and only once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from union.db import db
from union.errors import InvalidTransition, NotFound
from union.models import (
    AuditEvent,
    ContactPreference,
    GrievanceCategory,
    GrievanceOutcome,
    GrievanceStep,
    Job,
    JobState,
    MemberStatus,
    Notification,
    NotificationChoice,
    NotificationKind,
    PaymentMethod,
    Role,
    SurveyRound,
    User,
    WaiverReason,
)
from union.services import (
    call_list,
    dues,
    grievances,
    jobs,
    ledger,
    members,
    notifications_feed,
    privacy,
    survey,
    waivers,
)
from union.web import handoff


def told(user: User) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
    )


def sent_to(outbox, address):
    return [message for message in outbox if message.to == address]


def test_a_notification_adds_a_row_and_an_email_in_the_readers_words(make, now, outbox):
    user = make.user("reader@example.org")

    notifications_feed.notify(
        [user],
        NotificationKind.GRIEVANCE_CLOSED,
        {"number": "2026-0007", "on": "2026-11-22"},
        about="grievance-1:event-1",
        now=now,
    )
    handoff.commit()

    [row] = told(user)
    assert (row.kind, row.read_at, row.created_at) == (
        NotificationKind.GRIEVANCE_CLOSED,
        None,
        now,
    )
    [message] = outbox
    assert message.to == "reader@example.org"
    assert message.subject == "News about your grievance"
    assert "Grievance 2026-0007 was closed on Nov 22, 2026." in message.body
    assert "http://union.test/grievances/mine" in message.body
    assert "http://union.test/notifications/settings" in message.body


def test_a_french_speaker_is_written_to_in_french(make, now, outbox):
    user = make.user("lecteur@example.org")
    user.locale = "fr"

    notifications_feed.notify(
        [user],
        NotificationKind.GRIEVANCE_MOVED,
        {"number": "2026-0007", "step": "step_1", "on": "2026-11-22"},
        about="grievance-1:event-2",
        now=now,
    )
    handoff.commit()

    [message] = outbox
    assert message.subject == "Du nouveau sur votre grief"
    assert (
        "Le grief 2026-0007 est passé à l'étape «\u00a0Étape 1\u00a0» le 22 nov. 2026."
    ) in message.body
    assert "Bonjour," in message.body


def test_telling_twice_about_the_same_event_tells_once(make, now, outbox):
    user = make.user()
    for _ in range(2):
        notifications_feed.notify(
            [user],
            NotificationKind.SURVEY_OPENED,
            {"round": 1},
            about="round-1",
            now=now,
        )
        handoff.commit()

    assert len(told(user)) == 1
    assert len(outbox) == 1


def test_an_email_job_run_twice_sends_one_email(make, now, outbox):
    user = make.user()
    notifications_feed.notify(
        [user], NotificationKind.SURVEY_OPENED, {"round": 1}, about="round-1", now=now
    )
    job = db.session.scalar(
        sa.select(Job).where(Job.kind == notifications_feed.EMAIL_JOB)
    )
    handoff.commit()
    job.state = JobState.WAITING
    job.run_after = now
    handoff.commit()
    jobs.run(job.id, now=now, waker=handoff.waker())
    jobs.run_due(now=now + timedelta(hours=1), waker=handoff.waker())

    assert len(outbox) == 1


def test_no_email_when_the_choice_is_off_but_the_row_stays(make, now, outbox):
    user = make.user("quiet@example.org")
    make.member(make.workplace(), user=user)
    notifications_feed.set_email_choices(
        user,
        {kind: kind is not NotificationKind.SURVEY_OPENED for kind in NotificationKind},
        now=now,
    )

    notifications_feed.notify(
        [user], NotificationKind.SURVEY_OPENED, {"round": 1}, about="round-1", now=now
    )
    notifications_feed.notify(
        [user],
        NotificationKind.WAIVER_DECIDED,
        {"case": 3, "granted": False},
        about="waiver-3",
        now=now,
    )
    handoff.commit()

    assert [row.kind for row in told(user)] == [
        NotificationKind.SURVEY_OPENED,
        NotificationKind.WAIVER_DECIDED,
    ]
    assert [message.subject for message in outbox] == [
        "Your dues waiver request was decided"
    ]
    choices = notifications_feed.email_choices(user)
    assert choices[NotificationKind.SURVEY_OPENED] is False
    assert choices[NotificationKind.WAIVER_DECIDED] is True


def test_a_member_reached_in_person_gets_no_email_and_is_on_the_call_list(
    make, now, outbox
):
    here, there = make.workplace("Here"), make.workplace("There")
    steward, other = make.steward(here), make.steward(there)
    admin = make.user(roles=(Role.ADMIN,))
    user = make.user("inperson@example.org")
    member = make.member(here, user=user, name="Jo In Person")
    member.contact_preference = ContactPreference.IN_PERSON
    make.member(here, account=True)  # reached by email: not on the list

    notifications_feed.notify(
        [user], NotificationKind.SURVEY_OPENED, {"round": 1}, about="round-1", now=now
    )
    handoff.commit()

    assert outbox == []
    assert len(told(user)) == 1
    [entry] = call_list.call_list_page(steward).items
    assert entry.member.id == member.id
    assert [(item.source, item.kind) for item in entry.items] == [
        ("notification", "survey_opened")
    ]
    assert [e.member.id for e in call_list.call_list_page(admin).items] == [member.id]
    assert call_list.call_list_page(other).items == []
    assert call_list.count_to_call(steward) == 1


def test_told_in_person_marks_what_was_shown_and_is_audited_without_values(make, now):
    here = make.workplace()
    steward = make.steward(here)
    user = make.user()
    member = make.member(here, user=user)
    member.contact_preference = ContactPreference.IN_PERSON
    notifications_feed.notify(
        [user], NotificationKind.SURVEY_OPENED, {"round": 1}, about="round-1", now=now
    )
    later = now + timedelta(minutes=5)
    notifications_feed.notify(
        [user],
        NotificationKind.WAIVER_DECIDED,
        {"case": 4, "granted": False},
        about="waiver-4",
        now=later,
    )

    call_list.told_in_person(
        call_list.member_to_tell(steward, member.public_id),
        shown_at=now,
        actor=steward,
        now=later,
    )

    assert [row.read_at for row in told(user)] == [later, None]
    audit = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "member.told_in_person")
    )
    assert (audit.actor_id, audit.subject_id, audit.detail) == (
        steward.id,
        str(member.id),
        None,
    )


def test_a_steward_cannot_reach_a_member_of_another_workplace(make):
    here, there = make.workplace(), make.workplace()
    other = make.steward(there)
    member = make.member(here, account=True)
    member.contact_preference = ContactPreference.IN_PERSON
    with pytest.raises(NotFound):
        call_list.member_to_tell(other, member.public_id)


# The events ----------------------------------------------------------------------


def test_accepting_tells_the_applicant_once(make, now, outbox):
    here = make.workplace()
    steward = make.steward(here)
    applicant = make.member(
        here, status=MemberStatus.APPLICANT, email="applicant@example.org"
    )

    members.accept_application(applicant, actor=steward, now=now)
    with pytest.raises(InvalidTransition):
        members.accept_application(applicant, actor=steward, now=now)
    handoff.commit()

    [row] = told(applicant.user)
    assert row.kind is NotificationKind.APPLICATION_ACCEPTED
    [message] = outbox
    assert message.to == "applicant@example.org"
    assert message.subject == "Your application to join was accepted"


def test_declining_emails_the_applicant_before_their_account_goes(make, now, outbox):
    here = make.workplace()
    steward = make.steward(here)
    applicant = make.member(
        here, status=MemberStatus.APPLICANT, email="declined@example.org"
    )
    applicant.user.locale = "fr"

    members.decline_application(applicant, actor=steward, now=now)
    handoff.commit()

    [message] = outbox
    assert message.to == "declined@example.org"
    assert message.subject == "Au sujet de votre demande d'adhésion"
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0


def test_grievants_with_accounts_hear_of_each_step_and_never_its_words(
    make, now, outbox
):
    here = make.workplace()
    steward = make.steward(here)
    with_account = make.member(here, email="grievant@example.org")
    without_account = make.member(here)
    bystander = make.member(here, email="bystander@example.org")

    grievance = grievances.open_grievance(
        grievances.NewGrievance(
            workplace_id=here.id,
            details=grievances.GrievanceDetails(
                category=GrievanceCategory.WAGE_DISCREPANCY,
                title="Secret title about Robin",
                what_happened="Something nobody else should read.",
            ),
            grievant_ids=(with_account.id, without_account.id),
        ),
        actor=steward,
        now=now,
    )
    grievances.add_note(grievance, "A private note.", actor=steward, now=now)
    grievances.move_grievance(grievance, GrievanceStep.STEP_1, actor=steward, now=now)
    grievances.close_grievance(
        grievance,
        grievances.Closing(outcome=GrievanceOutcome.WON, remedy_obtained="Back pay."),
        actor=steward,
        now=now,
    )
    handoff.commit()

    rows = told(with_account.user)
    assert [row.kind for row in rows] == [
        NotificationKind.GRIEVANCE_OPENED,
        NotificationKind.GRIEVANCE_MOVED,
        NotificationKind.GRIEVANCE_CLOSED,
    ]
    assert told(bystander.user) == []
    assert {message.to for message in outbox} == {"grievant@example.org"}
    bodies = " ".join(message.subject + message.body for message in outbox)
    assert f"Grievance {grievance.number} moved to Step 1 on Nov 22, 2026." in bodies
    for secret in ("Secret title", "nobody else", "private note", "Back pay", "Won"):
        assert secret not in bodies
    for row in rows:
        assert "Secret" not in row.params and "note" not in row.params


def test_a_decided_waiver_is_told_to_its_member(make, now, outbox):
    member = make.member(make.workplace(), email="waiver@example.org")
    treasurer = make.user(roles=(Role.TREASURER,))
    waiver = waivers.request_waiver(
        member,
        reason=WaiverReason.OTHER,
        first_month=date(2026, 11, 1),
        last_month=date(2026, 12, 1),
        actor=member.user,
        now=now,
    )

    waivers.decide_waiver(waiver, grant=True, actor=treasurer, now=now)
    handoff.commit()

    [row] = told(member.user)
    assert row.kind is NotificationKind.WAIVER_DECIDED
    [message] = outbox
    assert (
        f"Your dues waiver request {waiver.case_number} was granted: "
        "November 2026 to December 2026 are covered."
    ) in message.body


def test_every_payment_sends_a_neutral_receipt_without_who_took_it(make, now, outbox):
    member = make.member(make.workplace(), email="payer@example.org")
    delegate = make.steward(email="delegate@example.org")
    delegate.name = "Delegate Dana"

    cash = ledger.record_hand_payment(
        member,
        method=PaymentMethod.CASH,
        months=2,
        amount_cents=dues.quote(member, 2).total_cents,
        paid_on=now.date(),
        reference=None,
        actor=delegate,
        now=now,
    )
    card = ledger.record_payment(
        member,
        method=PaymentMethod.CARD_SUBSCRIPTION,
        amount_cents=1100,
        months=1,
        paid_on=now.date(),
        now=now,
        stripe_invoice_id="in_receipt",
    )
    handoff.commit()

    assert [row.kind for row in told(member.user)] == [
        NotificationKind.PAYMENT_RECEIVED,
        NotificationKind.PAYMENT_RECEIVED,
    ]
    cash_email, card_email = outbox
    assert cash_email.subject == "Receipt for your union dues"
    assert "Cash" in cash_email.body and "Card, monthly" in card_email.body
    assert "It covers November 2026 to December 2026." in cash_email.body
    assert "It covers January 2027." in card_email.body
    for message in outbox:
        assert "Dana" not in message.body and "delegate" not in message.body
    assert cash.id != card.id


def test_opening_a_round_tells_every_member_in_batches_after_the_request(
    make, now, outbox, monkeypatch
):
    monkeypatch.setattr(notifications_feed, "SURVEY_BATCH", 2)
    here = make.workplace()
    answering = [make.member(here, account=True) for _ in range(5)]
    applicant = make.member(here, account=True, status=MemberStatus.APPLICANT)
    make.member(here)  # no account
    organizer = make.user(roles=(Role.ORGANIZER,))

    survey_round = survey.open_round("Spring 2027", actor=organizer, now=now)
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0
    handoff.commit()

    for member in answering:
        assert [row.kind for row in told(member.user)] == [
            NotificationKind.SURVEY_OPENED
        ]
    assert told(applicant.user) == []
    assert len(outbox) == 5
    batches = db.session.scalars(
        sa.select(Job.key).where(Job.kind == notifications_feed.SURVEY_JOB)
    ).all()
    assert len(batches) == 3
    assert isinstance(survey_round, SurveyRound)


def test_erasing_a_member_removes_what_they_were_told_and_their_choices(make, now):
    member = make.member(make.workplace(), account=True)
    user = member.user
    make.payment(member)
    notifications_feed.set_email_choices(user, {}, now=now)
    admin = make.user(roles=(Role.ADMIN,))
    assert len(told(user)) == 1
    assert (
        notifications_feed.email_choices(user)[NotificationKind.SURVEY_OPENED] is False
    )

    privacy.erase_member(member, actor=admin, now=now, gateway=None)

    assert told(user) == []
    assert (
        db.session.scalar(
            sa.select(sa.func.count(NotificationChoice.id)).where(
                NotificationChoice.user_id == user.id
            )
        )
        == 0
    )


def test_the_email_follows_the_members_wishes_when_it_is_written(make, now, outbox):
    """Between the event and the worker writing its email, one member moved to
    in-person contact and another changed address: each is written to as they
    now wish, and only their notification's own email is ever sent."""
    here = make.workplace("Here")
    moved = make.user("moved@example.org")
    make.member(here, user=moved)
    changed = make.user("old@example.org")
    make.member(here, user=changed)
    notifications_feed.notify(
        [moved, changed],
        NotificationKind.SURVEY_OPENED,
        {"round": 1},
        about="round-1",
        now=now,
    )
    db.session.commit()
    jobs.take_committed()  # the worker has not run yet
    moved.member.contact_preference = ContactPreference.IN_PERSON
    changed.email = "new@example.org"
    db.session.commit()

    jobs.run_due(now=now, waker=handoff.waker())

    assert [message.to for message in outbox] == ["new@example.org"]
    assert len(told(moved)) == 1  # still in the app, and on the call list


def test_a_message_the_union_may_not_write_waits_on_the_call_list(make, now):
    """A member reached by phone gets the union's message through their steward:
    on the list with its words, then marked passed on with one press."""
    from union.models import Channel, DeliveryState, MemberMessage, MessageDelivery
    from union.models.messages import MessageState, SegmentKind

    here = make.workplace("Here")
    steward = make.steward(here)
    member = make.member(here, account=True, name="Sam By Phone")
    member.contact_preference = ContactPreference.PHONE
    message = MemberMessage(
        segment_kind=SegmentKind.WORKPLACE,
        segment_value=str(here.id),
        subject_en="General meeting on Thursday",
        body_en="At the drop-in, 6 pm.",
        state=MessageState.SENT,
        created_at=now,
        sent_at=now,
    )
    db.session.add(message)
    db.session.flush()
    db.session.add(
        MessageDelivery(
            message_id=message.id,
            member_id=member.id,
            channel=Channel.IN_PERSON,
            state=DeliveryState.QUEUED,
        )
    )
    db.session.flush()

    [entry] = call_list.call_list_page(steward).items
    assert entry.member.id == member.id
    [item] = entry.items
    assert (item.source, item.params["subject"]) == (
        "message",
        "General meeting on Thursday",
    )
    call_list.told_in_person(
        call_list.member_to_tell(steward, member.public_id),
        shown_at=now,
        actor=steward,
        now=now,
    )
    assert call_list.call_list_page(steward).items == []
    delivery = db.session.scalar(sa.select(MessageDelivery))
    assert delivery.state is DeliveryState.SENT
