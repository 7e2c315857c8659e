"""Card prices from the web, against localstripe: a treasurer's new level or amount
reaches Stripe through a job, card subscriptions move to a new amount when its
month begins, and the levels page says truthfully how each amount stands."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.stripe.flows import complete_checkout
from tests.stripe_peer import SECRET_KEY, WEBHOOK_SECRET, free_port
from union.adapters.payments import StripeGateway
from union.db import db
from union.models import DuesRate, DuesSubscription, Job, JobState, Role
from union.services import card_prices, dues, jobs

NEW_LEVEL = {
    "name": "Solidarity",
    "code": "solidarity",
    "bracket": "Over $5,000 a month",
    "name_fr": "Solidarité",
    "bracket_fr": "Plus de 5\u00a0000\u00a0$ par mois",
    "monthly_amount": "44",
    "effective_on": "2026-12",
}
JANUARY = date(2027, 1, 1)
#: Just after January begins in Toronto (05:00 UTC).
IN_JANUARY = datetime(2027, 1, 1, 6, tzinfo=UTC)


class Nobody:
    def wake(self, job_id: int, *, at: datetime | None = None) -> None:
        return None


def run_jobs(app: Any, at: datetime) -> int:
    """Runs the jobs due at `at` as a worker would: in a session of their own,
    after the test's has committed."""
    db.session.commit()
    with app.app_context():
        try:
            return jobs.run_due(now=at, waker=Nobody())
        finally:
            db.session.remove()


@pytest.fixture
def treasurer(client: Any, make: Any) -> Any:
    make.user("treasurer@example.org", roles=(Role.TREASURER,))
    client.sign_in("treasurer@example.org")
    return client


def unreachable() -> StripeGateway:
    """A gateway to an address where nothing answers, as when Stripe is down."""
    return StripeGateway(
        SECRET_KEY,
        webhook_secret=WEBHOOK_SECRET,
        api_base=f"http://127.0.0.1:{free_port()}",
    )


@pytest.fixture
def stripe_down(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[StripeGateway]:
    gateway = unreachable()
    monkeypatch.setitem(app.extensions, "union_payments", gateway)
    yield gateway
    gateway.close()


def card_column(page: str) -> dict[str, str]:
    """Each level's Card cell on the levels page, as words."""
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", page, re.S)
    cells = {}
    for row in rows:
        name = re.sub(r"<[^>]+>", " ", row.split("</th>")[0]).split()[0]
        card = row.rsplit('data-label="', 1)[1].split(">", 1)[1]
        cells[name] = html.unescape(" ".join(re.sub(r"<[^>]+>", " ", card).split()))
    return cells


def levels_page(client: Any) -> dict[str, str]:
    return card_column(client.get("/treasurer/levels").get_data(as_text=True))


def prices_in_stripe(stripe_client: Any) -> list[str]:
    listed = stripe_client.v1.prices.list(params={"limit": 100}).data
    return sorted(str(price.lookup_key) for price in listed if price.lookup_key)


def rate_from(month: date) -> DuesRate:
    db.session.expire_all()
    rate = db.session.scalar(sa.select(DuesRate).where(DuesRate.effective_on == month))
    assert rate is not None
    return rate


def new_amount(client: Any, code: str, amount: str, month: str) -> Any:
    level = dues.level_by_code(code)
    assert level is not None
    response = client.submit(
        f"/treasurer/levels/{level.id}",
        {"form": "rate", "rate-monthly_amount": amount, "rate-effective_on": month},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def price_jobs() -> list[Job]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Job).where(Job.kind == card_prices.PRICE_JOB).order_by(Job.id)
        )
    )


def test_a_new_level_gets_its_price_from_a_job_recorded_with_it(
    treasurer, gateway, stripe_client, catalog
):
    response = treasurer.submit("/treasurer/levels", NEW_LEVEL)
    assert (response.status_code, response.headers["Location"]) == (
        302,
        "/treasurer/levels",
    )
    [job] = price_jobs()
    assert job.state is JobState.DONE
    [rate] = dues.level_by_code("solidarity").rates
    assert rate.stripe_price_id and rate.stripe_setup_failed_at is None
    assert prices_in_stripe(stripe_client).count("dues_solidarity_2026_12") == 1
    page = treasurer.get("/treasurer/levels").get_data(as_text=True)
    assert "Card payment for it is being set up on Stripe" in page
    assert (
        card_column(page)["Solidarity"] == "$44.00 from December 2026: ready on Stripe"
    )
    assert "flask --app" not in page and "stripe-setup" not in page


def test_a_price_job_run_twice_makes_one_price(
    app, gateway, stripe_client, catalog, make
):
    minimum = dues.level_by_code("minimum")
    rate = dues.schedule_rate(
        minimum,
        monthly_cents=1200,
        effective_on=JANUARY,
        actor=make.user(),
        now=make.now,
    )
    card_prices.set_up_later(rate, now=make.now, move_subscriptions=False)
    db.session.commit()
    first = card_prices.set_up_price(gateway, rate.id, 1200, now=make.now)
    # A worker killed after Stripe answered but before its commit: the next run
    # does not know the price, and must find it rather than make another.
    rate.stripe_price_id = None
    again = card_prices.set_up_price(gateway, rate.id, 1200, now=make.now)
    assert first and again == first
    assert prices_in_stripe(stripe_client).count("dues_minimum_2027_01") == 1
    amounts = [
        p.unit_amount for p in stripe_client.v1.prices.list(params={"limit": 100}).data
    ]
    assert amounts.count(1200) == 1


def test_a_job_for_an_amount_replaced_since_does_nothing(
    gateway, stripe_client, catalog, make
):
    minimum = dues.level_by_code("minimum")
    rate = dues.schedule_rate(
        minimum,
        monthly_cents=1200,
        effective_on=JANUARY,
        actor=make.user(),
        now=make.now,
    )
    dues.schedule_rate(
        minimum,
        monthly_cents=1300,
        effective_on=JANUARY,
        actor=make.user(),
        now=make.now,
    )
    assert card_prices.set_up_price(gateway, rate.id, 1200, now=make.now) is None
    assert rate.stripe_price_id is None
    assert "dues_minimum_2027_01" not in prices_in_stripe(stripe_client)


def test_a_recorded_job_not_yet_run_reads_being_set_up(
    treasurer, gateway, catalog, make
):
    minimum = dues.level_by_code("minimum")
    rate = dues.schedule_rate(
        minimum,
        monthly_cents=1200,
        effective_on=JANUARY,
        actor=make.user(),
        now=make.now,
    )
    card_prices.set_up_later(rate, now=make.now, move_subscriptions=False)
    db.session.commit()
    jobs.take_committed()  # no worker has picked it up yet
    assert levels_page(treasurer)["Minimum"] == (
        "$11.00: ready on Stripe $12.00 from January 2027: being set up"
    )


def test_stripe_unreachable_is_shown_retried_later_then_ready(
    app, treasurer, gateway, stripe_client, catalog, stripe_down, now, monkeypatch
):
    new_amount(treasurer, "minimum", "12", "2027-01")
    [job] = price_jobs()
    assert (job.state, job.attempts, job.error_class) == (
        JobState.WAITING,
        1,
        "GatewayError",
    )
    assert job.run_after == now + timedelta(seconds=30)
    rate = rate_from(JANUARY)
    assert rate.stripe_price_id is None and rate.stripe_setup_failed_at == now
    assert levels_page(treasurer)["Minimum"] == (
        "$11.00: ready on Stripe $12.00 from January 2027: Stripe could not be "
        "reached; will try again at Nov 22, 2026, 10:00 a.m. card subscriptions "
        "move on January 2027: 0 of 0 moved"
    )
    assert "dues_minimum_2027_01" not in prices_in_stripe(stripe_client)

    # Not before its time: the retry waits for its backoff.
    monkeypatch.setitem(app.extensions, "union_payments", gateway)
    run_jobs(app, now + timedelta(seconds=10))
    assert price_jobs()[0].attempts == 1
    run_jobs(app, now + timedelta(minutes=1))
    [job] = price_jobs()
    assert (job.state, job.attempts) == (JobState.DONE, 2)
    rate = rate_from(JANUARY)
    assert rate.stripe_price_id and rate.stripe_setup_failed_at is None
    assert prices_in_stripe(stripe_client).count("dues_minimum_2027_01") == 1
    assert levels_page(treasurer)["Minimum"].startswith(
        "$11.00: ready on Stripe $12.00 from January 2027: ready on Stripe"
    )


def test_a_price_job_that_keeps_failing_stops_and_says_to_ask_an_admin(
    app, treasurer, gateway, catalog, stripe_down, now
):
    new_amount(treasurer, "minimum", "12", "2027-01")
    later = now
    while price_jobs()[0].state is JobState.WAITING:
        later += jobs.LONGEST_WAIT
        run_jobs(app, later)
    [job] = price_jobs()
    assert (job.state, job.attempts) == (JobState.PARKED, jobs.MAX_ATTEMPTS)
    assert (
        "$12.00 from January 2027: stopped after repeated failures \u2014 ask an admin to retry it"
        in levels_page(treasurer)["Minimum"]
    )


def live_subscription(stripe_client, make, member, price_id):
    customer = stripe_client.v1.customers.create(
        params={"metadata": {"member": member.public_id}}
    )
    member.stripe_customer_id = customer.id
    subscription = complete_checkout(stripe_client, member, price_id, 0)
    row = DuesSubscription(
        member_id=member.id,
        stripe_subscription_id=subscription.id,
        status="active",
        last_event_created=make.now,
    )
    db.session.add(row)
    db.session.flush()
    return row


def plan_of(stripe_client, subscription_id):
    items = stripe_client.v1.subscriptions.retrieve(subscription_id).to_dict()["items"]
    return items["data"][0]["plan"]["id"]


def test_card_subscriptions_move_to_a_new_amount_when_its_month_begins_each_once(
    app, treasurer, gateway, stripe_client, catalog, make, now, monkeypatch
):
    monkeypatch.setattr(card_prices, "MOVE_BATCH", 2)
    workplace = make.workplace()
    on_minimum = [
        live_subscription(
            stripe_client,
            make,
            make.member(workplace, name=f"Card {n}", level="minimum"),
            catalog["minimum"],
        )
        for n in range(3)
    ]
    on_regular = live_subscription(
        stripe_client,
        make,
        make.member(workplace, name="Regular", level="regular"),
        catalog["regular"],
    )
    ended = live_subscription(
        stripe_client,
        make,
        make.member(workplace, name="Ended", level="minimum"),
        catalog["minimum"],
    )
    ended.status = "canceled"
    # Ended in Stripe, its webhook not here yet: it must not hold the others up.
    stale = live_subscription(
        stripe_client,
        make,
        make.member(workplace, name="Stale", level="minimum"),
        catalog["minimum"],
    )
    stripe_client.v1.subscriptions.cancel(stale.stripe_subscription_id)
    db.session.commit()
    moves = []
    change = gateway.change_subscription_price

    def counted(**kwargs):
        moves.append(kwargs["subscription_id"])
        return change(**kwargs)

    monkeypatch.setattr(gateway, "change_subscription_price", counted)

    new_amount(treasurer, "minimum", "12", "2027-01")
    new_price = rate_from(JANUARY).stripe_price_id
    assert new_price
    assert levels_page(treasurer)["Minimum"] == (
        "$11.00: ready on Stripe $12.00 from January 2027: ready on Stripe "
        "card subscriptions move on January 2027: 0 of 4 moved"
    )
    # December: nothing moves before its month.
    assert run_jobs(app, datetime(2026, 12, 31, 23, tzinfo=UTC)) == 0
    assert moves == []

    ran = run_jobs(app, IN_JANUARY)
    assert ran == 2  # a batch of two, then the one left
    assert sorted(moves) == sorted(
        s.stripe_subscription_id for s in [*on_minimum, stale]
    )
    for subscription in on_minimum:
        assert plan_of(stripe_client, subscription.stripe_subscription_id) == new_price
    assert (
        plan_of(stripe_client, on_regular.stripe_subscription_id) == catalog["regular"]
    )
    assert plan_of(stripe_client, ended.stripe_subscription_id) == catalog["minimum"]
    db.session.expire_all()
    assert {s.stripe_price_id for s in on_minimum} == {new_price}
    assert stale.stripe_price_id is None

    # Run again, as a worker killed before marking it done would: each once.
    rate = rate_from(JANUARY)
    assert card_prices.move_subscriptions(gateway, rate.id, 1200, now=IN_JANUARY) == 0
    assert moves.count(stale.stripe_subscription_id) == 2
    assert len(moves) == 5  # the three moved once each
    assert not [
        job
        for job in db.session.scalars(sa.select(Job))
        if job.kind == card_prices.MOVE_JOB and job.state is not JobState.DONE
    ]


def test_a_retired_levels_card_subscriptions_still_move_to_its_new_amount(
    app, treasurer, gateway, stripe_client, catalog, make
):
    member = make.member(make.workplace(), name="Kept", level="minimum")
    subscription = live_subscription(stripe_client, make, member, catalog["minimum"])
    db.session.commit()
    new_amount(treasurer, "minimum", "12", "2027-01")
    minimum = dues.level_by_code("minimum")
    treasurer.submit_and_confirm(f"/treasurer/levels/{minimum.id}/retire")
    db.session.expire_all()
    assert dues.level_by_code("minimum").retired_on is not None
    run_jobs(app, IN_JANUARY)
    assert plan_of(stripe_client, subscription.stripe_subscription_id) == (
        rate_from(JANUARY).stripe_price_id
    )


def test_levels_made_before_stripe_was_set_up_get_a_button_that_records_the_jobs(
    treasurer, gateway, stripe_client
):
    assert set(levels_page(treasurer).values()) == {
        f"{amount}: not set up yet Set up now"
        for amount in ("$6.00", "$11.00", "$22.00", "$33.00")
    }
    treasurer.submit("/treasurer/levels/card-setup", page="/treasurer/levels")
    assert len(price_jobs()) == 4
    page = levels_page(treasurer)
    assert all(cell.endswith("ready on Stripe") for cell in page.values())
    treasurer.submit("/treasurer/levels/card-setup", page="/treasurer/levels")
    assert len(price_jobs()) == 4
    assert len(prices_in_stripe(stripe_client)) == 4


def test_the_levels_page_in_french(treasurer, gateway, catalog, stripe_down, make):
    new_amount(treasurer, "minimum", "12", "2027-01")
    treasurer.set_cookie("language", "fr", domain="union.test")
    page = treasurer.get("/treasurer/levels").get_data(as_text=True)
    # Spaces read as one (the cell's words); the no-break ones are checked apart.
    assert card_column(page)["Minimum"] == (
        "11,00 $ : prêt sur Stripe 12,00 $ à partir de janvier 2027 : Stripe "
        "n'a pas pu être joint ; nouvel essai le 22 nov. 2026, 10 h 00 les "
        "abonnements par carte passent au nouveau montant en janvier 2027 : 0 "
        "sur 0 déplacés"
    )
    assert "joint\u00a0; nouvel essai" in html.unescape(page)
    assert "janvier 2027\u00a0: 0 sur 0" in html.unescape(page)


def test_the_stripe_setup_command_shares_the_service_and_keeps_each_price(
    app, gateway, stripe_client, catalog, make
):
    minimum = dues.level_by_code("minimum")
    rate = dues.schedule_rate(
        minimum,
        monthly_cents=1200,
        effective_on=JANUARY,
        actor=make.user(),
        now=make.now,
    )
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["union", "stripe-setup"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    dated = rate.stripe_price_id
    assert "dues_minimum_2027_01: 1200 cents" in result.output and dated
    # In January the dated price takes the level's key over: no second price.
    from union.services import card_dues

    card_dues.setup_catalog(gateway, now=IN_JANUARY)
    assert rate.stripe_price_id == dated
    found = stripe_client.v1.prices.list(params={"lookup_keys": ["dues_minimum"]}).data
    assert [p.id for p in found] == [dated]
    amounts = [
        p.unit_amount for p in stripe_client.v1.prices.list(params={"limit": 100}).data
    ]
    assert amounts.count(1200) == 1


def test_the_levels_page_takes_the_same_queries_whatever_the_jobs_and_subscriptions(
    treasurer, gateway, catalog, make, now, count_queries
):
    def queries() -> int:
        treasurer.get("/treasurer/levels")
        with count_queries() as counter:
            assert treasurer.get("/treasurer/levels").status_code == 200
        return counter.count

    few = queries()
    actor = make.user()
    for n in range(6):
        level = dues.add_level(
            code=f"extra{n}",
            wording=dues.LevelWording(f"Extra {n}", "Anyone"),
            monthly_cents=1000 + n,
            effective_on=date(2026, 11, 1),
            actor=actor,
            now=now,
        )
        card_prices.set_up_later(level.rates[0], now=now, move_subscriptions=False)
        rate = dues.schedule_rate(
            level, monthly_cents=2000 + n, effective_on=JANUARY, actor=actor, now=now
        )
        card_prices.set_up_later(rate, now=now, move_subscriptions=True)
        for m in range(4):
            member = make.member(name=f"Card {n} {m}", level=f"extra{n}")
            db.session.add(
                DuesSubscription(
                    member_id=member.id,
                    stripe_subscription_id=f"sub_test_{n}_{m}",
                    status="active",
                    stripe_price_id=f"price_test_{m % 2}",
                    last_event_created=now,
                )
            )
    db.session.commit()
    jobs.take_committed()
    page = levels_page(treasurer)
    assert page["Extra"].count("being set up") == 2
    assert "0 of 4 moved" in page["Extra"]
    # One more while members are being moved, to count their subscriptions
    # (only then: at 100,000 members the count took 100 ms).
    assert queries() == few + 1
