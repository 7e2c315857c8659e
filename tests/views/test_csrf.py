"""CSRF stays on in tests: every state-changing endpoint refuses a form without a token."""

import pytest

from tests.conftest import config_for_tests
from union import create_app

#: Authenticated by Stripe's signature on the raw body instead of a CSRF token.
EXEMPT = {"webhooks.stripe_webhook"}


def post_rules():
    app = create_app(config_for_tests())
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and rule.endpoint not in EXEMPT:
            yield rule


@pytest.mark.parametrize("rule", list(post_rules()), ids=lambda r: r.endpoint)
def test_a_post_without_a_token_is_refused(client, world, rule):
    from tests.views.test_access_policy import url_for_rule

    client.sign_in("admin@example.org")
    response = client.post(url_for_rule(rule, world), data={})
    assert response.status_code == 400
    assert (
        "This form was open too long or came from somewhere else"
        in response.get_data(as_text=True)
    )


def test_only_the_stripe_webhook_and_the_unsubscribe_link_are_exempt_from_csrf(app):
    # The unsubscribe link checks the token itself unless the body is exactly a
    # mail client's one-click POST (RFC 8058); test_messages_views.py shows both.
    csrf = app.extensions["csrf"]
    assert csrf._exempt_views == {
        "union.views.webhooks.stripe_webhook",
        "union.views.messages.unsubscribe",
    }
    assert csrf._exempt_blueprints == set()


def test_no_get_endpoint_changes_state(app):
    for rule in app.url_map.iter_rules():
        if rule.methods & {"POST"}:
            continue
        name = rule.endpoint.rsplit(".", 1)[-1]
        assert not name.startswith(
            (
                "delete",
                "remove",
                "accept",
                "decline",
                "grant",
                "revoke",
                "disable",
                "enable",
                "logout",
            )
        ), rule
