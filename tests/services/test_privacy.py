"""Members' rights: everything held about them, corrections, leaving; the breach
register."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests.factories import PASSWORD
from union import clock
from union.db import db
from union.errors import ValidationFailed
from union.models import (
    AccountToken,
    AuditEvent,
    CalendarFeed,
    Channel,
    CheckoutAttempt,
    ConsentSource,
    ContactPreference,
    CorrectionRequest,
    CorrectionStatus,
    DuesCoverage,
    DuesNotice,
    DuesPayment,
    DuesSubscription,
    DuesWaiver,
    LoginSession,
    MemberStatus,
    MessageConsent,
    NoticeKind,
    PaymentMethod,
    Role,
    RoleGrant,
    RoundStatus,
    StewardAssignment,
    SurveyReceipt,
    SurveyRound,
    TokenPurpose,
    WaiverReason,
    grievance_grievants,
)
from union.rules.disclosure import DEFAULT_RULES
from union.services import (
    accounts,
    grievance_releases,
    grievances,
    messages,
    privacy,
    treasury,
    waivers,
)
from union.services.card_dues import CardPaymentsUnavailable
from union.services.grievance_releases import Quarter

DAY = timedelta(days=1)


@pytest.fixture
def full_member(make, now):
    """A member with something in every place personal information can be."""
    workplace = make.workplace("Harbour Agency")
    job = make.classification("Outreach worker")
    user = make.user("quinn.canary@example.org", name=None)
    member = make.member(workplace, user=user, name="Quinn Canary", classification=job)
    member.legal_name = "Quinn Q. Canary"
    member.pronouns = "they/them"
    member.phone = "416 555 0199"
    member.contact_preference = ContactPreference.TEXT
    messages.record_consent(
        member, Channel.TEXT, granted=True, source=ConsentSource.JOINING_FORM, now=now
    )
    member.employments[0].started_on = date(2024, 5, 1)
    make.payment(member, 2)
    waivers.request_waiver(
        member,
        reason=WaiverReason.ILLNESS_OR_INJURY,
        first_month=date(2027, 1, 1),
        last_month=date(2027, 2, 1),
        actor=user,
        now=now,
    )
    user.role_grants.append(RoleGrant(role=Role.STEWARD, granted_at=now))
    db.session.add(StewardAssignment(user=user, workplace=workplace, assigned_at=now))
    accounts.start_login_session(user, now=now, max_age=DAY)
    accounts.issue_token(user, TokenPurpose.RESET, now=now, lifetime=DAY)
    grievances.create_calendar_feed(actor=user, now=now)
    db.session.add(
        CheckoutAttempt(
            public_id="attempt1",
            member_id=member.id,
            kind="one_off",
            months=1,
            amount_cents=1100,
        )
    )
    db.session.add(
        DuesNotice(member_id=member.id, kind=NoticeKind.DUES_REMINDER, key="2026-10")
    )
    privacy.request_correction(member, "My job title is wrong.", actor=user, now=now)
    steward = make.steward(workplace)
    other = make.member(workplace, name="Other Grievant")
    grievance = make.grievance(workplace, steward=steward, grievants=[member, other])
    make.note(grievance, "Confidential steward note", steward)
    db.session.flush()
    return member


def test_personal_data_holds_everything_about_the_member_and_nothing_else(
    full_member, make, now
):
    steward = make.user(name="Steward Sam")
    privacy_viewed = AuditEvent(
        at=now,
        actor_id=steward.id,
        action="member.viewed",
        subject_type="member",
        subject_id=str(full_member.id),
    )
    db.session.add(privacy_viewed)
    db.session.flush()
    data = privacy.personal_data(full_member, now=now, card_payments=True)
    assert data["account"]["email"] == "quinn.canary@example.org"
    assert data["account"]["sign_ins"]
    person = data["member"]
    assert (person["chosen_name"], person["legal_name"], person["phone"]) == (
        "Quinn Canary",
        "Quinn Q. Canary",
        "416 555 0199",
    )
    assert data["employment"] == [
        {
            "workplace": "Harbour Agency",
            "job": "Outreach worker",
            "started_on": "2024-05-01",
            "ended_on": None,
        }
    ]
    assert len(data["dues"]["payments"]) == 1
    assert len(data["dues"]["payments"][0]["months_covered"]) == 2
    assert data["waivers"][0]["reason"] == "illness_or_injury"
    assert data["dues"]["emails_sent"][0]["about"] == "2026-10"
    assert data["correction_requests"][0]["details"] == "My job title is wrong."
    [case] = data["grievances"]
    assert case["title"]
    text = repr(data)
    assert "Confidential steward note" not in text
    assert "Other Grievant" not in text
    assert any(
        entry["by"] == "Steward Sam" and entry["action"] == "member.viewed"
        for entry in data["record_of_access"]
    )
    assert data["third_parties"][0]["name"] == "Stripe"


#: The download's sections and each record's fields, in order. Members keep the
#: file and may take it elsewhere, so a rename or a move here is a change for them.
DOWNLOAD_SHAPE = [
    (
        "",
        "generated_at account member employment dues waivers grievances "
        "survey_rounds_answered correction_requests notifications message_consent "
        "record_of_access "
        "third_parties",
    ),
    (
        "account",
        "email email_confirmed_at created_at invited_at roles language sign_ins",
    ),
    ("account.sign_ins[]", "started_at last_seen_at ended_at"),
    (
        "member",
        "member_number chosen_name legal_name pronouns phone contact_preference "
        "membership_class status dues_level joined_on accepted_on left_on "
        "pays_by_card_through_stripe",
    ),
    ("employment[]", "workplace job started_on ended_on"),
    ("dues", "levels payments card_subscriptions emails_sent"),
    ("dues.levels[]", "level from_month chosen_at"),
    (
        "dues.payments[]",
        "paid_on method amount_cents initiation_cents currency months_covered "
        "receipt_number reference refunded_cents disputed_cents",
    ),
    (
        "dues.card_subscriptions[]",
        "status cancel_at_period_end current_period_end",
    ),
    ("dues.emails_sent[]", "kind about sent_at"),
    (
        "waivers[]",
        "case_number reason first_month last_month status requested_at decided_at",
    ),
    (
        "grievances[]",
        "number title category step opened_on deadline_on closed_on outcome "
        "money_recovered_cents remedy_obtained raised_online contact_preference",
    ),
    ("survey_rounds_answered[]", "round opened_on"),
    ("correction_requests[]", "requested_at details status response resolved_at"),
    ("notifications", "told emails_turned_off"),
    ("notifications.told[]", "kind about told_at read_at"),
    # What "about" holds depends on the kind; the first one here is a receipt.
    (
        "notifications.told[].about",
        "amount_cents first_month last_month method months paid_on",
    ),
    ("message_consent[]", "channel granted at source"),
    ("record_of_access[]", "at by action detail"),
    ("third_parties[]", "name purpose data_shared used_for_you"),
]


def shape(record, path=""):
    """Each record's keys in order, a list read through its first item."""
    found = [(path, " ".join(record))]
    for key, value in record.items():
        inner = f"{path}.{key}" if path else key
        if isinstance(value, list) and value and isinstance(value[0], dict):
            found += shape(value[0], inner + "[]")
        elif isinstance(value, dict):
            found += shape(value, inner)
    return found


def test_personal_data_keeps_its_sections_and_fields_in_order(full_member, now):
    db.session.add(
        DuesSubscription(
            member_id=full_member.id,
            stripe_subscription_id="sub_kept",
            status="active",
            last_event_created=now,
        )
    )
    answered = SurveyRound(
        name="Spring", status=RoundStatus.CLOSED, opened_on=now.date()
    )
    db.session.add(answered)
    db.session.flush()
    db.session.add(SurveyReceipt(round_id=answered.id, member_id=full_member.id))
    db.session.flush()
    data = privacy.personal_data(full_member, now=now, card_payments=True)
    assert shape(data) == DOWNLOAD_SHAPE


def test_the_page_gets_typed_values_and_the_download_their_plain_form(full_member, now):
    held = privacy.held_about(full_member, now=now)
    payment = held["dues"]["payments"][0]
    assert held["member"]["status"] is MemberStatus.ACTIVE
    assert held["member"]["dues_level"] is full_member.dues_level
    assert payment["method"] is PaymentMethod.CASH
    assert payment["months_covered"][0] == clock.first_of_month(now.date())
    assert held["generated_at"] == now
    plain = privacy.downloadable(held)
    assert plain == privacy.personal_data(full_member, now=now)
    assert plain["member"]["status"] == "active"
    assert plain["member"]["dues_level"] == full_member.dues_level.name
    assert plain["dues"]["payments"][0]["months_covered"][0] == now.strftime("%Y-%m")
    assert plain["waivers"][0]["first_month"] == "2027-01"
    assert plain["generated_at"] == now.isoformat()


def test_personal_data_takes_the_same_queries_for_a_long_history(
    full_member, make, now, count_queries
):
    # Each measured call follows a first one, so only per-call queries are counted.
    privacy.personal_data(full_member, now=now)
    with count_queries() as few:
        privacy.personal_data(full_member, now=now)
    for _ in range(5):
        make.payment(full_member, 1)
    privacy.personal_data(full_member, now=now)
    with count_queries() as many:
        privacy.personal_data(full_member, now=now)
    assert many.count == few.count


def test_erasure_clears_every_personal_field_and_keeps_the_books(full_member, now):
    member, user = full_member, full_member.user
    number, old_public_id = member.member_number, member.public_id
    member.stripe_customer_id = None
    payments_before = db.session.scalars(sa.select(DuesPayment.amount_cents)).all()
    covered_before = db.session.scalar(
        sa.select(sa.func.count()).select_from(DuesCoverage)
    )
    totals_before = treasury.monthly_totals(now=now)
    admin = user  # the member erases themselves

    privacy.erase_member(member, actor=admin, now=now, gateway=None)
    db.session.flush()
    db.session.expire_all()

    # The member record: nothing left that names or reaches the person.
    assert member.chosen_name == privacy.ERASED_NAME
    assert member.legal_name is None
    assert member.pronouns is None
    assert member.phone is None
    assert member.contact_preference is ContactPreference.IN_PERSON
    assert member.stripe_customer_id is None
    assert member.public_id != old_public_id
    assert member.status is MemberStatus.RESIGNED
    assert member.left_on == now.date()
    assert member.user_id is None
    [job] = member.employments
    assert (job.classification_id, job.started_on, job.ended_on) == (
        None,
        None,
        now.date(),
    )
    assert member.member_number == number
    # The account: cannot sign in, reach anyone, or hold any role.
    assert user.email.endswith("@erased.invalid") and "canary" not in user.email
    assert accounts.user_by_email("quinn.canary@example.org") is None
    assert user.name is None and user.locale is None
    assert user.password_hash is None and user.email_confirmed_at is None
    assert user.disabled_at == now
    assert accounts.authenticate("quinn.canary@example.org", PASSWORD, now=now) is None
    for model in (
        LoginSession,
        AccountToken,
        CalendarFeed,
        StewardAssignment,
        RoleGrant,
    ):
        assert not db.session.scalar(
            sa.select(sa.func.count())
            .select_from(model)
            .where(model.user_id == user.id)
        ), model
    # What only the person gave: gone. What the union's books need: unchanged.
    for kept_by_member in (
        CorrectionRequest,
        CheckoutAttempt,
        DuesNotice,
        MessageConsent,
    ):
        assert not db.session.scalar(
            sa.select(sa.func.count())
            .select_from(kept_by_member)
            .where(kept_by_member.member_id == member.id)
        ), kept_by_member
    assert db.session.scalar(sa.select(DuesWaiver.reason)) is WaiverReason.OTHER
    assert (
        db.session.scalars(sa.select(DuesPayment.amount_cents)).all() == payments_before
    )
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(DuesCoverage))
        == covered_before
    )
    assert treasury.monthly_totals(now=now) == totals_before
    # Grievances keep their counts (and the link, to a nameless record).
    assert db.session.scalar(
        sa.select(sa.func.count())
        .select_from(grievance_grievants)
        .where(grievance_grievants.c.member_id == member.id)
    )
    erased = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "member.erased")
    )
    assert erased.subject_id == str(member.id) and erased.detail is None


def test_erasure_leaves_the_organizers_grievance_counts_as_published(
    full_member, make, now
):
    def release_of_this_quarter():
        """This quarter's grievance figures as they will be released once it
        ends, worked out and then forgotten."""
        savepoint = db.session.begin_nested()
        text = grievance_releases.release_for(
            Quarter.of(clock.today(now)),
            rules=DEFAULT_RULES,
            now=now + timedelta(days=100),
        ).body
        savepoint.rollback()
        return text

    before = release_of_this_quarter()
    assert '"fewer_than_min"' in before  # the member's case counts
    privacy.erase_member(full_member, actor=full_member.user, now=now, gateway=None)
    db.session.flush()
    assert release_of_this_quarter() == before


def test_without_stripe_a_card_member_cannot_be_erased_halfway(full_member, now):
    full_member.stripe_customer_id = "cus_still_at_stripe"
    db.session.add(
        DuesSubscription(
            member_id=full_member.id,
            stripe_subscription_id="sub_live",
            status="active",
            last_event_created=now,
        )
    )
    db.session.flush()
    with pytest.raises(CardPaymentsUnavailable):
        privacy.erase_member(full_member, actor=full_member.user, now=now, gateway=None)
    assert full_member.chosen_name == "Quinn Canary"


def test_a_correction_is_asked_answered_and_audited(make, now):
    member = make.member(account=True)
    admin = make.user(roles=(Role.ADMIN,))
    with pytest.raises(ValidationFailed):
        privacy.request_correction(member, "   ", actor=member.user, now=now)
    request = privacy.request_correction(
        member, "Wrong job.", actor=member.user, now=now
    )
    assert privacy.answer_due_on(request) == now.date() + timedelta(days=30)
    with pytest.raises(ValidationFailed) as raised:
        privacy.resolve_correction(
            request, CorrectionStatus.DECLINED, "", actor=admin, now=now
        )
    assert "response" in raised.value.errors
    privacy.resolve_correction(
        request, CorrectionStatus.CORRECTED, "Fixed.", actor=admin, now=now + DAY
    )
    assert (request.status, request.resolved_by_id) == (
        CorrectionStatus.CORRECTED,
        admin.id,
    )
    page = privacy.corrections_page(open_only=True, page=1, per_page=10)
    assert page.total == 0
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action.like("correction.%"))
    ).all()
    assert sorted(actions) == ["correction.requested", "correction.resolved"]


def test_the_breach_register_checks_dates_and_records_who(make, now):
    admin = make.user(roles=(Role.ADMIN,))
    details = privacy.BreachDetails(
        discovered_on=now.date(),
        occurred_on=now.date() - DAY,
        description="Roster printout left on a bus.",
        data_affected="Names, phone numbers",
        people_affected=30,
        real_risk_of_significant_harm=True,
    )
    breach = privacy.record_breach(details, actor=admin, now=now)
    assert breach.recorded_by_id == admin.id
    raw = db.session.execute(sa.text("SELECT description FROM breaches")).scalar()
    assert "bus" not in raw
    with pytest.raises(ValidationFailed) as raised:
        privacy.update_breach(
            breach,
            privacy.BreachDetails(
                discovered_on=now.date(),
                occurred_on=now.date() + DAY,
                description="",
                data_affected="x",
                people_affected=-1,
                real_risk_of_significant_harm=False,
                commissioner_reported_on=now.date() - DAY * 3,
            ),
            actor=admin,
            now=now,
        )
    assert set(raised.value.errors) == {
        "occurred_on",
        "description",
        "people_affected",
        "commissioner_reported_on",
    }
    assert privacy.breaches() == [breach]


def test_cash_payments_in_the_ledger_stay_attributed_to_the_erased_steward(make, now):
    workplace = make.workplace()
    steward_member = make.member(workplace, account=True)
    steward = steward_member.user
    payer = make.member(workplace)
    from union.services import dues, ledger

    payment = ledger.record_hand_payment(
        payer,
        method=PaymentMethod.CASH,
        months=1,
        amount_cents=dues.quote(payer, 1).total_cents,
        paid_on=now.date(),
        reference=None,
        actor=steward,
        now=now,
    )
    privacy.erase_member(steward_member, actor=steward, now=now, gateway=None)
    db.session.flush()
    assert payment.recorded_by_id == steward.id


def test_what_the_member_was_told_is_in_their_data_by_kind_and_values(make, now):
    from union.models import NotificationChoice, NotificationKind
    from union.services import notifications_feed

    member = make.member(account=True)
    notifications_feed.notify(
        [member.user],
        NotificationKind.WAIVER_DECIDED,
        {"granted": True, "first": "2026-12", "last": "2027-02"},
        about="waiver-1",
        now=now,
    )
    db.session.add(
        NotificationChoice(
            user_id=member.user.id, kind=NotificationKind.SURVEY_OPENED, email=False
        )
    )
    db.session.flush()
    data = privacy.personal_data(member, now=now)["notifications"]
    assert data == {
        "told": [
            {
                "kind": "waiver_decided",
                "about": {"granted": True, "first": "2026-12", "last": "2027-02"},
                "told_at": now.isoformat(),
                "read_at": None,
            }
        ],
        "emails_turned_off": ["survey_opened"],
    }
