"""The main journeys, in a real browser, as the people who make them."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
import stripe
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import (
    DEMO_PASSWORD,
    Journey,
    LiveUnion,
    expect_signed_in,
    menu_link,
    serve_union,
)
from tests.pdftext import pdf_text
from tests.stripe_peer import event
from union.db import db
from union.models import (
    Channel,
    CheckoutAttempt,
    ConsentSource,
    ContactPreference,
    Employment,
    Member,
    MembershipClass,
    MemberStatus,
    MessageConsent,
    PaymentMethod,
    User,
    email_digest,
)
from union.services import dues, ledger, messages, numbers

WORKER_EMAIL = "river.worker@example.org"
WORKER_PASSWORD = "a long enough pass phrase"


def sign_in(
    person: Journey, live: LiveUnion, email: str, password: str = DEMO_PASSWORD
) -> None:
    page = person.page
    page.goto(f"{live.url}/login")
    person.see("sign-in")
    page.get_by_role("textbox", name="Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect_signed_in(page)
    person.see("signed-in")


def choose(select: Locator, text: str) -> None:
    """Picks the option of a select box whose words include `text`."""
    labels = select.locator("option").all_inner_texts()
    [wanted] = [label for label in labels if text in label]
    select.select_option(label=wanted)


def what_checkout_does(live: LiveUnion, stripe_client: stripe.StripeClient) -> None:
    """Stripe Checkout is Stripe's own page: the member's card is saved, the first
    invoice carries the initiation fee, the subscription starts and is paid, and
    Stripe tells the app by webhooks (localstripe sends the invoice event itself)."""

    def the_attempt() -> tuple[str, str, str]:
        attempt = db.session.scalars(sa.select(CheckoutAttempt)).one()
        member = db.session.get_one(Member, attempt.member_id)
        assert attempt.stripe_session_id and member.stripe_customer_id
        return attempt.stripe_session_id, member.stripe_customer_id, member.public_id

    session_id, customer, member_id = live.run(the_attempt)
    session = stripe_client.v1.checkout.sessions.retrieve(session_id)
    price = session.to_dict()["line_items"][0]["price"]
    card = stripe_client.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": customer}
    )
    stripe_client.v1.customers.update(
        customer, params={"invoice_settings": {"default_payment_method": card.id}}
    )
    stripe_client.v1.invoice_items.create(
        params={"customer": customer, "amount": 1100, "currency": "cad"}
    )
    subscription = stripe_client.v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [{"price": price}],
            "metadata": {"member": member_id},
        }
    )
    completed = event(
        "checkout.session.completed",
        {
            "id": session_id,
            "object": "checkout.session",
            "mode": "subscription",
            "customer": customer,
            "subscription": subscription.id,
            "client_reference_id": member_id,
            "payment_status": "paid",
        },
    )
    assert live.deliver(completed) == 200


def test_a_worker_joins_on_a_phone_pays_by_card_and_owes_nothing(
    live_union, journey, stripe_client
):
    worker = journey("worker", phone=True)
    page = worker.page
    page.goto(f"{live_union.url}/join")
    worker.see("join-form")
    page.get_by_label("Your name").fill("River")
    page.get_by_label("Pronouns (optional)").fill("they/them")
    page.get_by_role("textbox", name="Email").fill(WORKER_EMAIL)
    choose(page.get_by_label("Where do you work?"), "Peer Works")
    choose(page.get_by_label("Your job"), "Peer worker")
    page.get_by_label(re.compile(r"^\$11\.00 a month")).check()
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("email")
    worker.see("check-your-email")

    page.goto(live_union.link_in(live_union.last_mail_to(WORKER_EMAIL)))
    worker.see("choose-password")
    page.get_by_label("New password").fill(WORKER_PASSWORD)
    page.get_by_label("Type it again").fill(WORKER_PASSWORD)
    page.get_by_role("button").filter(has_text=re.compile("password", re.I)).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome, River")
    number = page.locator(".big-number").inner_text()
    assert number.strip().isdigit()
    worker.see("welcome")

    menu_link(page, "My dues").click()
    expect(page.get_by_text("You are behind on dues.")).to_have_count(0)
    worker.see("dues-before-paying")
    checkout_pages: list[str] = []

    def stripe_checkout(route):
        checkout_pages.append(route.request.url)
        route.fulfill(
            status=200,
            content_type="text/html",
            body="<!doctype html><html lang='en'><title>Stripe Checkout</title>"
            "<main><h1>Stripe Checkout</h1></main></html>",
        )

    page.route("https://checkout.localstripe.test/**", stripe_checkout)
    page.get_by_role("button", name="Pay by card every month").click()
    expect(page.get_by_role("heading", name="Stripe Checkout")).to_be_visible()
    assert len(checkout_pages) == 1

    what_checkout_does(live_union, stripe_client)
    session_id = checkout_pages[0].rsplit("/", 1)[1]
    deadline = time.monotonic() + 10
    while True:
        page.goto(f"{live_union.url}/dues/card/done?session_id={session_id}")
        if "your payment is in" in page.content() or time.monotonic() > deadline:
            break
        page.wait_for_timeout(200)
    expect(page.get_by_text("your payment is in", exact=False)).to_be_visible()
    worker.see("payment-done")

    menu_link(page, "My dues").click()
    # Paid, and still an applicant until a steward accepts them: told both.
    expect(
        page.get_by_text("Your application is waiting for a steward to accept it.")
    ).to_be_visible()
    expect(page.get_by_text("Nothing owed.")).to_be_visible()
    expect(page.get_by_text("You can already pay")).to_have_count(0)
    expect(page.get_by_text("You pay by card every month.")).to_be_visible()
    worker.see("dues-paid")

    def stored_level() -> str:
        user = db.session.scalars(
            sa.select(User).where(User.email_hash == email_digest(WORKER_EMAIL))
        ).one()
        assert user.member is not None
        return user.member.dues_level.code

    assert live_union.run(stored_level) == "minimum"


def test_a_member_clicks_through_a_card_payment_against_localstripe(
    localstripe_pages, journey, tmp_path, now
):
    """The README's steps for development: localstripe serves a stand-in for
    Stripe's Checkout, the app's CSP lets the member's form lead there because
    STRIPE_REDIRECT_ORIGINS says so, and its button pays and comes back."""
    with serve_union(
        tmp_path, localstripe_pages, now, redirect_origins=(localstripe_pages,)
    ) as live:
        member = journey("member", phone=True)
        page = member.page
        sign_in(member, live, "member@example.org")
        menu_link(page, "My dues").click()
        member.see("dues")
        page.get_by_role("button", name="Pay by card every month").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Test checkout")
        assert page.url.startswith(f"{localstripe_pages}/_config/checkout/cs_")
        member.see("checkout")
        page.get_by_role("button", name="Pay with the test card").click()
        page.wait_for_url(f"{live.url}/dues/card/done?session_id=cs_*")
        deadline = time.monotonic() + 10
        while "your payment is in" not in page.content():
            assert time.monotonic() < deadline, "the payment never came in"
            page.wait_for_timeout(200)
            page.reload()
        member.see("payment-done")
        menu_link(page, "My dues").click()
        expect(page.get_by_text("You pay by card every month.")).to_be_visible()
        member.see("dues-paid")


def test_a_delegate_records_cash_and_the_member_sees_the_receipt(live_union, journey):
    delegate = journey("delegate")
    page = delegate.page
    sign_in(delegate, live_union, "steward@example.org")
    menu_link(page, "Members").click()
    delegate.see("roster")
    page.get_by_label("Name or member number").fill("Demo Member")
    page.get_by_role("button", name="Find").click()
    delegate.see("search-results")
    page.get_by_role("link", name="Demo Member").click()
    delegate.see("member")
    page.get_by_role("link", name="Record cash or e-transfer").click()
    delegate.see("record-payment")
    first_quote = page.locator(".panel li").first.inner_text()
    amount = re.search(r"\$([\d,]+\.\d\d)", first_quote)
    assert amount is not None, first_quote
    page.get_by_label("Cash").check()
    page.get_by_label("Months paid for").select_option("1")
    page.get_by_label("Amount received, in dollars").fill(amount.group(1))
    page.get_by_role("button", name="Record and give a receipt").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Receipt")
    receipt = heading.inner_text().split()[-1]
    delegate.see("receipt")

    member = journey("member", phone=True)
    page = member.page
    sign_in(member, live_union, "member@example.org")
    menu_link(page, "My dues").click()
    member.see("dues")
    page.get_by_role("link", name=receipt, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Receipt {receipt}")
    expect(page.get_by_text("Cash")).to_be_visible()
    expect(page.get_by_text(f"${amount.group(1)}")).to_be_visible()
    member.see("receipt")


NOTE = "Manager said the rate was a mistake; ask for the pay records."


def test_a_steward_files_and_moves_a_grievance_and_the_member_sees_no_note(
    live_union, journey
):
    steward = journey("steward")
    page = steward.page
    sign_in(steward, live_union, "steward@example.org")
    menu_link(page, "Grievances").click()
    steward.see("dashboard")
    page.get_by_role("link", name="Open a case").first.click()
    if page.get_by_label("Workplace").count():
        steward.see("choose-workplace")
        choose(page.get_by_label("Workplace"), "Riverside")
        page.get_by_role("button", name="Next").click()
    steward.see("new-case")
    page.get_by_label("What is it about?").select_option(label="Wage discrepancy")
    page.get_by_label("Short title").fill("Paid less than the site across town")
    page.get_by_label("What happened").fill(
        "Peer workers here get $15 an hour; the same job at the other site pays $19."
    )
    page.get_by_label("Demo Member").check()
    page.get_by_role("button", name="Open the case").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Paid less than the site across town")
    steward.see("case-opened")

    page.get_by_label("Move to").select_option(label="Step 1")
    page.get_by_role("button", name="Move on").click()
    expect(page.locator(".flash")).to_be_visible()
    steward.see("case-at-step-1")
    page.get_by_label("Add a confidential note").fill(NOTE)
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text(NOTE)).to_be_visible()
    steward.see("case-with-note")

    member = journey("member", phone=True)
    page = member.page
    sign_in(member, live_union, "member@example.org")
    page.goto(f"{live_union.url}/grievances/mine")
    case = page.locator(".card").filter(has_text="Paid less than the site across town")
    expect(case).to_contain_text("Step 1")
    member.see("my-grievances")
    assert NOTE not in page.content()
    assert "Manager said" not in page.locator("body").inner_text()


def test_an_admin_grants_the_steward_role_and_access_changes_at_once(
    live_union, journey
):
    organizer = journey("organizer")
    organizer_page = organizer.page
    sign_in(organizer, live_union, "organizer@example.org")
    expect(menu_link(organizer_page, "Grievances")).to_have_count(0)

    admin = journey("admin")
    page = admin.page
    sign_in(admin, live_union, "admin@example.org")
    menu_link(page, "Accounts").click()
    admin.see("accounts")
    page.get_by_role("link", name=re.compile("Demo Organizer")).click()
    admin.see("account")
    page.get_by_label("Role").select_option(label="Steward or delegate")
    page.get_by_role("button", name="Grant role").click()
    expect(page.locator(".flash")).to_be_visible()
    admin.see("role-granted")

    organizer_page.reload()
    expect(menu_link(organizer_page, "Grievances")).to_be_visible()
    menu_link(organizer_page, "Grievances").click()
    expect(organizer_page.get_by_role("heading", level=1)).to_be_visible()
    organizer.see("grievances-now-open")


def test_a_worker_switches_to_french_and_joins_on_a_phone(live_union, journey):
    worker = journey("travailleuse", phone=True)
    page = worker.page
    page.goto(f"{live_union.url}/join")
    page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr-CA")
    expect(page.get_by_role("heading", level=1)).to_have_text("Adhérer au syndicat")
    worker.see("formulaire")
    page.get_by_label("Votre nom").fill("Camille")
    page.get_by_role("textbox", name="Courriel").fill("camille@example.org")
    choose(page.get_by_label("Où travaillez-vous"), "Peer Works")
    page.get_by_label(re.compile(r"^6,00\s\$ par mois")).check()
    page.get_by_role("button", name="Adhérer").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Vérifiez vos courriels"
    )
    worker.see("courriel-envoye")
    mail = live_union.last_mail_to("camille@example.org")
    assert mail.subject == "Terminer votre adhésion au syndicat"
    page.goto(live_union.link_in(mail))
    expect(page.locator("html")).to_have_attribute("lang", "fr-CA")
    worker.see("mot-de-passe")


def test_a_member_answers_the_survey_on_a_phone_and_an_organizer_reads_the_report(
    live_union, journey
):
    member = journey("member", phone=True)
    page = member.page
    sign_in(member, live_union, "member@example.org")
    menu_link(page, "Survey").click()
    member.see("survey")
    expect(
        page.get_by_text("they stay locked with a key made for this round")
    ).to_be_visible()
    started = time.monotonic()
    choose(page.get_by_label("Where do you work?"), "Riverside")
    page.get_by_label("Which job is closest to yours?").select_option(index=1)
    page.get_by_label("Permanent, part time").check()
    page.get_by_label("Your hourly wage before deductions").fill("-3")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter an hourly wage between")
    member.see("survey-problem")
    expect(page.get_by_label("Permanent, part time")).to_be_checked()
    page.get_by_label("Your hourly wage before deductions").fill("23.75")
    page.get_by_label("Hours you usually work in a week").fill("30")
    page.get_by_role("group", name="Do you get dental benefits").get_by_label(
        "No", exact=True
    ).check()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    member.see("survey-thanks")
    # Filling in the form, typing mistake included, is quick for a machine; the
    # check is that it is one page with no extra steps.
    assert time.monotonic() - started < 60
    menu_link(page, "Survey").click()
    expect(page.get_by_text("You have already answered this round")).to_be_visible()
    member.see("survey-again")

    organizer = journey("organizer")
    page = organizer.page
    sign_in(organizer, live_union, "organizer@example.org")
    menu_link(page, "Reports").click()
    expect(page.get_by_text("counted again at most once a day")).to_be_visible()
    organizer.see("reports")
    page.get_by_role("link", name="Reports for Spring 2026").click()
    organizer.see("catalogue")
    page.locator("#report-wages").locator("xpath=..").get_by_role(
        "link", name="Union-wide"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hourly wages by job")
    expect(page.get_by_role("heading", name="What this shows")).to_be_visible()
    expect(page.get_by_role("img", name="Middle hourly wage by job")).to_be_visible()
    organizer.see("wages")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download all tables in one file (CSV)").click()
    text = download.value.path().read_text(encoding="utf-8")
    assert "digest" in text and "Hourly wage" in text
    assert "@example.org" not in text


def test_an_organizer_on_a_small_phone_takes_one_table_and_checks_the_report_code(
    live_union, journey
):
    organizer = journey("organizer", phone=True)
    page = organizer.page
    page.set_viewport_size({"width": 320, "height": 640})
    sign_in(organizer, live_union, "organizer@example.org")
    menu_link(page, "Reports").click()
    organizer.see("reports")
    page.get_by_role("link", name="Reports for Spring 2026").click()
    organizer.see("catalogue")
    page.locator("#report-wages").locator("xpath=..").get_by_role(
        "link", name="Union-wide"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hourly wages by job")
    check_code = page.locator("details.check-code")
    expect(check_code.locator("summary")).to_have_text(
        re.compile(r"^Report check code: [0-9a-f]{12}$")
    )
    full_code = check_code.locator("code")
    expect(full_code).to_be_hidden()
    check_code.locator("summary").click()
    expect(full_code).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    organizer.see("wages-check-code")
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth"
        " - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the report scrolls sideways by {overflow}px at 320px"
    with page.expect_download() as download:
        page.get_by_role(
            "link", name="Download this table (CSV) \u2013 Hourly wage", exact=True
        ).click()
    short_code = full_code.inner_text()[:12]
    assert download.value.suggested_filename.endswith(f"-hourly_wage-{short_code}.csv")
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert lines[0] == (
        "Job,People in the group,Middle value (per hour),Lower quarter,Upper quarter"
    )
    assert all(not line.startswith(("artifact", "digest")) for line in lines)


def test_an_organizer_cancels_closing_a_round_at_the_question(live_union, journey):
    organizer = journey("organizer", phone=True)
    page = organizer.page
    sign_in(organizer, live_union, "organizer@example.org")
    menu_link(page, "Reports").click()
    organizer.see("reports")
    page.get_by_role("button", name="Close this round and make its reports").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Close ")
    expect(page.get_by_text("Closing is final")).to_be_visible()
    organizer.see("asked-first")
    page.get_by_role("link", name="Cancel and go back").click()
    # Still open: the button is there again and nothing was closed.
    expect(
        page.get_by_role("button", name="Close this round and make its reports")
    ).to_be_visible()
    organizer.see("still-open")


def test_a_treasurer_confirms_a_remittance_and_sees_a_late_receipt_flagged(
    live_union, journey, now
):
    def receipt_from_the_steward() -> None:
        steward = db.session.scalar(
            sa.select(User).where(
                User.email_hash == email_digest("steward@example.org")
            )
        )
        member = db.session.scalar(
            sa.select(Member).where(Member.user_id.is_not(None)).limit(1)
        )
        assert steward is not None and member is not None
        ledger.record_hand_payment(
            member,
            method=PaymentMethod.CASH,
            months=1,
            amount_cents=dues.quote(member, 1).total_cents,
            paid_on=date(2026, 10, 20),
            reference=None,
            actor=steward,
            now=now,
        )

    live_union.run(receipt_from_the_steward)
    treasurer = journey("treasurer", phone=True)
    page = treasurer.page
    sign_in(treasurer, live_union, "treasurer@example.org")
    menu_link(page, "Treasury").click()
    treasurer.see("treasury")
    page.get_by_role("link", name="Remittances", exact=True).click()
    treasurer.see("remittances")
    page.get_by_role("link", name="Previous month").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Remittances for October 2026"
    )
    treasurer.see("october")
    page.get_by_role("button", name="Confirm received").first.click()
    expect(page.get_by_text("A confirmation cannot be undone")).to_be_visible()
    treasurer.see("asked-first")
    page.get_by_role("button", name="Confirm received").click()
    expect(page.get_by_text("Remittance confirmed.")).to_be_visible()
    treasurer.see("confirmed")

    live_union.run(receipt_from_the_steward)
    page.reload()
    expect(page.get_by_text("written after this month was confirmed")).to_be_visible()
    expect(page.get_by_role("button", name="Confirm the late receipts")).to_be_visible()
    treasurer.see("late-receipt")


PROBLEM = "My hours were cut after I asked for the sick days in our contract."
PROBLEME = "On me donne moins de quarts depuis que j'ai demandé mes congés de maladie."


def test_a_member_raises_a_problem_on_a_phone_and_their_steward_sees_it_at_intake(
    live_union, journey
):
    member = journey("member", phone=True)
    page = member.page
    heading = page.get_by_role("heading", level=1)
    sign_in(member, live_union, "member@example.org")
    menu_link(page, "My membership").click()
    expect(page.get_by_text("Your steward at Riverside")).to_contain_text(
        "Demo Steward"
    )
    member.see("membership")
    page.get_by_role("link", name="Raise a problem at work").click()
    expect(heading).to_have_text("Raise a problem at work")
    expect(page.get_by_text("in confidence to the stewards")).to_be_visible()
    member.see("raise-form")
    page.get_by_label("When did it happen? (optional)").fill("2099-01-01")
    page.get_by_label("In person, through my steward").check()
    page.get_by_role("button", name="Send to my stewards").click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("Tell us what happened.")
    expect(problems).to_contain_text("The date cannot be in the future.")
    expect(page.get_by_label("In person, through my steward")).to_be_checked()
    member.see("raise-problems")
    page.get_by_label("What happened?").fill(PROBLEM)
    page.get_by_label("When did it happen? (optional)").fill("2026-11-20")
    page.get_by_role("button", name="Send to my stewards").click()
    expect(heading).to_have_text("Your problem has reached the union")
    expect(page.locator("main")).to_contain_text("Demo Steward")
    first = page.locator("dl.facts dd").first.inner_text().strip()
    member.see("raised")

    page.get_by_role("button", name="Français").click()
    expect(heading).to_have_text("Votre problème est bien arrivé au syndicat")
    member.see("envoye")
    menu_link(page, "Signaler un problème").click()
    expect(heading).to_have_text("Signaler un problème au travail")
    member.see("formulaire")
    page.get_by_label(re.compile("Que s.est-il passé")).fill(PROBLEME)
    page.get_by_role(
        "button", name="Envoyer aux personnes déléguées syndicales"
    ).click()
    expect(heading).to_have_text("Votre problème est bien arrivé au syndicat")
    second = page.locator("dl.facts dd").first.inner_text().strip()
    assert second != first
    member.see("signale")
    menu_link(page, "Mon adhésion").click()
    expect(
        page.get_by_text("Reçu. Quelqu'un du syndicat vous contactera.")
    ).to_have_count(2)
    member.see("adhesion")

    steward = journey("steward", phone=True)
    page = steward.page
    sign_in(steward, live_union, "steward@example.org")
    menu_link(page, "Grievances").click()
    for number in (first, second):
        row = page.get_by_role("row").filter(has_text=number)
        expect(row).to_contain_text("Raised online by the member")
        expect(row).to_contain_text("Intake")
    steward.see("intake")
    page.get_by_role("link", name=first, exact=True).click()
    expect(page.get_by_text(PROBLEM)).to_be_visible()
    expect(page.locator("main")).to_contain_text("In person, through my steward")
    steward.see("raised-case")


def applicants_at_the_stewards_workplace(*names: str) -> Callable[[], None]:
    """Adds applicants who joined a month ago at the first workplace the demo
    steward covers, beside whatever applicants the demo made."""

    def add() -> None:
        steward = db.session.scalar(
            sa.select(User).where(
                User.email_hash == email_digest("steward@example.org")
            )
        )
        assert steward is not None
        workplace = steward.steward_assignments[0].workplace
        for name in names:
            member = Member(
                member_number=numbers.next_number("member_number"),
                chosen_name=name,
                contact_preference=ContactPreference.IN_PERSON,
                membership_class=MembershipClass.EMPLOYED,
                status=MemberStatus.APPLICANT,
                dues_level_id=dues.offered_levels(date(2026, 10, 22))[0].id,
                joined_on=date(2026, 10, 22),
                created_at=datetime(2026, 10, 22, 15, tzinfo=UTC),
            )
            member.employments.append(
                Employment(workplace=workplace, created_at=member.created_at)
            )
            db.session.add(member)
            db.session.flush()
            dues.record_first_level(member, now=member.created_at)

    return add


@dataclass(frozen=True)
class StewardWords:
    language: str
    waiting: re.Pattern[str]
    accept: str
    accept_ticked: str
    question: str
    confirm: str
    done: str
    home: str


STEWARD_WORDS = (
    StewardWords(
        "en",
        re.compile(r"^(\d+) applicants? waiting$"),
        "Accept {name}",
        "Accept the people ticked",
        "Accept 1 applicant?",
        "Accept 1 applicant",
        "1 applicant is now an active member.",
        "Home",
    ),
    StewardWords(
        "fr",
        re.compile(r"^(\d+) demandes? d'adhésion en attente$"),
        "Accepter {name}",
        "Accepter les personnes cochées",
        "Accepter 1 demande d'adhésion\u00a0?",
        "Accepter 1 demande",
        "1 adhésion est maintenant active.",
        "Accueil",
    ),
)


def no_sideways_scrolling(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth"
        " - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def test_a_steward_on_a_phone_sees_applicants_waiting_follows_and_accepts_one(
    live_union, journey
):
    live_union.run(applicants_at_the_stewards_workplace("Jordan Waits", "Noor Waits"))
    for words, name in zip(STEWARD_WORDS, ("Jordan Waits", "Noor Waits"), strict=True):
        steward = journey(f"steward-{words.language}", phone=True)
        page = steward.page
        sign_in(steward, live_union, "steward@example.org")
        if words.language == "fr":
            page.get_by_role("button", name="Français").click()
            expect(page.locator("html")).to_have_attribute("lang", "fr-CA")
            steward.see("accueil")
        waiting = page.get_by_role("link", name=words.waiting)
        expect(waiting).to_be_visible()
        found = words.waiting.match(waiting.inner_text().strip())
        assert found is not None
        before = int(found.group(1))
        assert before >= 1
        no_sideways_scrolling(page)

        waiting.click()
        steward.see("applicants")
        no_sideways_scrolling(page)
        page.get_by_label(words.accept.format(name=name)).check()
        page.get_by_role("button", name=words.accept_ticked).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(words.question)
        expect(page.get_by_role("listitem").filter(has_text=name)).to_be_visible()
        steward.see("asked-first")
        no_sideways_scrolling(page)
        page.get_by_role("button", name=words.confirm).click()
        expect(page.locator(".flash")).to_contain_text(words.done)
        expect(page.get_by_label(words.accept.format(name=name))).to_have_count(0)
        steward.see("accepted")

        menu_link(page, words.home).click()
        left = page.get_by_role("link", name=words.waiting)
        if before > 1:
            expect(left).to_have_text(re.compile(rf"^{before - 1}\D"))
        else:
            expect(left).to_have_count(0)
        steward.see("home-after")

    def status_of(name: str) -> MemberStatus:
        return db.session.scalar(
            sa.select(Member.status).where(Member.chosen_name == name)
        )

    assert live_union.run(lambda: status_of("Jordan Waits")) is MemberStatus.ACTIVE
    assert live_union.run(lambda: status_of("Noor Waits")) is MemberStatus.ACTIVE


#: What the data page must never show: internal codes, money in cents, UTC times.
RAW_FORMS = re.compile(
    r"card_subscription|card_one_off|wage_discrepancy|in_person|\bemployed\b"
    r"|\b(?:dues|account|member|grievance)\.[a-z_]+|\(cents\)|_cents"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d|\+00:00"
)


def reads_plainly_at_phone_width(
    person: Journey, written_date: re.Pattern[str]
) -> None:
    """The data page in front of `person`: no raw codes, dates written out, and
    nothing wider than the phone, even at 320 pixels."""
    page = person.page
    text = page.locator("main").inner_text()
    assert not RAW_FORMS.findall(text), RAW_FORMS.findall(text)
    assert written_date.search(text), text[:400]
    for width in (360, 320):
        page.set_viewport_size({"width": width, "height": 740})
        assert page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth"
        ), f"wider than {width} px"


def downloads_the_machine_form(page: Page, link_name: str, member_number: str) -> None:
    with page.expect_download() as download:
        page.get_by_role("link", name=link_name).click()
    data = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert str(data["member"]["member_number"]) == member_number
    assert data["member"]["status"] == "active"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT.+", data["generated_at"])
    for payment in data["dues"]["payments"]:
        assert isinstance(payment["amount_cents"], int)
        assert payment["method"] in {method.value for method in PaymentMethod}


def test_a_member_reads_everything_held_about_them_on_a_phone_in_both_languages(
    live_union, journey
):
    member = journey("member", phone=True)
    page = member.page
    sign_in(member, live_union, "member@example.org")
    menu_link(page, "My membership").click()
    member.see("membership")
    page.get_by_role(
        "link", name="See or download everything we hold about you"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Everything we hold about you"
    )
    member.see("my-data")
    # It was 6,400 pixels tall with every record spelled out; lists now show
    # their newest line and keep the rest a tap away.
    assert page.evaluate("document.documentElement.scrollHeight") < 5000
    older = page.locator("#dues").locator("xpath=..").locator("details.older").first
    older.locator("summary").click()
    expect(older.locator("li").first).to_be_visible()
    reads_plainly_at_phone_width(member, re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4}"))
    number = page.locator("#you + dl dd").first.inner_text().strip()
    downloads_the_machine_form(page, "Download it (JSON file)", number)

    page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr-CA")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Tous les renseignements que nous avons sur vous"
    )
    member.see("mes-donnees")
    reads_plainly_at_phone_width(member, re.compile(r"\d{1,2} [a-zéû]+\.? \d{4}"))
    downloads_the_machine_form(page, "Tout télécharger (fichier JSON)", number)


def test_a_treasurer_sorts_the_arrears_on_a_phone_and_opens_a_members_dues(
    live_union, journey
):
    treasurer = journey("treasurer-sorts", phone=True)
    page = treasurer.page
    sign_in(treasurer, live_union, "treasurer@example.org")
    page.goto(f"{live_union.url}/treasurer/arrears")
    treasurer.see("arrears")
    choose(page.get_by_label("Sort by"), "Member number, lowest first")
    page.get_by_role("button", name="Sort", exact=True).click()
    page.wait_for_url("**/treasurer/arrears?sort=member")
    numbers = [
        int(text.split()[0])
        for text in page.locator("tbody th[scope=row]").all_inner_texts()
    ]
    assert numbers == sorted(numbers) and numbers
    assert page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    treasurer.see("arrears-by-number")
    page.locator("tbody th[scope=row] a").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Dues of member {numbers[0]}"
    )
    expect(
        page.get_by_text("months owed.").or_(page.get_by_text("month owed."))
    ).to_be_visible()
    treasurer.see("member-dues")

    page.get_by_role("link", name="Ledger", exact=True).click()
    treasurer.see("ledger")
    choose(page.get_by_label("Method"), "Cash")
    choose(page.get_by_label("Sort by"), "Largest amount first")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("status")).to_contain_text("in all.")
    amounts = [
        # The amount paid comes first; a first payment then names its fee.
        float(re.sub(r"[^0-9.]", "", text.split(",")[0]))
        for text in page.locator("tbody td[data-label=Amount]").all_inner_texts()
    ]
    assert amounts == sorted(amounts, reverse=True) and amounts
    treasurer.see("ledger-largest-first")


def test_a_steward_finds_a_case_by_its_title_and_sorts_the_roster_by_its_headers(
    live_union, journey
):
    steward = journey("steward-finds")
    page = steward.page
    sign_in(steward, live_union, "steward@example.org")
    page.goto(f"{live_union.url}/grievances/cases")
    steward.see("cases")
    page.get_by_label("Title or grievant").fill("honorar")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("status")).to_have_text("1 case found.")
    expect(page.get_by_text("Peer workers paid a flat honorarium")).to_be_visible()
    steward.see("found-by-title")

    page.goto(f"{live_union.url}/members/")
    steward.see("roster")
    expect(page.get_by_role("columnheader", name="Name")).to_have_attribute(
        "aria-sort", "ascending"
    )
    # Dates start with the newest; a second click turns the order round.
    page.get_by_role("columnheader", name="Joined").get_by_role("link").click()
    page.wait_for_url("**/members/?sort=-joined")
    expect(page.get_by_role("columnheader", name="Joined")).to_have_attribute(
        "aria-sort", "descending"
    )
    steward.see("roster-newest-first")
    page.get_by_role("columnheader", name="Joined").get_by_role("link").click()
    page.wait_for_url("**/members/?sort=joined")
    expect(page.get_by_role("columnheader", name="Joined")).to_have_attribute(
        "aria-sort", "ascending"
    )
    steward.see("roster-oldest-first")


def no_sideways_scroll(page: Page) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def test_a_steward_prints_a_case_file_and_puts_deadlines_in_a_phone_calendar(
    live_union, journey
):
    steward = journey("steward", phone=True)
    page = steward.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(steward, live_union, "steward@example.org")
    menu_link(page, "Grievances").click()
    steward.see("dashboard")
    page.locator("main table a, main .cards a").first.click()
    steward.see("case")
    number = page.get_by_role("heading", level=1).inner_text().split(":")[0]
    page.get_by_role("link", name="Case file to print or download").click()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    expect(page.get_by_role("heading", name="Confidential notes")).to_have_count(0)
    steward.see("case-file")
    page.set_viewport_size({"width": 320, "height": 640})
    assert no_sideways_scroll(page)
    page.get_by_role("link", name="Include the confidential notes").click()
    expect(page.get_by_role("heading", name="Confidential notes")).to_be_visible()
    steward.see("case-file-with-notes")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as PDF").click()
    assert download.value.suggested_filename == f"case-{number}-with-notes.pdf"
    with open(download.value.path(), "rb") as pdf:
        text = pdf_text(pdf.read())
    assert f"Case {number}" in text and "Confidential notes" in text

    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_union.url}/grievances/")
    page.get_by_role("link", name="Deadlines in my calendar").click()
    steward.see("calendar")
    page.get_by_role("button", name="Make my calendar address").click()
    address = page.locator("#feed-url").inner_text()
    assert address.startswith(live_union.url) and address.endswith(".ics")
    webcal = page.get_by_role("link", name="Add to my calendar app")
    expect(webcal).to_have_attribute("href", "webcal://" + address.split("://")[1])
    page.get_by_role("button", name="Copy the address").click()
    expect(page.get_by_role("status").filter(has_text="Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == address
    steward.see("calendar-address")
    page.reload()
    expect(page.locator("#feed-url")).to_have_count(0)
    expect(page.get_by_text("No calendar app has read it yet.")).to_be_visible()
    steward.see("calendar-after-reload")


def test_an_organizer_writes_to_one_workplace_and_a_member_unsubscribes_in_one_click(
    live_union, journey
):
    def member_agrees() -> str:
        member = db.session.scalars(
            sa.select(Member)
            .join(User, User.id == Member.user_id)
            .where(User.email_hash == email_digest("member@example.org"))
        ).one()
        messages.record_consent(
            member,
            Channel.EMAIL,
            granted=True,
            source=ConsentSource.JOINING_FORM,
            now=datetime.now(UTC),
        )
        return member.current_employments[0].workplace.name

    workplace = live_union.run(member_agrees)

    organizer = journey("organizer", phone=True)
    page = organizer.page
    sign_in(organizer, live_union, "organizer@example.org")
    menu_link(page, "Messages").click()
    organizer.see("messages")
    page.get_by_role("link", name="Write a message").click()
    organizer.see("compose")
    choose(page.get_by_label("Who is it for?"), workplace)
    page.get_by_label("Subject in English").fill("Members' meeting on Thursday")
    page.get_by_label("Message in English").fill("Come to the break room at 6.")
    page.get_by_role("button", name="Send…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Send this message")
    # Going back to change a word keeps what was written.
    page.get_by_role("button", name="Cancel and go back").click()
    expect(page.get_by_label("Message in English")).to_have_value(
        "Come to the break room at 6."
    )
    page.get_by_label("Message in English").fill("Come to the break room at 6:30.")
    page.get_by_role("button", name="Send…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Send this message")
    organizer.see("confirm")
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Members' meeting on Thursday"
    )
    organizer.see("sending")
    assert "member@example.org" not in page.content()

    mail = live_union.last_mail_to("member@example.org")
    assert mail.subject == "Members' meeting on Thursday"
    assert "Come to the break room at 6:30." in mail.body
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"<(http[^>]+)>", mail.headers["List-Unsubscribe"]).group(1)
    assert link in mail.body

    member = journey("member", phone=True)
    member_page = member.page
    member_page.goto(link)
    member.see("unsubscribe")
    member_page.get_by_role("button", name="Stop these messages").click()
    expect(member_page.get_by_role("status")).to_contain_text("no more emails")
    member.see("unsubscribed")

    def consent_now() -> tuple[bool, str]:
        consent = db.session.scalars(
            sa.select(MessageConsent)
            .join(Member, Member.id == MessageConsent.member_id)
            .join(User, User.id == Member.user_id)
            .where(User.email_hash == email_digest("member@example.org"))
        ).one()
        return consent.granted, consent.source.value

    assert live_union.run(consent_now) == (False, "unsubscribe_link")
