"""Headers on every answer: nothing personal is kept by a browser's or a proxy's
cache, and files download under names with safe characters only."""

from __future__ import annotations

import pytest

from tests.views.test_access_policy import PERSONAS, url_for_rule


def pages(app):
    return [
        rule
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
        if "GET" in rule.methods and rule.endpoint != "static"
    ]


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "anonymous"])
def test_every_answer_to_a_signed_in_request_is_never_stored(
    app, client, world, persona
):
    client.sign_in(world.accounts[persona].email)
    for rule in pages(app):
        url = url_for_rule(rule, world)
        response = client.get(url)
        assert response.headers.get("Cache-Control") == "no-store", (url, persona)


def test_signing_in_and_out_answers_are_never_stored(client, world):
    signed_in = client.sign_in("member@example.org")
    assert signed_in.headers["Cache-Control"] == "no-store"
    signed_out = client.sign_out()
    assert signed_out.headers["Cache-Control"] == "no-store"
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_the_stylesheet_may_be_cached(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
