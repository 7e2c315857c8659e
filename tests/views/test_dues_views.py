import csv
import io
import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from union import clock
from union.clock import utcnow
from union.db import db
from union.models import (
    DuesNotice,
    DuesPayment,
    DuesWaiver,
    MemberStatus,
    PaymentMethod,
    Remittance,
    Role,
    WaiverStatus,
)
from union.services import dues, ledger


def test_without_stripe_the_dues_page_offers_cash_only(client, world):
    client.sign_in("member@example.org")
    page = client.get("/dues").get_data(as_text=True)
    assert (
        "Card payment isn&#39;t available" in page
        or "Card payment isn't available" in page
    )
    response = client.submit("/dues/card/subscribe", page="/dues")
    assert response.status_code == 302
    flashed = client.get("/dues").get_data(as_text=True)
    assert "Pay a delegate in cash instead." in flashed
    assert client.post("/stripe/webhook", data=b"{}").status_code == 400


def test_the_dues_page_shows_standing_history_and_receipts(client, world):
    client.sign_in("member@example.org")
    page = client.get("/dues").get_data(as_text=True)
    assert "You are in good standing." in page
    assert f'href="/dues/receipts/{world.receipt.receipt_number}"' in page
    assert "Paid through November 2026." in page
    receipt = client.get(f"/dues/receipts/{world.receipt.receipt_number}").get_data(
        as_text=True
    )
    assert "$22.00, including the $11.00 initiation fee" in receipt
    assert "November 2026" in receipt
    assert "data-print hidden>Print</button>" in receipt
    assert "js/enhance.js" in receipt


def first_card_payment(make, world, email="new@example.org"):
    """A member who has just joined and paid their first month and the initiation
    fee by card, as the webhook records it."""
    user = make.user(email, name=None)
    member = make.member(world.here, user=user, name="Zoë Card")
    return make.payment(
        member,
        method=PaymentMethod.CARD_ONE_OFF,
        amount_cents=2200,
        initiation_cents=1100,
        stripe_invoice_id="in_first_card",
    )


def test_a_card_payment_has_a_receipt_that_names_the_initiation_fee(
    client, world, make
):
    payment = first_card_payment(make, world)
    client.sign_in("new@example.org")
    url = f"/dues/payments/{payment.id}/receipt"
    for listing in ("/dues", "/dues/history"):
        page = client.get(listing).get_data(as_text=True)
        assert f'href="{url}"' in page, listing
        assert "$22.00, including the $11.00 initiation fee" in page, listing
    receipt = client.get(url).get_data(as_text=True)
    assert "<h1>Receipt for a card payment</h1>" in receipt
    assert "$22.00, including the $11.00 initiation fee" in receipt
    assert "November 2026" in receipt and "Card, one payment" in receipt
    assert "data-print hidden>Print</button>" in receipt
    client.sign_out()
    client.sign_in("member@example.org")
    assert client.get(url).status_code == 404


def test_a_later_card_payment_says_nothing_of_the_fee(client, world, make):
    payment = make.payment(
        world.member, method=PaymentMethod.CARD_SUBSCRIPTION, amount_cents=1100
    )
    client.sign_in("member@example.org")
    receipt = client.get(f"/dues/payments/{payment.id}/receipt").get_data(as_text=True)
    assert "$11.00" in receipt and "initiation" not in receipt


def test_the_treasurer_and_the_members_steward_open_card_receipts_from_the_ledger(
    client, world, make
):
    payment = first_card_payment(make, world)
    client.sign_in("treasurer@example.org")
    ledger_page = client.get("/treasurer/ledger").get_data(as_text=True)
    url = f"/dues/payments/{payment.id}/receipt"
    assert f'href="{url}"' in ledger_page
    assert "$22.00, including the $11.00 initiation fee" in ledger_page
    assert client.get(url).status_code == 200
    client.sign_out()
    client.sign_in("steward@example.org")
    assert client.get(url).status_code == 200


def test_only_card_payments_have_a_receipt_by_payment(client, world):
    client.sign_in("treasurer@example.org")
    cash = f"/dues/payments/{world.receipt.id}/receipt"
    assert client.get(cash).status_code == 404
    assert client.get("/dues/payments/99999999/receipt").status_code == 404
    assert client.get("/dues/payments/99999999999999/receipt").status_code == 404


def test_a_delegate_records_cash_and_the_member_sees_the_receipt(client, world, make):
    client.sign_in("steward@example.org")
    url = f"/members/{world.member.public_id}/payments/new"
    form = client.get(url).get_data(as_text=True)
    assert "2 months: $22.00" in form
    response = client.submit(
        url,
        {
            "method": "cash",
            "months": "2",
            "amount": "22",
            "paid_on": "2026-11-20",
            "reference": "",
        },
    )
    assert response.status_code == 302
    number = int(response.headers["Location"].rsplit("/", 1)[1])
    assert number == world.receipt.receipt_number + 1
    client.sign_out()
    client.sign_in("member@example.org")
    receipt = client.get(f"/dues/receipts/{number}").get_data(as_text=True)
    assert "December 2026, January 2027" in receipt


def test_a_wrong_amount_is_explained_and_nothing_is_saved(client, world):
    client.sign_in("steward@example.org")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(DuesPayment))
    response = client.submit(
        f"/members/{world.member.public_id}/payments/new",
        {"method": "cash", "months": "1", "amount": "5", "paid_on": "2026-11-20"},
    )
    page = response.get_data(as_text=True)
    assert "For 1 months the amount is $11.00." in page
    assert 'value="5"' in page
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(DuesPayment)) == before
    )


def test_cash_for_a_member_outside_the_delegates_workplaces_is_404(client, world):
    client.sign_in("steward@example.org")
    url = f"/members/{world.stranger.public_id}/payments/new"
    assert client.get(url).status_code == 404
    response = client.submit(
        url,
        {"method": "cash", "months": "1", "amount": "11", "paid_on": "2026-11-20"},
        page="/dues/remittance",
    )
    assert response.status_code == 404


def test_the_delegate_remittance_shows_receipts_and_the_split(client, world):
    client.sign_in("steward@example.org")
    page = client.get("/dues/remittance?month=2026-11").get_data(as_text=True)
    assert f">{world.receipt.receipt_number}</a>" in page
    assert "$22.00" in page and "$11.00" in page
    assert "Not yet confirmed by the treasurer<" in page


@pytest.fixture
def december():
    """The pages read in December, once November (every test's receipts' month)
    has ended."""
    with clock.pinned(datetime(2026, 12, 7, 20, 44, tzinfo=UTC)):
        yield


def test_the_treasurer_confirms_a_remittance(client, world, december):
    client.sign_in("treasurer@example.org")
    page = client.get("/treasurer/remittances?month=2026-11").get_data(as_text=True)
    assert "Confirm received" in page
    steward = world.accounts["steward"].id
    client.submit_and_confirm(
        f"/treasurer/remittances/{steward}/2026-11",
        page="/treasurer/remittances?month=2026-11",
    )
    remittance = db.session.scalar(sa.select(Remittance))
    assert (
        remittance.total_cents,
        remittance.parent_cents,
        remittance.branch_cents,
    ) == (2200, 1100, 1100)


def test_a_receipt_after_the_confirmation_is_flagged_and_confirmed_on_its_own(
    client, world, make, december
):
    client.sign_in("treasurer@example.org")
    steward = world.accounts["steward"]
    month_page = "/treasurer/remittances?month=2026-11"
    client.submit_and_confirm(
        f"/treasurer/remittances/{steward.id}/2026-11", page=month_page
    )
    assert "Confirmed" in client.get(month_page).get_data(as_text=True)
    late = make.member(world.member.employments[0].workplace)
    ledger.record_hand_payment(
        late,
        method=PaymentMethod.CASH,
        months=1,
        amount_cents=dues.quote(late, 1).total_cents,
        paid_on=make.now.date(),
        reference=None,
        actor=steward,
        now=make.now,
    )
    db.session.commit()
    page = client.get(month_page).get_data(as_text=True)
    assert "1 receipt ($22.00) written after this month was confirmed" in page
    assert "Confirm the late receipts" in page
    assert "$44.00" in page  # the total, with shares that add up to it
    detail = client.get(f"/treasurer/remittances/{steward.id}/2026-11")
    text = detail.get_data(as_text=True)
    assert "Confirmed by the treasurer on" in text and ".." not in text
    assert "written after the month was confirmed" in text
    client.submit_and_confirm(
        f"/treasurer/remittances/{steward.id}/2026-11", page=month_page
    )
    parts = db.session.scalars(sa.select(Remittance).order_by(Remittance.id)).all()
    assert [part.total_cents for part in parts] == [2200, 2200]


def test_the_month_still_running_has_no_confirm_button(client, world):
    client.sign_in("treasurer@example.org")
    this_month = utcnow().strftime("%Y-%m")  # the pinned clock's November
    page = client.get(f"/treasurer/remittances?month={this_month}")
    text = page.get_data(as_text=True)
    assert "This month is still running" in text
    assert "Confirm received" not in text
    steward = world.accounts["steward"].id
    client.submit(
        f"/treasurer/remittances/{steward}/{this_month}",
        {"confirmed": "yes"},
        page=f"/treasurer/remittances?month={this_month}",
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Remittance)) == 0


def test_a_remittance_month_the_treasurer_did_not_name_is_no_such_page(client, world):
    """A malformed month once meant this month, and confirmed it."""
    client.sign_in("treasurer@example.org")
    steward = world.accounts["steward"].id
    for month in ("2026-13", "11-2026", "latest", "2026-11-01"):
        url = f"/treasurer/remittances/{steward}/{month}"
        assert client.get(url).status_code == 404
        response = client.submit(url, page="/treasurer/remittances")
        assert response.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Remittance)) == 0


def test_a_member_asks_for_a_waiver_and_the_treasurer_sees_a_case_number_not_a_name(
    client, world, make
):
    client.sign_in("member@example.org")
    client.submit(
        "/dues/waiver",
        {
            "reason": "illness_or_injury",
            "first_month": "2026-11",
            "last_month": "2026-11",
        },
    )
    client.sign_out()
    client.sign_in("treasurer@example.org")
    page = client.get("/treasurer/waivers").get_data(as_text=True)
    assert "Illness or injury" in page
    assert "Robin" not in page and "member@example.org" not in page
    case = db.session.scalar(
        sa.select(DuesWaiver).where(DuesWaiver.reason == "illness_or_injury")
    )
    assert f"Case {case.case_number}" in page
    client.submit(
        f"/treasurer/waivers/{case.case_number}/grant", page="/treasurer/waivers"
    )
    db.session.expire_all()
    assert case.status is WaiverStatus.GRANTED


def test_a_bad_waiver_request_keeps_what_was_typed(client, world):
    client.sign_in("member@example.org")
    response = client.submit(
        "/dues/waiver",
        {"reason": "other", "first_month": "2026-12", "last_month": "2026-10"},
    )
    page = response.get_data(as_text=True)
    assert "The last month is before the first." in page
    assert 'value="2026-12"' in page


def test_changing_level_without_stripe_takes_effect_next_month(client, world):
    client.sign_in("member@example.org")
    regular = dues.level_by_code("regular")
    response = client.submit(
        "/dues/level", {"dues_level": str(regular.id)}, page="/dues"
    )
    assert response.status_code == 302
    page = client.get("/dues").get_data(as_text=True)
    assert "Your new level starts in December 2026." in page
    # What it will cost, and from when, beside the level's name.
    dollars, cents = divmod(regular.monthly_cents_on(date(2026, 12, 1)) or 0, 100)
    shown = rf"From December 2026</dt><dd>[^<]*: \${dollars}\.{cents:02d} a month"
    assert re.search(shown, page)
    tampered = client.submit("/dues/level", {"dues_level": "99999"}, page="/dues")
    assert tampered.status_code == 400


def test_the_treasurer_pages_show_totals_ledger_and_arrears(client, world, make):
    behind = make.member(world.here, name="Behind Person", joined_on=date(2026, 5, 1))
    make.payment(behind, 1)
    client.sign_in("treasurer@example.org")
    overview = client.get("/treasurer/").get_data(as_text=True)
    assert "<svg" in overview and "Dues received each month, by method" in overview
    ledger = client.get(
        "/treasurer/ledger?method=cash&from_month=2026-11&to_month=2026-11"
    ).get_data(as_text=True)
    assert "2 payments, $33.00 in all." in ledger
    arrears = client.get("/treasurer/arrears?behind=1").get_data(as_text=True)
    assert "Behind Person" in arrears and "not in good standing" in arrears


def test_the_ledger_csv_is_escaped_has_no_names_and_is_audited(client, world, make):
    client.sign_in("treasurer@example.org")
    response = client.get("/treasurer/ledger.csv")
    assert response.mimetype == "text/csv"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="ledger-2026-11-22.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:4] == ["paid_on", "member_number", "method", "amount"]
    assert any(
        row[1] == str(world.member.member_number) and row[3] == "22.00"
        for row in rows[1:]
    )
    assert "Robin" not in response.get_data(as_text=True)


def test_the_treasurer_schedules_a_new_amount_and_adds_a_level(client, world):
    client.sign_in("treasurer@example.org")
    minimum = dues.level_by_code("minimum")
    response = client.submit(
        f"/treasurer/levels/{minimum.id}",
        {"form": "rate", "rate-monthly_amount": "12", "rate-effective_on": "2027-01"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert [r.monthly_cents for r in dues.level_by_code("minimum").rates] == [
        1100,
        1200,
    ]
    bad = client.submit(
        "/treasurer/levels",
        {
            "code": "x y",
            "name": "",
            "bracket": "",
            "monthly_amount": "0",
            "effective_on": "2020-01",
        },
    )
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "Give the level a name." in page and "Enter an amount above zero." in page


def test_the_treasurer_words_a_level_in_french_for_french_readers(client, world):
    client.sign_in("treasurer@example.org")
    regular = dues.level_by_code("regular")
    response = client.submit(
        f"/treasurer/levels/{regular.id}",
        {
            "form": "text",
            "name": "Regular",
            "bracket": "$2,000 to $3,500 a month",
            "name_fr": "Ordinaire",
            "bracket_fr": "Entre 2 000 $ et 3 500 $ par mois",
        },
    )
    assert response.status_code == 302
    db.session.refresh(regular)
    assert (regular.name_fr, regular.bracket_fr) == (
        "Ordinaire",
        "Entre 2 000 $ et 3 500 $ par mois",
    )
    member = client.application.test_client()
    member.sign_in("member@example.org")
    french = member.get("/dues", headers={"Accept-Language": "fr"}).get_data(
        as_text=True
    )
    english = member.get("/dues", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "Entre 2 000 $ et 3 500 $ par mois" in french
    assert "Entre 2 000 $" not in english and "$2,000 to $3,500 a month" in english


def test_dues_settings_are_bounded(client, world):
    client.sign_in("treasurer@example.org")
    bad = client.submit(
        "/treasurer/settings",
        {"good_standing_max_arrears": "40", "parent_union_share_percent": "50"},
    )
    assert "Choose from 0 to 12." in bad.get_data(as_text=True)
    client.submit(
        "/treasurer/settings",
        {"good_standing_max_arrears": "1", "parent_union_share_percent": "60"},
    )
    from union.services import settings

    assert settings.current_settings().good_standing_max_arrears == 1


def test_reminders_go_once_a_month_and_never_to_someone_with_a_waiver(
    app, make, outbox
):
    here = make.workplace()
    behind = make.member(here, account=True, joined_on=date(2026, 6, 1))
    waiting = make.member(here, account=True, joined_on=date(2026, 6, 1))
    up_to_date = make.member(here, account=True, joined_on=date(2026, 6, 1))
    make.payment(up_to_date, 6)
    from union.models import WaiverReason
    from union.services import waivers

    waivers.request_waiver(
        waiting,
        reason=WaiverReason.OTHER,
        first_month=date(2026, 11, 1),
        last_month=date(2026, 11, 1),
        actor=make.user(),
        now=make.now,
    )
    runner = app.test_cli_runner()
    first = runner.invoke(args=["union", "send-dues-reminders"])
    assert "Reminders: 1 queued to send." in first.output, first.output
    # (The other email is the receipt for up_to_date's payment.)
    reminders = [m for m in outbox if m.subject == "A reminder about your union dues"]
    assert [m.to for m in reminders] == [behind.user.email]
    assert "6 months of union dues not yet paid" in reminders[0].body
    second = runner.invoke(args=["union", "send-dues-reminders"])
    assert "Reminders: 0 queued to send." in second.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DuesNotice)) == 1


def test_stewards_see_a_members_standing_and_can_record_from_there(client, world):
    client.sign_in("steward@example.org")
    page = client.get(f"/members/{world.member.public_id}").get_data(as_text=True)
    assert "In good standing." in page
    assert f"/members/{world.member.public_id}/payments/new" in page


def test_the_dues_page_takes_the_same_queries_for_a_long_history(
    client, world, make, count_queries
):
    client.sign_in("member@example.org")
    with count_queries() as short:
        client.get("/dues")
    for _ in range(24):
        make.payment(world.member, 1, method=PaymentMethod.CARD_SUBSCRIPTION)
    db.session.flush()
    with count_queries() as long:
        client.get("/dues")
    assert long.count == short.count
    assert Role.MEMBER


def test_the_dues_page_shows_the_latest_payments_and_links_to_them_all(
    client, world, make
):
    for _ in range(24):
        make.payment(world.member, 1, method=PaymentMethod.CARD_SUBSCRIPTION)
    db.session.commit()
    client.sign_in("member@example.org")
    page = client.get("/dues").get_data(as_text=True)
    latest = page.split("<h2>Latest payments</h2>")[1]
    assert latest.count('<th scope="row">') == 12
    # Newest first, each with the month it covered: the last twelve of the 24 paid
    # ahead after November 2026, December 2027 to November 2028.
    months = re.findall(r'data-label="Months">([^<]*)<', latest)
    assert months[0] == "November 2028" and months[-1] == "December 2027"
    assert 'href="/dues/history"' in page and "See all 25 payments" in page
    history = client.get("/dues/history").get_data(as_text=True)
    assert "25 payments." in history
    assert history.count('<th scope="row">') == 25
    assert f'href="/dues/receipts/{world.receipt.receipt_number}"' in history
    assert "November 2026" in history  # the months of the oldest payment


def test_a_short_history_has_no_link_to_more(client, world):
    client.sign_in("member@example.org")
    page = client.get("/dues").get_data(as_text=True)
    assert "/dues/history" not in page
    assert "1 payment." in client.get("/dues/history").get_data(as_text=True)


def test_the_ledger_filter_has_no_error_before_anything_is_chosen(client, world):
    """It said "Not a valid choice." on first load and on page 2."""
    client.sign_in("treasurer@example.org")
    for url in ("/treasurer/ledger", "/treasurer/ledger?page=2"):
        page = client.get(url).get_data(as_text=True)
        assert "Not a valid choice" not in page, url
        assert 'class="field-error"' not in page, url
    chosen = client.get("/treasurer/ledger?method=wire").get_data(as_text=True)
    assert "Not a valid choice" in chosen


def test_an_applicant_is_told_their_application_waits_not_that_they_are_in_good_standing(
    client, make, world
):
    applicant_user = make.user("applicant@example.org", name=None)
    make.member(world.here, user=applicant_user, status=MemberStatus.APPLICANT)
    client.sign_in("applicant@example.org")
    page = client.get("/dues").get_data(as_text=True)
    assert "Your application is waiting for a steward to accept it." in page
    assert "You are in good standing." not in page


def test_without_stripe_the_levels_page_says_card_payments_are_off(client, world):
    client.sign_in("treasurer@example.org")
    page = client.get("/treasurer/levels").get_data(as_text=True)
    assert "Card payments are off" in page
    assert "card payments off" in page
    assert "flask --app" not in page and "stripe-setup" not in page
    response = client.submit(
        "/treasurer/levels",
        {
            "name": "Solidarity",
            "code": "solidarity",
            "bracket": "Over $5,000 a month",
            "monthly_amount": "44",
            "effective_on": "2026-12",
        },
    )
    assert response.status_code == 302
    page = client.get("/treasurer/levels").get_data(as_text=True)
    assert "Level added." in page and "by card" not in page
    retried = client.submit("/treasurer/levels/card-setup", page="/treasurer/levels")
    assert retried.status_code == 302
    assert "Card payments are off" in client.get("/treasurer/levels").get_data(
        as_text=True
    )
