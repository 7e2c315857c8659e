"""Links in emails, feeds and payment redirects come from PUBLIC_URL, whatever Host
a request carries; in production a request for another host is refused."""

from __future__ import annotations

import re

import pytest

from tests.conftest import config_for_tests
from union import create_app

PUBLIC = "https://dues.example.org"
FORGED = "evil.example"


@pytest.fixture
def forged_client(app, client, monkeypatch):
    """A client whose every request says `Host: evil.example`, to an app that knows
    its public address only from PUBLIC_URL (as in production, no SERVER_NAME)."""
    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC)
    client.environ_base["HTTP_HOST"] = FORGED
    return client


def links(message):
    return re.findall(r"https?://\S+", message.body)


def only_public_links(message):
    found = links(message)
    assert found, message.body
    assert all(link.startswith(PUBLIC + "/") for link in found), found
    assert FORGED not in message.body


def test_a_reset_link_points_at_the_public_address(forged_client, make, outbox):
    make.user("sam@example.org")
    response = forged_client.submit("/password/forgot", {"email": "sam@example.org"})
    assert response.status_code == 302
    [message] = outbox
    only_public_links(message)
    assert any("/password/reset/" in link for link in links(message))


def test_a_join_link_points_at_the_public_address(forged_client, make, outbox):
    workplace = make.workplace("Riverside CHC")
    job = make.classification("Peer worker")
    form = {
        "chosen_name": "Robin",
        "email": "robin@example.org",
        "contact_preference": "email",
        "membership_class": "employed",
        "workplace": str(workplace.id),
        "classification": str(job.id),
        "dues_level": str(make.level("regular").id),
    }
    assert forged_client.submit("/join", form).status_code == 302
    make.user("taken@example.org")
    forged_client.submit("/join", {**form, "email": "taken@example.org"})
    joined, already = outbox
    only_public_links(joined)
    assert any("/account/activate/" in link for link in links(joined))
    only_public_links(already)


def test_the_calendar_address_is_the_public_one(forged_client, world):
    forged_client.sign_in("steward@example.org")
    page = forged_client.submit(
        "/grievances/calendar/new", page="/grievances/calendar", follow_redirects=True
    ).get_data(as_text=True)
    feeds = re.findall(r"(?:https?|webcal)://[^\s\"<]+", page)
    assert feeds
    assert all(FORGED not in feed for feed in feeds)
    assert any(feed.startswith(PUBLIC + "/grievances/calendar/") for feed in feeds)


def test_production_refuses_a_request_for_another_host():
    production = create_app(
        config_for_tests(
            UNION_ENV="production",
            TESTING=False,
            SERVER_NAME=None,
            PUBLIC_URL=PUBLIC,
            SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none",
            MAIL_BACKEND="smtp",
            SMTP_URL="smtp://127.0.0.1:1",
            SECRET_KEY="s" * 48,
            REDIS_URL="redis://127.0.0.1:1/0",
        )
    )
    assert production.config["TRUSTED_HOSTS"] == ["dues.example.org"]
    client = production.test_client()
    refused = client.get("/login", headers={"Host": FORGED})
    assert refused.status_code == 400
    allowed = client.get("/healthz", headers={"Host": "dues.example.org"})
    assert allowed.status_code != 400
