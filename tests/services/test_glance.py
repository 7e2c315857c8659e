"""What the home page counts for each person, within what they may see."""

from datetime import date, timedelta

from union.db import db
from union.models import (
    DuesSubscription,
    GrievanceStep,
    MemberStatus,
    PaymentMethod,
    Role,
    WaiverReason,
)
from union.services import glance, ledger, remittances, survey, waivers

TODAY = date(2026, 11, 22)


def case(make, workplace, *, due_in_days, closed=False):
    grievance = make.grievance(
        workplace, deadline_on=TODAY + timedelta(days=due_in_days)
    )
    if closed:
        grievance.step = GrievanceStep.RESOLVED
        grievance.closed_on = TODAY
        db.session.flush()
    return grievance


def test_a_steward_counts_only_the_workplaces_they_cover(make, now):
    here, there = make.workplace(), make.workplace()
    steward = make.steward(here)
    for _ in range(2):
        make.member(here, status=MemberStatus.APPLICANT)
    make.member(here)
    make.member(there, status=MemberStatus.APPLICANT)
    case(make, here, due_in_days=-1)
    case(make, here, due_in_days=0)
    case(make, here, due_in_days=6)
    case(make, here, due_in_days=7)
    case(make, here, due_in_days=-3, closed=True)
    case(make, there, due_in_days=-1)
    case(make, there, due_in_days=2)

    seen = glance.at_a_glance(steward, now=now)

    assert seen.casework == glance.Casework(
        applicants_waiting=2, overdue_cases=1, cases_due_this_week=2
    )
    assert seen.treasury is None
    assert seen.own is None
    assert seen.anything_waiting


def test_an_admin_counts_the_whole_union(make, now):
    here, there = make.workplace(), make.workplace()
    admin = make.user(roles=(Role.ADMIN,))
    make.member(here, status=MemberStatus.APPLICANT)
    make.member(there, status=MemberStatus.APPLICANT)
    case(make, there, due_in_days=-1)

    seen = glance.at_a_glance(admin, now=now)

    assert seen.casework == glance.Casework(
        applicants_waiting=2, overdue_cases=1, cases_due_this_week=0
    )
    assert seen.treasury is not None


def test_an_organizer_has_nothing_counted_and_nothing_waiting(make, now):
    organizer = make.user(roles=(Role.ORGANIZER,))
    make.member(make.workplace(), status=MemberStatus.APPLICANT)

    seen = glance.at_a_glance(organizer, now=now)

    assert (seen.casework, seen.treasury, seen.own) == (None, None, None)
    assert not seen.anything_waiting


def test_the_treasurer_sees_ended_months_to_confirm_waivers_and_failing_cards(
    make, now
):
    treasurer = make.user(roles=(Role.TREASURER,))
    here = make.workplace()
    delegate, other_delegate = make.steward(here), make.steward(here)
    member = make.member(here, joined_on=date(2026, 6, 1))

    def cash(paid_on, recorded_by):
        payment = make.payment(member, paid_on=paid_on)
        payment.recorded_by_id = recorded_by.id
        db.session.flush()

    cash(date(2026, 9, 3), delegate)
    cash(date(2026, 9, 20), delegate)
    cash(date(2026, 10, 5), delegate)
    cash(date(2026, 10, 6), other_delegate)
    cash(date(2026, 11, 2), delegate)  # this month: it cannot be confirmed yet
    remittances.confirm_remittance(
        other_delegate, date(2026, 10, 1), actor=treasurer, now=now
    )
    waivers.request_waiver(
        make.member(here),
        reason=WaiverReason.OTHER,
        first_month=date(2026, 12, 1),
        last_month=date(2026, 12, 1),
        actor=treasurer,
        now=now,
    )
    for status, stripe_id in (("past_due", "sub_a"), ("active", "sub_b")):
        db.session.add(
            DuesSubscription(
                member_id=make.member(here).id,
                stripe_subscription_id=stripe_id,
                status=status,
                last_event_created=now,
            )
        )
    db.session.flush()

    seen = glance.at_a_glance(treasurer, now=now)

    assert seen.treasury == glance.Treasury(
        remittances_waiting=2,
        oldest_month_waiting=date(2026, 9, 1),
        waivers_to_decide=1,
        card_payments_failing=1,
    )
    assert seen.casework is None


def test_the_treasurer_with_nothing_waiting(make, now):
    treasurer = make.user(roles=(Role.TREASURER,))

    seen = glance.at_a_glance(treasurer, now=now)

    assert seen.treasury == glance.Treasury(0, None, 0, 0)
    assert not seen.anything_waiting


def test_a_member_sees_months_owed_as_their_dues_page_counts_them(make, now):
    member = make.member(make.workplace(), account=True, joined_on=date(2026, 9, 1))
    make.payment(member, months=1)
    assert member.user is not None

    own = glance.at_a_glance(member.user, now=now).own

    assert own == glance.OwnMembership(
        is_applicant=False, months_owed=2, survey_round=None
    )


def test_a_paid_up_member_owes_nothing_and_nothing_waits(make, now):
    member = make.member(make.workplace(), account=True)
    make.payment(member, months=1)
    assert member.user is not None

    seen = glance.at_a_glance(member.user, now=now)

    assert seen.own is not None and seen.own.months_owed == 0
    assert not seen.anything_waiting


def test_an_applicant_is_told_their_application_waits(make, now):
    member = make.member(make.workplace(), account=True, status=MemberStatus.APPLICANT)
    assert member.user is not None

    own = glance.at_a_glance(member.user, now=now).own

    assert own is not None and own.is_applicant
    assert own.survey_round is None  # applicants do not answer the survey


def test_an_open_round_waits_until_the_member_answers_it(make, now):
    workplace = make.workplace()
    member = make.member(workplace, account=True)
    make.payment(member, months=1)
    assert member.user is not None
    organizer = make.user(roles=(Role.ORGANIZER,))
    current = survey.open_round("Winter", actor=organizer, now=now)

    before = glance.at_a_glance(member.user, now=now).own
    survey.answer(
        member,
        current,
        survey.Answers(
            workplace_id=workplace.id, classification_id=make.classification().id
        ),
        now=now,
    )
    after = glance.at_a_glance(member.user, now=now).own

    assert before is not None and before.survey_round == current
    assert after is not None and after.survey_round is None


def test_the_cash_a_delegate_recorded_through_the_ledger_counts_once_its_month_ends(
    make, now
):
    treasurer = make.user(roles=(Role.TREASURER,))
    here = make.workplace()
    delegate = make.steward(here)
    member = make.member(here, joined_on=date(2026, 10, 1))
    ledger.record_hand_payment(
        member,
        method=PaymentMethod.CASH,
        months=1,
        amount_cents=2200,
        paid_on=date(2026, 10, 30),
        reference=None,
        actor=delegate,
        now=now,
    )

    seen = glance.at_a_glance(treasurer, now=now)

    assert seen.treasury is not None
    assert seen.treasury.remittances_waiting == 1
    assert seen.treasury.oldest_month_waiting == date(2026, 10, 1)
