"""The treasurer never needs a shell for card payments: saving a level or an amount
sets up its Stripe price in the same request, the levels page says how each level
stands, and a button tries again when Stripe could not be reached."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from tests.stripe_peer import SECRET_KEY, WEBHOOK_SECRET, free_port
from union.adapters.payments import StripeGateway
from union.db import db
from union.models import DuesRate, Role
from union.services import dues

NEW_LEVEL = {
    "name": "Solidarity",
    "code": "solidarity",
    "bracket": "Over $5,000 a month",
    "name_fr": "Solidarité",
    "bracket_fr": "Plus de 5\u00a0000\u00a0$ par mois",
    "monthly_amount": "44",
    "effective_on": "2026-12",
}


@pytest.fixture
def treasurer(client: Any, make: Any) -> Any:
    make.user("treasurer@example.org", roles=(Role.TREASURER,))
    client.sign_in("treasurer@example.org")
    return client


@pytest.fixture
def stripe_down(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[StripeGateway]:
    """A gateway to an address where nothing answers, as when Stripe is down."""
    gateway = StripeGateway(
        SECRET_KEY,
        webhook_secret=WEBHOOK_SECRET,
        api_base=f"http://127.0.0.1:{free_port()}",
    )
    monkeypatch.setitem(app.extensions, "union_payments", gateway)
    yield gateway
    gateway.close()


def card_column(page: str) -> dict[str, str]:
    """Each level's Card cell on the levels page, as words."""
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", page, re.S)
    cells = {}
    for row in rows:
        name = re.sub(r"<[^>]+>", " ", row.split("</th>")[0]).split()[0]
        card = row.rsplit('data-label="Card">', 1)[1]
        cells[name] = " ".join(re.sub(r"<[^>]+>", " ", card).split())
    return cells


def prices_in_stripe(stripe_client: Any) -> list[str]:
    listed = stripe_client.v1.prices.list(params={"limit": 100}).data
    return sorted(str(price.lookup_key) for price in listed if price.lookup_key)


def test_adding_a_level_sets_up_its_card_price_at_once(
    treasurer, gateway, stripe_client, catalog
):
    response = treasurer.submit("/treasurer/levels", NEW_LEVEL)
    assert (response.status_code, response.headers["Location"]) == (
        302,
        "/treasurer/levels",
    )
    db.session.expire_all()
    [rate] = dues.level_by_code("solidarity").rates
    assert rate.stripe_price_id and rate.stripe_setup_failed_at is None
    assert "dues_solidarity_2026_12" in prices_in_stripe(stripe_client)
    page = treasurer.get("/treasurer/levels").get_data(as_text=True)
    assert "Members can pay it by card." in page
    assert card_column(page)["Solidarity"] == "ready"
    assert "flask --app" not in page and "stripe-setup" not in page


def test_a_new_amount_is_not_called_ready_until_it_has_its_price(
    treasurer, gateway, stripe_client, catalog, stripe_down
):
    """The amount in force had a price, so the Card column said "ready" while the
    amount scheduled next had none."""
    minimum = dues.level_by_code("minimum")
    response = treasurer.submit(
        f"/treasurer/levels/{minimum.id}",
        {"form": "rate", "rate-monthly_amount": "12", "rate-effective_on": "2027-01"},
    )
    assert response.status_code == 302
    level_page = treasurer.get(response.headers["Location"]).get_data(as_text=True)
    assert "Stripe could not be reached" in level_page
    assert "could not reach Stripe: try again" in level_page
    page = treasurer.get("/treasurer/levels").get_data(as_text=True)
    assert card_column(page)["Minimum"] == "could not reach Stripe: try again Try again"
    assert card_column(page)["Regular"] == "ready"
    db.session.expire_all()
    scheduled = db.session.scalar(
        sa.select(DuesRate).where(DuesRate.effective_on == date(2027, 1, 1))
    )
    assert scheduled is not None and scheduled.monthly_cents == 1200
    assert scheduled.stripe_price_id is None and scheduled.stripe_setup_failed_at


def test_when_stripe_is_back_the_button_sets_it_up_and_twice_does_it_once(
    app, treasurer, gateway, stripe_client, catalog, monkeypatch
):
    down = StripeGateway(
        SECRET_KEY,
        webhook_secret=WEBHOOK_SECRET,
        api_base=f"http://127.0.0.1:{free_port()}",
    )
    monkeypatch.setitem(app.extensions, "union_payments", down)
    treasurer.submit("/treasurer/levels", NEW_LEVEL)
    down.close()
    page = treasurer.get("/treasurer/levels").get_data(as_text=True)
    assert "Stripe could not be reached" in page
    assert (
        card_column(page)["Solidarity"] == "could not reach Stripe: try again Try again"
    )
    assert "dues_solidarity_2026_12" not in prices_in_stripe(stripe_client)

    monkeypatch.setitem(app.extensions, "union_payments", gateway)
    for _ in range(2):
        response = treasurer.submit(
            "/treasurer/levels/card-setup", page="/treasurer/levels"
        )
        assert (response.status_code, response.headers["Location"]) == (
            302,
            "/treasurer/levels",
        )
    page = treasurer.get("/treasurer/levels").get_data(as_text=True)
    assert "Card payment is set up for every level." in page
    assert set(card_column(page).values()) == {"ready"}
    assert prices_in_stripe(stripe_client).count("dues_solidarity_2026_12") == 1
    db.session.expire_all()
    [rate] = dues.level_by_code("solidarity").rates
    assert rate.stripe_price_id and rate.stripe_setup_failed_at is None


def test_levels_set_up_before_stripe_was_configured_get_a_button(
    treasurer, gateway, stripe_client
):
    page = treasurer.get("/treasurer/levels").get_data(as_text=True)
    assert set(card_column(page).values()) == {"not set up yet Set up now"}
    treasurer.submit("/treasurer/levels/card-setup", page="/treasurer/levels")
    page = treasurer.get("/treasurer/levels").get_data(as_text=True)
    assert set(card_column(page).values()) == {"ready"}
