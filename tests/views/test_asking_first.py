"""Actions that cannot be undone ask first, on a page of their own: the first
post changes nothing and says what will happen; only the form on that page does
it; confirming twice does it once. No JavaScript: real form posts."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import hidden_fields
from tests.views import test_steward_scope as scope
from tests.views.test_fuzz import snapshot
from union import clock
from union.clock import utcnow
from union.db import db


def compose_message(world: Any, make: Any) -> scope.Attempt:
    from union.models import Channel, ConsentSource
    from union.services import messages

    messages.record_consent(
        world.member,
        Channel.EMAIL,
        granted=True,
        source=ConsentSource.PROFILE,
        now=make.now,
    )
    return scope.Attempt(
        "/messages/new",
        {
            "segment": f"workplace:{world.here.id}",
            "subject_en": "General meeting",
            "body_en": "Thursday at 6, at the drop-in.",
            "subject_fr": "",
            "body_fr": "",
            "draft_key": "one-draft-of-this-message",
        },
        by="admin",
    )


#: endpoint: (what the asking page says, the attempt that succeeds)
ASKING = {
    "messages.compose": ("It goes out at once", compose_message),
    "members.accept_applicants": (
        "as when you accept one person at a time",
        scope.accept_applicants,
    ),
    "members.decline": ("Decline ", scope.decline),
    "members.invite_imported": ("Each gets an email", scope.invite_imported),
    "reports.close_round": ("Closing is final", scope.close_round),
    "treasurer.confirm_remittance": (
        "A confirmation cannot be undone",
        scope.confirm_remittance,
    ),
    "treasurer.retire_level": ("Members on it keep it", scope.retire_level),
    "workplaces.delete_funding": ("This cannot be undone", scope.delete_funding),
    "workplaces.merge": ("Its members move to", scope.merge_workplace),
}


def state() -> dict[str, Any]:
    db.session.expire_all()
    bind = db.session.get_bind()
    assert isinstance(bind, sa.Connection)
    return snapshot(bind)


@pytest.mark.parametrize("endpoint", sorted(ASKING))
def test_it_asks_first_and_does_it_once(client, make, world, endpoint):
    says, build = ASKING[endpoint]
    attempt = build(world, make)
    client.sign_in(world.accounts[attempt.by].email)
    token = client.csrf_token("/account")
    before = state()

    asking = client.post(attempt.url, data={**attempt.form, "csrf_token": token})
    assert asking.status_code == 200
    page = asking.get_data(as_text=True)
    assert says in page and "Cancel and go back" in page
    assert state() == before, "the first post changed something"

    fields = hidden_fields(page)
    assert {name: fields[name] for name in attempt.form} == {
        name: str(value) for name, value in attempt.form.items()
    }
    done = client.post(attempt.url, data=fields)
    assert done.status_code == 302
    after = state()
    assert after != before

    again = client.post(attempt.url, data=fields)
    assert again.status_code in (302, 404)
    assert state() == after, "confirming twice did it twice"


def test_every_action_that_asks_first_is_listed_here(app):
    """A view that calls ask_first is in ASKING, so its asking is tested."""
    import inspect

    from union.views import helpers

    asking = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if "ask_first(" in inspect.getsource(view)
    }
    assert asking == set(ASKING)
    assert helpers.CONFIRMED == "confirmed"


def test_the_month_still_running_is_refused_without_asking(client, world):
    client.sign_in("treasurer@example.org")
    month = utcnow().strftime("%Y-%m")
    assert clock.today(utcnow()).strftime("%Y-%m") == month
    steward = world.accounts["steward"].id
    response = client.submit(
        f"/treasurer/remittances/{steward}/{month}",
        page=f"/treasurer/remittances?month={month}",
    )
    assert response.status_code == 302
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "is still running" in shown
