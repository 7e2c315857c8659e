import re
from datetime import timedelta

import sqlalchemy as sa

from tests.factories import PASSWORD
from union.db import db
from union.models import AccountToken, LoginSession


def link_in(message):
    match = re.search(r"http://union\.test(/\S+)", message.body)
    assert match, message.body
    return match.group(1)


def test_signing_in_takes_you_where_you_were_going(client, make):
    make.user("sam@example.org", roles=())
    response = client.get("/account")
    assert response.status_code == 302
    assert "/login?next=%2Faccount" in response.headers["Location"]
    response = client.submit(
        "/login?next=/account", {"email": "sam@example.org", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/account"


def test_signing_in_never_redirects_off_site(client, make):
    make.user("sam@example.org")
    response = client.submit(
        "/login?next=//evil.example/",
        {"email": "sam@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/"


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client, make):
    make.user("sam@example.org")
    wrong = client.submit(
        "/login", {"email": "sam@example.org", "password": "nope nope"}
    )
    unknown = client.submit(
        "/login", {"email": "nobody@example.org", "password": "nope nope"}
    )
    assert wrong.status_code == unknown.status_code == 200

    def message(response):
        return re.search(
            r'<div class="error-summary".*?</div>',
            response.get_data(as_text=True),
            re.S,
        ).group(0)

    assert message(wrong) == message(unknown)
    assert "do not match an account" in message(wrong)


def test_signing_in_issues_a_new_cookie_and_logging_out_revokes_it(client, make):
    make.user("sam@example.org")
    client.get("/login")
    before = client.get_cookie("session", domain="union.test").value
    client.sign_in("sam@example.org")
    after = client.get_cookie("session", domain="union.test").value
    assert after != before
    assert client.get("/account").status_code == 200
    assert client.sign_out().status_code == 302
    assert client.get("/account").status_code == 302
    client.set_cookie("session", after, domain="union.test")
    replayed = client.get("/account")
    assert replayed.status_code == 302 and "/login" in replayed.headers["Location"]


def test_logout_is_post_only(client, make):
    make.user("sam@example.org")
    client.sign_in("sam@example.org")
    assert client.get("/logout").status_code == 405
    assert client.get("/account").status_code == 200


def test_password_reset_by_emailed_link_works_once(client, make, outbox):
    user = make.user("sam@example.org")
    client.sign_in("sam@example.org")
    other_device = client.application.test_client()
    other_device.sign_in("sam@example.org")
    client.sign_out()
    response = client.submit("/password/forgot", {"email": "SAM@example.org"})
    assert response.headers["Location"] == "/password/forgot/sent"
    [message] = outbox
    assert message.to == "sam@example.org"
    link = link_in(message)
    assert client.get(link).status_code == 200
    response = client.submit(
        link, {"password": "my new passphrase", "confirm": "my new passphrase"}
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert other_device.get("/account").status_code == 302
    reused = client.submit(
        link,
        {"password": "another passphrase", "confirm": "another passphrase"},
        page="/login",
    )
    assert reused.status_code == 400
    assert "no longer works" in reused.get_data(as_text=True)
    db.session.expire_all()
    assert client.submit("/logout", page="/account").status_code == 302
    client.sign_in(user.email, "my new passphrase")


def test_an_expired_reset_link_is_refused(client, make, outbox):
    make.user("sam@example.org")
    client.submit("/password/forgot", {"email": "sam@example.org"})
    link = link_in(outbox[0])
    token = db.session.scalar(sa.select(AccountToken))
    token.expires_at = token.created_at - timedelta(seconds=1)
    db.session.flush()
    response = client.get(link)
    assert response.status_code == 400
    assert "no longer works" in response.get_data(as_text=True)


def test_asking_for_a_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(
    client, make, outbox
):
    make.user("sam@example.org")
    known = client.submit("/password/forgot", {"email": "sam@example.org"})
    unknown = client.submit("/password/forgot", {"email": "nobody@example.org"})
    assert (known.status_code, known.headers["Location"]) == (
        unknown.status_code,
        unknown.headers["Location"],
    )
    assert [m.to for m in outbox] == ["sam@example.org"]


def test_mismatched_new_passwords_are_named_and_the_link_keeps_working(
    client, make, outbox
):
    make.user("sam@example.org")
    client.submit("/password/forgot", {"email": "sam@example.org"})
    link = link_in(outbox[0])
    response = client.submit(
        link, {"password": "one passphrase", "confirm": "other passphrase"}
    )
    assert response.status_code == 200
    assert "The two passwords are not the same." in response.get_data(as_text=True)
    assert client.get(link).status_code == 200


def test_changing_the_password_signs_out_other_devices_but_not_this_one(client, make):
    make.user("sam@example.org")
    client.sign_in("sam@example.org")
    other = client.application.test_client()
    other.sign_in("sam@example.org")
    response = client.submit(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "a fresh passphrase",
            "confirm": "a fresh passphrase",
        },
        page="/account",
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
    live = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(LoginSession)
        .where(LoginSession.revoked_at.is_(None))
    )
    assert live == 1


def test_a_wrong_current_password_is_named(client, make):
    make.user("sam@example.org")
    client.sign_in("sam@example.org")
    response = client.submit(
        "/account/password",
        {
            "current_password": "wrong",
            "new_password": "a fresh passphrase",
            "confirm": "a fresh passphrase",
        },
        page="/account",
    )
    assert response.status_code == 400
    assert "That is not your current password." in response.get_data(as_text=True)
