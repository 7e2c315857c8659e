from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from union.db import db
from union.errors import InvalidTransition, NotFound, ValidationFailed
from union.models import (
    DuesCoverage,
    DuesLevel,
    MemberStatus,
    PaymentMethod,
    Role,
    WaiverReason,
    WaiverStatus,
)
from union.services import dues, ledger, remittances, settings, treasury, waivers

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
SEP, OCT, NOV, DEC = (
    date(2026, 9, 1),
    date(2026, 10, 1),
    date(2026, 11, 1),
    date(2026, 12, 1),
)


def test_a_member_who_just_joined_owes_this_month_and_the_initiation_fee(make):
    member = make.member(level="minimum")
    quote = dues.quote(member, 1)
    assert (quote.months, quote.dues_cents, quote.initiation_cents) == (
        [NOV],
        1100,
        1100,
    )
    standing = dues.member_standing(member, now=NOW)
    assert (standing.months_owed, standing.arrears, standing.in_good_standing) == (
        1,
        1,
        True,
    )


def test_cash_covers_the_oldest_months_first_and_gets_a_receipt_number(make):
    member = make.member(joined_on=date(2026, 9, 15), level="regular")
    steward = make.user(roles=(Role.STEWARD,))
    payment = ledger.record_hand_payment(
        member,
        method=PaymentMethod.CASH,
        months=2,
        amount_cents=2200 * 3,
        paid_on=date(2026, 11, 20),
        reference=None,
        actor=steward,
        now=NOW,
    )
    assert payment.receipt_number is not None
    assert payment.initiation_cents == 2200
    assert [c.month for c in payment.coverage] == [SEP, OCT]
    standing = dues.member_standing(member, now=NOW)
    assert (standing.arrears, standing.covered_through) == (1, OCT)
    second = ledger.record_hand_payment(
        member,
        method=PaymentMethod.ETRANSFER,
        months=3,
        amount_cents=2200 * 3,
        paid_on=date(2026, 11, 21),
        reference="CA9XyZ",
        actor=steward,
        now=NOW,
    )
    assert second.receipt_number == payment.receipt_number + 1
    assert [c.month for c in second.coverage] == [NOV, DEC, date(2027, 1, 1)]
    assert dues.member_standing(member, now=NOW).arrears == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount_cents": 1100}, "amount"),
        ({"months": 0}, "months"),
        ({"months": 25}, "months"),
        ({"paid_on": date(2026, 12, 1)}, "paid_on"),
        ({"paid_on": date(2025, 1, 1)}, "paid_on"),
        ({"paid_on": None}, "paid_on"),
        ({"method": PaymentMethod.CARD_ONE_OFF}, "method"),
    ],
)
def test_a_wrong_hand_payment_is_refused_and_saves_nothing(make, change, field):
    member = make.member()
    entry = {
        "method": PaymentMethod.CASH,
        "months": 1,
        "amount_cents": 2200,
        "paid_on": date(2026, 11, 1),
        "reference": None,
    }
    with pytest.raises(ValidationFailed) as raised:
        ledger.record_hand_payment(
            member, **{**entry, **change}, actor=make.user(), now=NOW
        )
    assert field in raised.value.errors
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DuesCoverage)) == 0


def test_the_amount_message_says_what_the_right_amount_is(make):
    member = make.member(level="sub_minimum")
    with pytest.raises(ValidationFailed) as raised:
        ledger.record_hand_payment(
            member,
            method=PaymentMethod.CASH,
            months=2,
            amount_cents=1000,
            paid_on=date(2026, 11, 1),
            reference=None,
            actor=make.user(),
            now=NOW,
        )
    assert raised.value.errors["amount"] == [
        "For 2 months plus the initiation fee of $6.00, the amount is $18.00."
    ]


def test_no_month_is_ever_covered_twice(make):
    member = make.member()
    first = make.payment(member, 2)
    month = first.coverage[0].month
    db.session.add(DuesCoverage(member_id=member.id, month=month, payment_id=first.id))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()


def test_a_level_change_applies_from_next_month(make):
    member = make.member(joined_on=date(2026, 10, 3), level="minimum")
    regular = dues.level_by_code("regular")
    choice = dues.change_level(member, regular.id, actor=make.user(), now=NOW)
    assert choice.effective_month == DEC
    assert dues.monthly_cents(member, [OCT, NOV, DEC]) == [1100, 1100, 2200]
    assert dues.quote(member, 3).dues_cents == 1100 + 1100 + 2200
    summary = dues.member_dues(member, now=NOW)
    assert (summary.level.code, summary.next_level.code) == ("minimum", "regular")


def test_a_retired_level_cannot_be_chosen(make):
    member = make.member()
    high = dues.level_by_code("high")
    dues.retire_level(high, actor=make.user(), now=NOW)
    with pytest.raises(ValidationFailed):
        dues.change_level(member, high.id, actor=make.user(), now=NOW)


def test_the_treasurer_schedules_a_new_amount_from_a_coming_month(make):
    treasurer = make.user(roles=(Role.TREASURER,))
    member = make.member(joined_on=date(2026, 11, 1), level="minimum")
    level = dues.level_by_code("minimum")
    with pytest.raises(ValidationFailed):
        dues.schedule_rate(
            level, monthly_cents=1200, effective_on=OCT, actor=treasurer, now=NOW
        )
    with pytest.raises(ValidationFailed):
        dues.schedule_rate(
            level,
            monthly_cents=1200,
            effective_on=date(2027, 1, 15),
            actor=treasurer,
            now=NOW,
        )
    dues.schedule_rate(
        level, monthly_cents=1200, effective_on=DEC, actor=treasurer, now=NOW
    )
    assert dues.monthly_cents(member, [NOV, DEC]) == [1100, 1200]
    assert [
        o.monthly_cents
        for o in dues.offered_levels(date(2026, 12, 1))
        if o.code == "minimum"
    ] == [1200]


def test_the_treasurer_adds_a_level(make):
    treasurer = make.user(roles=(Role.TREASURER,))
    level = dues.add_level(
        code="solidarity",
        wording=dues.LevelWording(
            name="Solidarity",
            bracket="Anyone who can give more",
            name_fr=" Solidarité ",
            bracket_fr="",
        ),
        monthly_cents=5000,
        effective_on=DEC,
        actor=treasurer,
        now=NOW,
    )
    assert level.position == 5
    assert (level.name_for("fr"), level.bracket_for("fr")) == (
        "Solidarité",
        "Anyone who can give more",
    )
    assert level.name_for("en") == "Solidarity"
    with pytest.raises(ValidationFailed) as raised:
        dues.add_level(
            code="solidarity",
            wording=dues.LevelWording(name="", bracket=""),
            monthly_cents=0,
            effective_on=DEC,
            actor=treasurer,
            now=NOW,
        )
    assert set(raised.value.errors) == {"code", "name", "bracket", "monthly_amount"}


def test_a_full_refund_uncovers_the_months_again(make):
    member = make.member(joined_on=date(2026, 10, 1))
    payment = make.payment(
        member, 2, method=PaymentMethod.CARD_ONE_OFF, amount_cents=2200
    )
    assert dues.member_standing(member, now=NOW).arrears == 0
    ledger.record_refund(payment, refunded_cents=1000, now=NOW)
    assert dues.member_standing(member, now=NOW).arrears == 0
    ledger.record_refund(payment, refunded_cents=2200, now=NOW)
    assert dues.member_standing(member, now=NOW).arrears == 2


def test_a_resigned_member_stops_owing(make):
    member = make.member(joined_on=date(2026, 6, 1), status=MemberStatus.RESIGNED)
    member.left_on = date(2026, 8, 10)
    assert dues.member_standing(member, now=NOW).months_owed == 3


def test_a_member_dues_page_takes_the_same_queries_for_a_long_history(
    make, count_queries
):
    member = make.member(joined_on=date(2024, 1, 1))
    make.payment(member, 1)
    db.session.expire_all()
    with count_queries() as short:
        dues.member_dues(member, now=NOW)
    for _ in range(30):
        make.payment(member, 1)
    db.session.expire_all()
    with count_queries() as long:
        dues.member_dues(member, now=NOW)
    assert long.count == short.count


def test_waivers_cover_unpaid_months_and_are_reviewed_by_case_number(make):
    member = make.member(joined_on=date(2026, 8, 1))
    make.payment(member, 1)
    waiver = waivers.request_waiver(
        member,
        reason=WaiverReason.UNEMPLOYMENT,
        first_month=SEP,
        last_month=NOV,
        actor=member.user or make.user(),
        now=NOW,
    )
    assert waiver.status is WaiverStatus.PENDING
    [case] = waivers.cases(status=WaiverStatus.PENDING, now=NOW)
    assert (case.waiver.case_number, case.months, case.arrears) == (
        waiver.case_number,
        3,
        3,
    )
    treasurer = make.user(roles=(Role.TREASURER,))
    waivers.decide_waiver(waiver, grant=True, actor=treasurer, now=NOW)
    standing = dues.member_standing(member, now=NOW)
    assert (standing.arrears, standing.covered_through) == (0, NOV)
    with pytest.raises(InvalidTransition):
        waivers.decide_waiver(waiver, grant=False, actor=treasurer, now=NOW)
    later = make.payment(member, 1)
    assert [c.month for c in later.coverage] == [DEC]


def test_a_waiver_does_not_take_months_already_paid(make):
    member = make.member(joined_on=date(2026, 9, 1))
    make.payment(member, 2)
    waiver = waivers.request_waiver(
        member,
        reason=WaiverReason.OTHER,
        first_month=SEP,
        last_month=NOV,
        actor=make.user(),
        now=NOW,
    )
    waivers.decide_waiver(waiver, grant=True, actor=make.user(), now=NOW)
    sources = db.session.execute(
        sa.select(DuesCoverage.month, DuesCoverage.payment_id.is_not(None))
        .where(DuesCoverage.member_id == member.id)
        .order_by(DuesCoverage.month)
    ).all()
    assert [(m, paid) for m, paid in sources] == [
        (SEP, True),
        (OCT, True),
        (NOV, False),
    ]


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        (NOV, OCT, "last_month"),
        (date(2026, 1, 1), date(2026, 12, 1), "first_month"),
        (NOV, date(2027, 12, 1), "last_month"),
        (date(2027, 6, 1), date(2027, 6, 1), "first_month"),
    ],
)
def test_waiver_requests_are_checked(make, first, last, field):
    member = make.member(joined_on=date(2026, 3, 1))
    with pytest.raises(ValidationFailed) as raised:
        waivers.request_waiver(
            member,
            reason=WaiverReason.OTHER,
            first_month=first,
            last_month=last,
            actor=make.user(),
            now=NOW,
        )
    assert field in raised.value.errors


def test_overlapping_waiver_requests_are_refused(make):
    member = make.member(joined_on=date(2026, 3, 1))
    waivers.request_waiver(
        member,
        reason=WaiverReason.OTHER,
        first_month=OCT,
        last_month=NOV,
        actor=make.user(),
        now=NOW,
    )
    with pytest.raises(ValidationFailed):
        waivers.request_waiver(
            member,
            reason=WaiverReason.OTHER,
            first_month=NOV,
            last_month=DEC,
            actor=make.user(),
            now=NOW,
        )


def test_remittance_split_always_adds_up():
    assert remittances.split(1001, 50) == (501, 500)
    assert remittances.split(3300, 0) == (0, 3300)
    assert remittances.split(3300, 100) == (3300, 0)
    for total in range(0, 500, 7):
        for percent in (0, 33, 50, 67, 100):
            parent, branch = remittances.split(total, percent)
            assert parent + branch == total and parent >= 0 and branch >= 0


DEC_7 = datetime(2026, 12, 7, 20, 44, tzinfo=UTC)


def hand_payment(make, delegate, months=1, *, day=5, now=NOW):
    """A new member's cash for `months` months and the initiation fee."""
    member = make.member(level="minimum")
    return ledger.record_hand_payment(
        member,
        method=PaymentMethod.CASH,
        months=months,
        amount_cents=dues.quote(member, months).total_cents,
        paid_on=date(2026, 11, day),
        reference=None,
        actor=delegate,
        now=now,
    )


def test_a_delegate_month_lists_receipts_and_the_treasurer_confirms_it(make):
    delegate = make.user(roles=(Role.STEWARD,))
    for _ in range(2):
        hand_payment(make, delegate)
    report = remittances.delegate_month(delegate, NOV, today=DEC_7.date())
    assert (
        len(report.payments),
        report.total_cents,
        report.parent_cents,
        report.branch_cents,
    ) == (2, 4400, 2200, 2200)
    [line] = remittances.month_overview(NOV, today=DEC_7.date()).lines
    assert (line.receipts, line.total_cents, line.confirmed) == (2, 4400, False)
    treasurer = make.user(roles=(Role.TREASURER,))
    settings.update_settings(
        {"parent_union_share_percent": 40}, actor=treasurer, now=NOW
    )
    confirmed = remittances.confirm_remittance(
        delegate, NOV, actor=treasurer, now=DEC_7
    )
    assert (confirmed.parent_cents, confirmed.branch_cents) == (1760, 2640)
    settings.update_settings(
        {"parent_union_share_percent": 70}, actor=treasurer, now=NOW
    )
    after = remittances.delegate_month(delegate, NOV, today=DEC_7.date())
    assert (after.parent_cents, after.waiting) == (1760, None)
    with pytest.raises(ValidationFailed):
        remittances.confirm_remittance(delegate, NOV, actor=treasurer, now=DEC_7)


def test_receipts_after_a_confirmation_are_a_new_part_and_the_shares_add_up(make):
    """The reported bug: a confirmed $392 month became $404 while both shares
    stayed at $196 and it still read "confirmed"."""
    delegate = make.user(roles=(Role.STEWARD,))
    treasurer = make.user(roles=(Role.TREASURER,))
    for months in (1, 3):
        hand_payment(make, delegate, months)
    first = remittances.confirm_remittance(delegate, NOV, actor=treasurer, now=DEC_7)
    late = hand_payment(make, delegate, 2, day=28, now=DEC_7)

    report = remittances.delegate_month(delegate, NOV, today=DEC_7.date())
    confirmed, waiting = report.parts
    assert confirmed.confirmed == first and len(confirmed.payments) == 2
    assert (confirmed.total_cents, confirmed.parent_cents) == (6600, 3300)
    assert waiting.confirmed is None and waiting.payments == [late]
    assert report.total_cents == 9900
    assert report.parent_cents + report.branch_cents == report.total_cents

    [line] = remittances.month_overview(NOV, today=DEC_7.date()).lines
    assert (line.total_cents, line.confirmed, line.late_receipts) == (
        9900,
        False,
        True,
    )
    assert (line.waiting_receipts, line.waiting_cents) == (1, 3300)
    assert line.parent_cents + line.branch_cents == line.total_cents

    second = remittances.confirm_remittance(delegate, NOV, actor=treasurer, now=DEC_7)
    assert (second.total_cents, second.receipts) == (3300, 1)
    assert first.total_cents == 6600  # the first part is as it was confirmed
    [line] = remittances.month_overview(NOV, today=DEC_7.date()).lines
    assert (line.total_cents, line.confirmed, line.confirmations) == (9900, True, 2)


def test_a_month_still_running_cannot_be_confirmed(make):
    delegate = make.user(roles=(Role.STEWARD,))
    treasurer = make.user(roles=(Role.TREASURER,))
    hand_payment(make, delegate)
    with pytest.raises(ValidationFailed) as refused:
        remittances.confirm_remittance(delegate, NOV, actor=treasurer, now=NOW)
    assert "still running" in refused.value.messages[0]
    assert remittances.month_overview(NOV, today=NOW.date()).ended is False
    last_day = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    with pytest.raises(ValidationFailed):
        remittances.confirm_remittance(delegate, NOV, actor=treasurer, now=last_day)
    remittances.confirm_remittance(delegate, NOV, actor=treasurer, now=DEC_7)


def test_shares_add_up_however_receipts_and_confirmations_interleave(make):
    delegate = make.user(roles=(Role.STEWARD,))
    treasurer = make.user(roles=(Role.TREASURER,))
    for percent, months in ((33, (1, 2)), (51, (5,)), (67, (1, 7, 3))):
        settings.update_settings(
            {"parent_union_share_percent": percent}, actor=treasurer, now=NOW
        )
        for count in months:
            hand_payment(make, delegate, count)
        remittances.confirm_remittance(delegate, NOV, actor=treasurer, now=DEC_7)
        report = remittances.delegate_month(delegate, NOV, today=DEC_7.date())
        [line] = remittances.month_overview(NOV, today=DEC_7.date()).lines
        for figures in (report, line):
            assert figures.parent_cents + figures.branch_cents == figures.total_cents
        assert report.total_cents == sum(p.amount_cents for p in report.payments)
        assert (line.total_cents, line.parent_cents) == (
            report.total_cents,
            report.parent_cents,
        )


def test_the_arrears_list_agrees_with_each_members_standing(make):
    owing = {}
    for joined, paid in (
        (date(2026, 5, 1), 2),
        (date(2026, 11, 1), 1),
        (date(2026, 8, 1), 0),
        (date(2025, 11, 1), 14),
    ):
        member = make.member(joined_on=joined)
        if paid:
            make.payment(member, paid)
        owing[member.id] = dues.member_standing(member, now=NOW).arrears
    page = treasury.arrears_page(now=NOW, page=1, per_page=50)
    assert {line.member.id: line.arrears for line in page.items} == {
        k: v for k, v in owing.items() if v > 0
    }
    assert [line.arrears for line in page.items] == sorted(
        (v for v in owing.values() if v > 0), reverse=True
    )
    assert treasury.arrears_by_member(list(owing), now=NOW) == owing


def test_the_arrears_list_is_one_query_however_many_members(make, count_queries):
    for _ in range(5):
        make.member(joined_on=date(2026, 1, 1))
    with count_queries() as few:
        treasury.arrears_page(now=NOW, page=1, per_page=50)
    for _ in range(60):
        make.payment(make.member(joined_on=date(2025, 6, 1)), 3)
    db.session.flush()
    with count_queries() as many:
        page = treasury.arrears_page(now=NOW, page=1, per_page=50)
    assert page.total == 65
    assert many.count == few.count


def test_monthly_totals_by_method(make):
    member = make.member(joined_on=date(2026, 1, 1))
    make.payment(
        member,
        2,
        method=PaymentMethod.CASH,
        amount_cents=2200,
        paid_on=date(2026, 10, 3),
    )
    make.payment(
        member,
        1,
        method=PaymentMethod.CARD_SUBSCRIPTION,
        amount_cents=1100,
        paid_on=date(2026, 11, 3),
    )
    make.payment(
        member,
        1,
        method=PaymentMethod.CASH,
        amount_cents=1100,
        paid_on=date(2026, 11, 9),
    )
    totals = treasury.monthly_totals(now=NOW, months=3)
    assert [t.month for t in totals] == [SEP, OCT, NOV]
    assert totals[0].total_cents == 0
    assert totals[1].by_method == {PaymentMethod.CASH: 2200}
    assert totals[2].by_method == {
        PaymentMethod.CARD_SUBSCRIPTION: 1100,
        PaymentMethod.CASH: 1100,
    }


def test_receipts_are_visible_only_to_those_concerned(make):
    here, there = make.workplace(), make.workplace()
    delegate = make.steward(here)
    member = make.member(here, account=True)
    payment = ledger.record_hand_payment(
        member,
        method=PaymentMethod.CASH,
        months=1,
        amount_cents=2200,
        paid_on=date(2026, 11, 5),
        reference=None,
        actor=delegate,
        now=NOW,
    )
    number = payment.receipt_number
    for allowed in (
        delegate,
        member.user,
        make.user(roles=(Role.TREASURER,)),
        make.steward(here),
    ):
        assert dues.payment_for_receipt(allowed, number) is payment
    for stranger in (
        make.steward(there),
        make.user(roles=(Role.ORGANIZER,)),
        make.member(here, account=True).user,
    ):
        with pytest.raises(NotFound):
            dues.payment_for_receipt(stranger, number)


def test_levels_are_loaded_with_their_rates(make):
    assert [level.code for level in dues.all_levels()] == [
        "sub_minimum",
        "minimum",
        "regular",
        "high",
    ]
    assert isinstance(dues.all_levels()[0], DuesLevel)
