"""Sorting the workplaces, the roster, the ledger and the arrears list: every key
both ways, ties in one order, bad values ignored, the order kept across pages and
filters; the ledger's totals; the arrears CSV and the treasurer's page for one
member's dues."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date

import pytest
import sqlalchemy as sa

from union.db import db
from union.models import AuditEvent, PaymentMethod
from union.services import ledger, members, treasury, workplaces

#: Sort values a URL may carry that no table offers.
BAD_ORDERS = ("nonsense", "-", "--date", "date;drop table", "AMOUNT", " name", "0")


def rows(page: str) -> list[str]:
    """The row headers of the page's table body, as text (a line break kept)."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        html.unescape(re.sub(r"<[^>]+>", "", cell.replace("<br>", "\n"))).strip()
        for cell in re.findall(r'<th scope="row">(.*?)</th>', body, re.S)
    ]


def cells(page: str, label: str) -> list[str]:
    """The values of one column, by its data-label, as text."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
        for cell in re.findall(rf'<td[^>]*data-label="{label}">(.*?)</td>', body, re.S)
    ]


def links(page: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'href="([^"]+)"', page)]


# The ledger ----------------------------------------------------------------------


@pytest.fixture
def payments(world, make):
    """Four payments besides the world's ($22.00 on 2026-11-22, member 1001):
    different days, amounts and members, and two that tie on amount and day."""
    made = []
    for name, cents, paid_on in (
        ("Ledger Ash", 600, date(2026, 9, 3)),
        ("Ledger Bo", 3300, date(2026, 10, 14)),
        ("Ledger Cy", 1100, date(2026, 11, 2)),
        ("Ledger Di", 1100, date(2026, 11, 2)),
    ):
        member = make.member(world.here, name=name, joined_on=date(2026, 9, 1))
        made.append(make.payment(member, 1, amount_cents=cents, paid_on=paid_on))
    return [world.receipt, *made]


def ledger_numbers(client, query: str = "") -> list[int]:
    page = client.get(f"/treasurer/ledger{query}").get_data(as_text=True)
    return [int(cell.split()[0]) for cell in cells(page, "Member")]


def test_the_ledger_sorts_by_each_column_both_ways(client, payments):
    client.sign_in("treasurer@example.org")

    def numbers(ordered):
        return [payment.member.member_number for payment in ordered]

    by_date = sorted(payments, key=lambda p: (p.paid_on, p.id))
    by_member = sorted(payments, key=lambda p: (p.member.member_number, p.id))
    by_amount = sorted(payments, key=lambda p: (p.amount_cents, p.id))
    for query, ordered in (
        ("?sort=date", by_date),
        ("?sort=-date", by_date[::-1]),
        ("?sort=member", by_member),
        ("?sort=-member", by_member[::-1]),
        ("?sort=amount", by_amount),
        ("?sort=-amount", by_amount[::-1]),
    ):
        assert ledger_numbers(client, query) == numbers(ordered), query
    assert ledger_numbers(client) == numbers(by_date[::-1])


@pytest.mark.parametrize("bad", BAD_ORDERS)
def test_an_order_the_ledger_does_not_offer_shows_the_newest_first(
    client, payments, bad
):
    client.sign_in("treasurer@example.org")
    response = client.get("/treasurer/ledger", query_string={"sort": bad})
    assert response.status_code == 200
    assert ledger_numbers(client, f"?sort={bad}") == ledger_numbers(client)
    page = response.get_data(as_text=True)
    assert "Not a valid choice" not in page
    assert '<option selected value="-date">Newest first</option>' in page
    assert (
        client.get("/treasurer/ledger.csv", query_string={"sort": bad}).status_code
        == 200
    )


def test_the_sorted_column_says_so_and_its_link_turns_the_order_round(client, payments):
    client.sign_in("treasurer@example.org")
    page = client.get("/treasurer/ledger?sort=-amount&method=cash").get_data(
        as_text=True
    )
    header = re.search(
        r'<th scope="col" class="number" aria-sort="descending">(.*?)</th>', page
    )
    assert header is not None
    assert "Amount" in header.group(1) and "▼" in header.group(1)
    assert page.count("aria-sort=") == 1
    assert "/treasurer/ledger?sort=amount&method=cash" in links(page) or (
        "/treasurer/ledger?method=cash&sort=amount" in links(page)
    )
    ascending = client.get("/treasurer/ledger?sort=amount").get_data(as_text=True)
    assert 'aria-sort="ascending"' in ascending and "▲" in ascending


def test_the_order_is_kept_across_pages_and_filters(client, world, make):
    member = make.member(world.here, joined_on=date(2020, 1, 1))
    for _ in range(55):
        make.payment(member, 1, amount_cents=1100)
    client.sign_in("treasurer@example.org")
    page = client.get("/treasurer/ledger?sort=-amount&method=cash").get_data(
        as_text=True
    )
    following = next(link for link in links(page) if "page=2" in link)
    assert "sort=-amount" in following and "method=cash" in following
    # A header starts from the first page, keeping the filters.
    headers = [link for link in links(page) if "sort=member" in link]
    assert headers and all(
        "page=" not in link and "method=cash" in link for link in headers
    )
    # The filter form carries the order, and so does the CSV link.
    assert '<option selected value="-amount">' in page
    export = next(link for link in links(page) if "ledger.csv" in link)
    assert "sort=-amount" in export and "method=cash" in export
    first = cells(page, "Amount")
    second = cells(client.get(following).get_data(as_text=True), "Amount")
    assert len(first) == 50 and len(second) == 6
    assert first[0].startswith("$22.00, including") and set(first[1:] + second) == {
        "$11.00"
    }


def test_ties_keep_one_order_from_page_to_page(make, now):
    member = make.member(joined_on=date(2020, 1, 1))
    paid = [make.payment(member, 1, amount_cents=1100) for _ in range(7)]
    for order in ("amount", "-amount", "date", "-date", "member", "-member"):
        sort = treasury.LEDGER_SORTS.read(order)
        seen = []
        for number in (1, 2, 3):
            found = treasury.ledger_page(
                treasury.LedgerFilter(), sort=sort, page=number, per_page=3
            )
            seen += [payment.id for payment in found.page.items]
        ids = sorted(payment.id for payment in paid)
        assert seen == (ids[::-1] if sort.descending else ids), order


def test_the_ledger_counts_and_adds_up_what_its_filters_match(client, world, make):
    member = make.member(world.here, joined_on=date(2026, 1, 1))
    make.payment(member, 2, amount_cents=2200, paid_on=date(2026, 10, 5))
    card = make.payment(
        member,
        3,
        method=PaymentMethod.CARD_ONE_OFF,
        amount_cents=3300,
        paid_on=date(2026, 11, 5),
    )
    ledger.record_refund(card, refunded_cents=1000, now=make.now)
    client.sign_in("treasurer@example.org")
    everything = client.get("/treasurer/ledger").get_data(as_text=True)
    assert "3 payments, $77.00 in all." in everything
    assert "$10.00 of it went back in refunds or disputes." in everything
    cash = client.get("/treasurer/ledger?method=cash").get_data(as_text=True)
    assert "2 payments, $44.00 in all." in cash and "went back" not in cash
    october = client.get(
        "/treasurer/ledger?from_month=2026-10&to_month=2026-10"
    ).get_data(as_text=True)
    assert "1 payment, $22.00 in all." in october
    nothing = client.get("/treasurer/ledger?from_month=2030-01").get_data(as_text=True)
    assert "0 payments, $0.00 in all." in nothing


def test_the_totals_are_one_query(make, count_queries):
    member = make.member(joined_on=date(2025, 1, 1))
    for _ in range(20):
        make.payment(member, 1)
    with count_queries() as counter:
        totals = treasury.ledger_totals(
            treasury.LedgerFilter(method=PaymentMethod.CASH)
        )
    assert counter.count == 1
    assert (totals.payments, totals.amount_cents) == (20, 20 * 1100)


def test_the_ledger_csv_follows_the_pages_order(client, payments):
    client.sign_in("treasurer@example.org")
    response = client.get("/treasurer/ledger.csv?sort=amount")
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert [line[3] for line in lines[1:]] == [
        "6.00",
        "11.00",
        "11.00",
        "22.00",
        "33.00",
    ]


# The arrears list -----------------------------------------------------------------


@pytest.fixture
def behind(world, make):
    """Members owing 7 (left in September, counted month by month), 6, 3 and 3
    months; the world's stranger owes 1 and its member nothing."""
    made = {
        "six": make.member(world.here, name="Owes Six", joined_on=date(2026, 6, 1)),
        "three": make.member(world.here, name="Owes Three", joined_on=date(2026, 9, 1)),
        "tie": make.member(world.there, name="Ties Three", joined_on=date(2026, 9, 1)),
        "left": make.member(world.here, name="Left Early", joined_on=date(2026, 3, 1)),
    }
    made["left"].left_on = date(2026, 9, 30)
    db.session.flush()
    return made


def arrears_rows(client, query: str = "") -> list[tuple[int, int]]:
    page = client.get(f"/treasurer/arrears{query}").get_data(as_text=True)
    numbers = [int(row.split()[0]) for row in rows(page)]
    owed = [int(value) for value in cells(page, "Months owed")]
    return list(zip(numbers, owed, strict=True))


def test_the_arrears_list_sorts_by_months_owed_and_by_member_both_ways(
    client, world, behind
):
    client.sign_in("treasurer@example.org")
    owed = {
        behind["left"].member_number: 7,
        behind["six"].member_number: 6,
        behind["three"].member_number: 3,
        behind["tie"].member_number: 3,
        world.stranger.member_number: 1,
    }
    most_first = sorted(owed.items(), key=lambda line: (-line[1], line[0]))
    by_number = sorted(owed.items())
    assert arrears_rows(client) == most_first
    assert arrears_rows(client, "?sort=-owed") == most_first
    assert arrears_rows(client, "?sort=owed") == most_first[::-1]
    assert arrears_rows(client, "?sort=member") == by_number
    assert arrears_rows(client, "?sort=-member") == by_number[::-1]
    for bad in BAD_ORDERS:
        assert arrears_rows(client, f"?sort={bad}") == most_first, bad


def test_the_arrears_order_is_kept_by_its_filter_links_and_csv(client, behind):
    client.sign_in("treasurer@example.org")
    page = client.get("/treasurer/arrears?sort=member").get_data(as_text=True)
    found = links(page)
    assert "/treasurer/arrears?behind=1&sort=member" in found
    assert "/treasurer/arrears.csv?sort=member" in found
    assert '<option selected value="member">' in page
    assert 'aria-sort="ascending"' in page
    behind_only = client.get("/treasurer/arrears?behind=1&sort=-member").get_data(
        as_text=True
    )
    # The sort form keeps the filter in a hidden field.
    assert '<input type="hidden" name="behind" value="1">' in behind_only
    assert "/treasurer/arrears.csv?behind=1&sort=-member" in links(behind_only)


def test_arrears_rows_open_the_members_dues(client, world, behind):
    client.sign_in("treasurer@example.org")
    page = client.get("/treasurer/arrears").get_data(as_text=True)
    six = behind["six"]
    assert f"/treasurer/members/{six.public_id}" in links(page)
    dues_page = client.get(f"/treasurer/members/{six.public_id}")
    assert dues_page.status_code == 200
    text = dues_page.get_data(as_text=True)
    assert f"Dues of member {six.member_number}" in text
    assert "Owes Six" in text and "6 months owed." in text
    assert "Not in good standing." in text
    assert "Their whole record" not in text
    viewed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.action == "member.viewed",
            AuditEvent.subject_id == str(six.id),
        )
    )
    assert viewed == 1


def test_the_members_dues_page_lists_payments_and_never_personal_details(client, world):
    world.member.legal_name = "Legal Secret Name"
    world.member.phone = "416 555 0199"
    db.session.flush()
    client.sign_in("treasurer@example.org")
    text = client.get(f"/treasurer/members/{world.member.public_id}").get_data(
        as_text=True
    )
    assert "1 payment." in text and "$22.00" in text
    assert f">{world.receipt.receipt_number}</a>" in text
    assert "Legal Secret Name" not in text and "0199" not in text
    assert "member@example.org" not in text
    client.sign_out()
    client.sign_in("admin@example.org")
    admin = client.get(f"/treasurer/members/{world.member.public_id}").get_data(
        as_text=True
    )
    assert f"/members/{world.member.public_id}" in links(admin)


def test_no_such_member_is_404(client, world):
    client.sign_in("treasurer@example.org")
    assert client.get("/treasurer/members/not-a-member").status_code == 404
    assert client.get("/treasurer/members/" + "f" * 24).status_code == 404


def test_the_arrears_csv_has_the_lists_filter_and_order_and_no_names(
    client, world, behind
):
    client.sign_in("treasurer@example.org")
    response = client.get("/treasurer/arrears.csv?sort=member")
    assert response.mimetype == "text/csv"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="arrears-2026-11-22.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == [
        "member_number",
        "months_owed",
        "in_good_standing",
        "card_retrying",
    ]
    assert [int(line[0]) for line in lines[1:]] == sorted(
        int(line[0]) for line in lines[1:]
    )
    assert len(lines) == 6
    assert [
        line[1:] for line in lines[1:] if int(line[0]) == world.stranger.member_number
    ] == [["1", "yes", "no"]]
    assert "Owes" not in text and "Sky" not in text
    only_behind = client.get("/treasurer/arrears.csv?behind=1&sort=-owed")
    behind_lines = list(csv.reader(io.StringIO(only_behind.get_data(as_text=True))))
    assert [line[1] for line in behind_lines[1:]] == ["7", "6", "3", "3"]
    assert {line[2] for line in behind_lines[1:]} == {"no"}
    exported = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "arrears.exported")
    )
    assert exported == 2


# The roster -------------------------------------------------------------------------


@pytest.fixture
def roster(world, make):
    """Members of workplace A joined on different days, two with the same name."""
    return [
        make.member(world.here, name="Avery", joined_on=date(2025, 3, 1)),
        make.member(world.here, name="Zed", joined_on=date(2024, 7, 9)),
        make.member(world.here, name="Avery", joined_on=date(2026, 2, 2)),
        make.member(world.here, name="Mo", joined_on=date(2026, 2, 2)),
    ]


def roster_numbers(client, query: str = "") -> list[int]:
    page = client.get(f"/members/{query}").get_data(as_text=True)
    return [int(cell) for cell in cells(page, "Member number")]


@pytest.mark.parametrize("who", ["steward@example.org", "admin@example.org"])
def test_the_roster_sorts_by_name_number_and_joining_both_ways(
    client, world, roster, who
):
    client.sign_in(who)
    shown = [world.member, *roster]
    if who == "admin@example.org":
        shown.append(world.stranger)
    by_name = sorted(shown, key=lambda m: (m.chosen_name, m.member_number))
    by_number = sorted(shown, key=lambda m: m.member_number)
    by_joining = sorted(shown, key=lambda m: (m.joined_on, m.member_number))

    def numbers(ordered):
        return [member.member_number for member in ordered]

    assert roster_numbers(client) == numbers(by_name)
    for query, ordered in (
        ("?sort=name", by_name),
        ("?sort=-name", by_name[::-1]),
        ("?sort=number", by_number),
        ("?sort=-number", by_number[::-1]),
        ("?sort=joined", by_joining),
        ("?sort=-joined", by_joining[::-1]),
    ):
        assert roster_numbers(client, query) == numbers(ordered), query
    for bad in BAD_ORDERS:
        assert roster_numbers(client, f"?sort={bad}") == numbers(by_name), bad


def test_a_sorted_roster_still_shows_a_steward_only_their_members(
    client, world, roster
):
    client.sign_in("steward@example.org")
    for order in members.ROSTER_SORTS.every_order():
        page = client.get(f"/members/?sort={order.value}").get_data(as_text=True)
        assert "Sky There" not in page
        assert str(world.stranger.member_number) not in cells(page, "Member number")


def test_the_roster_keeps_its_order_and_search_across_pages(client, world, make):
    for number in range(55):
        make.member(world.here, name=f"Paged {number:02d}")
    client.sign_in("steward@example.org")
    page = client.get("/members/?q=paged&sort=-name").get_data(as_text=True)
    assert rows(page)[0] == "Paged 54"
    following = next(link for link in links(page) if "page=2" in link)
    assert "sort=-name" in following and "q=paged" in following
    assert rows(client.get(following).get_data(as_text=True)) == [
        f"Paged {number:02d}" for number in range(4, -1, -1)
    ]
    assert '<option selected value="-name">Name, Z to A</option>' in page


# Workplaces -------------------------------------------------------------------------


@pytest.fixture
def agencies(world, make):
    """Workplaces with and without headcounts and contracts, members and grants."""
    big = make.workplace("Big Agency", headcount=100)
    small = make.workplace("Small Agency", headcount=4)
    unknown = make.workplace("Unknown Agency", headcount=None)
    for _ in range(3):
        make.member(big)
    make.member(small)
    make.member(small)
    big.contract_expires_on = date(2027, 3, 31)
    small.contract_expires_on = date(2026, 12, 31)
    make.funding(small, ends_on=date(2027, 1, 31), positions=4)
    db.session.flush()
    return {"big": big, "small": small, "unknown": unknown}


def workplace_names(client, query: str = "") -> list[str]:
    page = client.get(f"/workplaces/{query}").get_data(as_text=True)
    return [row.split("\n")[0].strip() for row in rows(page)]


def test_workplaces_sort_by_every_column_both_ways_unknowns_last(
    client, world, agencies
):
    client.sign_in("organizer@example.org")
    by_name = [
        "Big Agency",
        "Here Agency",
        "Small Agency",
        "There Agency",
        "Unknown Agency",
    ]
    assert workplace_names(client) == by_name
    assert workplace_names(client, "?sort=-name") == by_name[::-1]
    # Members now: Big 3, Small 2, Here 1 (Robin), There 1 (Sky), Unknown 0.
    assert workplace_names(client, "?sort=-members") == [
        "Big Agency",
        "Small Agency",
        "Here Agency",
        "There Agency",
        "Unknown Agency",
    ]
    assert workplace_names(client, "?sort=members") == [
        "Unknown Agency",
        "Here Agency",
        "There Agency",
        "Small Agency",
        "Big Agency",
    ]
    # Headcounts 100, 20, 20, 4 and unknown, which is last either way.
    assert workplace_names(client, "?sort=-headcount") == [
        "Big Agency",
        "Here Agency",
        "There Agency",
        "Small Agency",
        "Unknown Agency",
    ]
    assert workplace_names(client, "?sort=headcount") == [
        "Small Agency",
        "Here Agency",
        "There Agency",
        "Big Agency",
        "Unknown Agency",
    ]
    # Density: Small 50%, Here and There 5%, Big 3%, Unknown unknown.
    assert workplace_names(client, "?sort=-density") == [
        "Small Agency",
        "Here Agency",
        "There Agency",
        "Big Agency",
        "Unknown Agency",
    ]
    assert workplace_names(client, "?sort=density")[:2] == ["Big Agency", "Here Agency"]
    assert workplace_names(client, "?sort=density")[-1] == "Unknown Agency"
    assert workplace_names(client, "?sort=-precarious")[0] == "Small Agency"
    assert workplace_names(client, "?sort=precarious")[-1] == "Small Agency"
    assert workplace_names(client, "?sort=contract")[:2] == [
        "Small Agency",
        "Big Agency",
    ]
    assert workplace_names(client, "?sort=-contract")[:2] == [
        "Big Agency",
        "Small Agency",
    ]
    for bad in BAD_ORDERS:
        assert workplace_names(client, f"?sort={bad}") == by_name, bad


def test_the_workplace_order_is_kept_by_the_pending_filter(client, world, agencies):
    client.sign_in("organizer@example.org")
    page = client.get("/workplaces/?sort=-members").get_data(as_text=True)
    assert "/workplaces/?status=pending&sort=-members" in links(page)
    assert '<option selected value="-members">Most members first</option>' in page
    assert page.count("aria-sort=") == 1


def test_a_steward_sorting_workplaces_sees_only_theirs(client, world, agencies):
    client.sign_in("steward@example.org")
    for order in workplaces.WORKPLACE_SORTS.every_order():
        assert workplace_names(client, f"?sort={order.value}") == ["Here Agency"]


def test_every_sorted_table_answers_bad_input_without_an_error(client, world):
    client.sign_in("admin@example.org")
    for url in (
        "/workplaces/",
        "/members/",
        "/treasurer/ledger",
        "/treasurer/arrears",
        "/treasurer/arrears.csv",
        "/treasurer/ledger.csv",
    ):
        for query in (
            {"sort": "x" * 5000},
            {"sort": ["name", "-amount"]},
            {"sort": "<script>", "page": "-3"},
        ):
            assert client.get(url, query_string=query).status_code == 200, url
