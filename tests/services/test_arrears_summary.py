"""Each member's arrears summary (first uncovered month, months covered after it)
stays in step with their coverage rows, and the arrears list read through it gives
what every member's own standing says, in order, page by page."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from union.db import db
from union.models import (
    DuesSubscription,
    MemberStatus,
    PaymentMethod,
    Role,
    WaiverReason,
)
from union.rules.standing import coverage_summary
from union.services import dues, ledger, members, roster, treasury, waivers

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


def summary_agrees(member) -> bool:
    covered = dues.covered_months(member.id)
    expected = coverage_summary(dues.start_month(member), covered)
    return (member.first_uncovered_month, member.months_covered_later) == expected and (
        member.last_covered_month == max(covered, default=None)
    )


def test_a_new_member_owes_from_the_month_they_joined(make):
    member = make.member(joined_on=date(2026, 3, 17))
    assert member.first_uncovered_month == date(2026, 3, 1)
    assert member.months_covered_later == 0
    assert member.last_covered_month is None


def test_payments_refunds_and_waivers_keep_the_summary_in_step(make):
    treasurer = make.user(roles=(Role.TREASURER,))
    member = make.member(joined_on=date(2026, 1, 1))
    first = make.payment(member, 3)
    assert member.first_uncovered_month == date(2026, 4, 1)
    make.payment(member, 2)
    ledger.record_refund(first, refunded_cents=first.amount_cents, now=NOW)
    # January to March uncovered again, April and May still covered: a gap.
    assert (member.first_uncovered_month, member.months_covered_later) == (
        date(2026, 1, 1),
        2,
    )
    waiver = waivers.request_waiver(
        member,
        reason=WaiverReason.OTHER,
        first_month=date(2026, 11, 1),
        last_month=date(2027, 1, 1),
        actor=member.user or treasurer,
        now=NOW,
    )
    waivers.decide_waiver(waiver, grant=True, actor=treasurer, now=NOW)
    assert member.months_covered_later == 5
    assert member.last_covered_month == date(2027, 1, 1)
    make.payment(member, 3)
    assert (member.first_uncovered_month, member.months_covered_later) == (
        date(2026, 6, 1),
        3,
    )
    assert summary_agrees(member)


def test_an_imported_opening_balance_sets_where_the_member_owes_from(make):
    make.workplace("Agency")
    result = roster.import_roster(
        "chosen_name,dues_level,joined_on,paid_through\n"
        "Ash,minimum,2025-01-10,2026-06\n"
        "Bee,minimum,2025-01-10,\n",
        actor=None,
        now=NOW,
    )
    assert result.ok, result.errors
    found = {
        m.chosen_name: m
        for m in members.roster_page(make.user(roles=(Role.ADMIN,))).items
    }
    assert found["Ash"].first_uncovered_month == date(2026, 7, 1)
    assert found["Bee"].first_uncovered_month == date(2025, 1, 1)
    assert all(summary_agrees(m) for m in found.values())


@pytest.fixture
def owing(make):
    """Members behind by different amounts, in every shape the list must handle."""
    made = {}
    for months_paid, name in ((0, "none"), (5, "five"), (8, "eight"), (11, "all")):
        member = make.member(name=name, joined_on=date(2026, 1, 1))
        if months_paid:
            make.payment(member, months_paid)
        made[name] = member
    # Paid ahead over a gap: March refunded after April to June were paid.
    gap = make.member(name="gap", joined_on=date(2026, 1, 1))
    early = make.payment(gap, 2)
    make.payment(gap, 4)
    ledger.record_refund(early, refunded_cents=early.amount_cents, now=NOW)
    made["gap"] = gap
    # The same over a gap that reaches past this month: January to April
    # refunded, May 2026 to April 2027 paid.
    ahead = make.member(name="ahead", joined_on=date(2026, 1, 1))
    early = make.payment(ahead, 4)
    make.payment(ahead, 12)
    ledger.record_refund(early, refunded_cents=early.amount_cents, now=NOW)
    assert ahead.last_covered_month == date(2027, 4, 1)
    made["ahead"] = ahead
    # Three months behind, one of them a card payment Stripe is still retrying.
    retrying = make.member(name="retrying", joined_on=date(2026, 1, 1))
    make.payment(retrying, 8, method=PaymentMethod.CARD_SUBSCRIPTION)
    db.session.add(
        DuesSubscription(
            member_id=retrying.id,
            stripe_subscription_id="sub_retrying",
            status="past_due",
            last_event_created=NOW,
        )
    )
    made["retrying"] = retrying
    lapsed = make.member(
        name="lapsed", status=MemberStatus.LAPSED, joined_on=date(2026, 1, 1)
    )
    make.payment(lapsed, 4)
    made["lapsed"] = lapsed
    resigned = make.member(
        name="resigned", status=MemberStatus.RESIGNED, joined_on=date(2026, 1, 1)
    )
    made["resigned"] = resigned
    # Left in June but still listed as active: owes up to June only.
    left = make.member(name="left", joined_on=date(2026, 1, 1))
    left.left_on = date(2026, 6, 15)
    make.payment(left, 2)
    made["left"] = left
    db.session.flush()
    return made


@pytest.mark.parametrize("behind", [False, True])
@pytest.mark.parametrize("per_page", [2, 3, 50])
def test_the_list_agrees_with_each_members_standing_page_by_page(
    owing, behind, per_page
):
    expected = []
    for member in owing.values():
        if member.status not in (MemberStatus.ACTIVE, MemberStatus.LAPSED):
            continue
        standing = dues.member_standing(member, now=NOW)
        if standing.arrears <= 0 or (behind and standing.in_good_standing):
            continue
        expected.append((standing.arrears, member.member_number, member.chosen_name))
    expected.sort(key=lambda line: (-line[0], line[1]))
    assert expected, "the fixture must owe something"

    seen = []
    page_number = 1
    while True:
        page = treasury.arrears_page(
            now=NOW, page=page_number, per_page=per_page, only_behind_standing=behind
        )
        assert page.total == len(expected)
        seen += [
            (line.arrears, line.member.member_number, line.member.chosen_name)
            for line in page.items
        ]
        if not page.has_next:
            break
        page_number += 1
    assert seen == expected
    names = [name for _arrears, _number, name in seen]
    assert "gap" in names and "ahead" in names and "resigned" not in names
    assert ("retrying" in names) is not behind


def _expected_in(order, owing, *, behind):
    expected = []
    for member in owing.values():
        if member.status not in (MemberStatus.ACTIVE, MemberStatus.LAPSED):
            continue
        standing = dues.member_standing(member, now=NOW)
        if standing.arrears <= 0 or (behind and standing.in_good_standing):
            continue
        expected.append((standing.arrears, member.member_number))
    if order.key == "owed":
        # Most owed first, ties by member number; fewest first is the reverse.
        expected.sort(
            key=lambda line: (-line[0], line[1]), reverse=not order.descending
        )
    else:
        expected.sort(key=lambda line: line[1], reverse=order.descending)
    return expected


@pytest.mark.parametrize("behind", [False, True])
@pytest.mark.parametrize("per_page", [2, 50])
@pytest.mark.parametrize(
    "order", [order.value for order in treasury.ARREARS_SORTS.every_order()]
)
def test_every_order_of_the_list_merges_both_parts_page_by_page(
    owing, behind, per_page, order
):
    sort = treasury.ARREARS_SORTS.read(order)
    expected = _expected_in(sort, owing, behind=behind)
    seen = []
    page_number = 1
    while True:
        page = treasury.arrears_page(
            now=NOW,
            page=page_number,
            per_page=per_page,
            only_behind_standing=behind,
            sort=sort,
        )
        seen += [(line.arrears, line.member.member_number) for line in page.items]
        if not page.has_next:
            break
        page_number += 1
    assert seen == expected


@pytest.mark.parametrize("behind", [False, True])
@pytest.mark.parametrize(
    "order", [order.value for order in treasury.ARREARS_SORTS.every_order()]
)
def test_the_csv_holds_the_whole_list_in_the_same_order(owing, make, behind, order):
    sort = treasury.ARREARS_SORTS.read(order)
    treasurer = make.user(roles=(Role.TREASURER,))
    lines = list(
        treasury.arrears_csv(
            only_behind_standing=behind, sort=sort, actor=treasurer, now=NOW
        )
    )
    assert lines[0] == "member_number,months_owed,in_good_standing,card_retrying\r\n"
    rows = [line.rstrip("\r\n").split(",") for line in lines[1:]]
    assert [(int(owed), int(number)) for number, owed, _good, _retry in rows] == (
        _expected_in(sort, owing, behind=behind)
    )
    retrying = owing["retrying"].member_number
    assert [row[3] for row in rows if int(row[0]) == retrying] == (
        [] if behind else ["yes"]
    )
