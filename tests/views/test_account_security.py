"""Fresh sign-in before sensitive changes, changing email by a confirmed link,
signing out other devices, cookies, and what sign-in attempts leave in the audit log."""

import re
from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher

from tests.conftest import without_csrf_tokens
from tests.factories import PASSWORD
from union import clock
from union.db import db
from union.models import AuditEvent, LoginSession, TokenPurpose, User
from union.rules import passwords
from union.services import accounts

LATER = timedelta(minutes=20)


def link_in(message):
    match = re.search(r"http://union\.test(/\S+)", message.body)
    assert match, message.body
    return match.group(1)


def stale(client, now):
    """Moves the test clock past the fresh sign-in window (the session stays open)."""
    return clock.pinned(now + LATER)


def audit_actions(prefix):
    return db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.action.like(prefix + "%"))
        .order_by(AuditEvent.id)
    ).all()


def test_changing_email_or_dues_level_from_a_stale_session_asks_for_the_password(
    client, world, now
):
    client.sign_in("member@example.org")
    with stale(client, now):
        page = client.get("/account/email")
        assert page.status_code == 302
        assert page.headers["Location"].startswith("/account/confirm?next=")
        level = client.submit(
            "/dues/level", {"dues_level": str(world.member.dues_level_id)}, page="/dues"
        )
        assert level.status_code == 302
        assert level.headers["Location"] == "/account/confirm?next=/dues"
        wrong = client.submit(
            "/account/confirm?next=/account/email", {"password": "not it"}
        )
        assert "That is not your password." in wrong.get_data(as_text=True)
        right = client.submit(
            "/account/confirm?next=/account/email", {"password": PASSWORD}
        )
        assert right.headers["Location"] == "/account/email"
        assert client.get("/account/email").status_code == 200
    assert audit_actions("account.password_confirmed") == ["account.password_confirmed"]


def test_a_stale_session_cannot_change_the_password_without_the_current_one(
    client, world, now
):
    client.sign_in("member@example.org")
    with stale(client, now):
        refused = client.submit(
            "/account/password",
            {
                "current_password": "guess",
                "new_password": "a brand new phrase",
                "confirm": "a brand new phrase",
            },
            page="/account",
        )
        assert refused.status_code == 400
        # Typing the current password is itself the fresh sign-in.
        done = client.submit(
            "/account/password",
            {
                "current_password": PASSWORD,
                "new_password": "a brand new phrase",
                "confirm": "a brand new phrase",
            },
            page="/account",
        )
        assert done.status_code == 302


def test_a_confirm_link_never_leads_off_site(client, world):
    client.sign_in("member@example.org")
    response = client.submit(
        "/account/confirm?next=https://evil.example/", {"password": PASSWORD}
    )
    assert response.headers["Location"] == "/account"


def test_email_changes_only_through_a_link_sent_to_the_new_address(
    client, world, outbox
):
    client.sign_in("member@example.org")
    response = client.submit("/account/email", {"new_email": "Robin.New@Example.org"})
    assert "We sent a link to robin.new@example.org" in response.get_data(as_text=True)
    [message] = outbox
    assert message.to == "robin.new@example.org"
    db.session.expire_all()
    assert world.accounts["member"].email == "member@example.org"
    link = link_in(message)
    # Opening the link (a preview, a mail scanner) changes nothing.
    assert client.get(link).status_code == 200
    db.session.expire_all()
    assert world.accounts["member"].email == "member@example.org"
    outbox.clear()
    confirmed = client.submit(link, {}, page=link)
    assert confirmed.status_code == 302
    db.session.expire_all()
    assert world.accounts["member"].email == "robin.new@example.org"
    [notice] = outbox
    assert notice.to == "member@example.org"
    assert "r\u2026@example.org" in notice.body and "robin.new" not in notice.body
    # Whoever took the account controls the new address, so the old one is not
    # sent to a password reset there: it is told to tell the union.
    assert "Reply to this email or tell a steward" in notice.body
    assert client.get(link).status_code == 400
    client.sign_out()
    client.sign_in("robin.new@example.org")


def test_asking_for_an_email_already_in_use_looks_the_same(client, world, outbox):
    client.sign_in("member@example.org")
    taken = client.submit("/account/email", {"new_email": "steward@example.org"})
    free = client.submit("/account/email", {"new_email": "free@example.org"})
    assert taken.status_code == free.status_code == 200

    def as_seen(response):
        """The page but for the address typed in and the CSRF token, which is
        signed with the time in seconds."""
        text = without_csrf_tokens(response.get_data(as_text=True))
        return re.sub(r"[\w.+-]+@example\.org", "ADDRESS", text)

    assert as_seen(taken) == as_seen(free)
    assert [m.to for m in outbox] == ["steward@example.org", "free@example.org"]
    assert "already has an account" in outbox[0].body
    assert "/account/email/confirm/" not in outbox[0].body


def test_the_same_email_is_refused_on_the_form(client, world):
    client.sign_in("member@example.org")
    response = client.submit("/account/email", {"new_email": "MEMBER@example.org"})
    assert "That is already your email." in response.get_data(as_text=True)


def test_signing_out_everywhere_else_keeps_this_device(client, world):
    client.sign_in("member@example.org")
    other = client.application.test_client()
    other.sign_in("member@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert "(this device)" in page and "Sign out everywhere else" in page
    client.submit("/account/sessions/end-others", page="/account")
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
    live = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(LoginSession)
        .where(LoginSession.revoked_at.is_(None))
    )
    assert live == 1


def test_sign_ins_failures_and_sign_outs_are_audited_without_the_email(client, world):
    client.submit("/login", {"email": "member@example.org", "password": "wrong one"})
    client.submit("/login", {"email": "nobody@example.org", "password": "wrong one"})
    client.sign_in("member@example.org")
    client.sign_out()
    rows = db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.subject_id, AuditEvent.detail)
        .where(AuditEvent.action.like("account.%"))
        .order_by(AuditEvent.id)
    ).all()
    member_id = str(world.accounts["member"].id)
    assert [tuple(row) for row in rows] == [
        ("account.sign_in_failed", member_id, None),
        ("account.sign_in_failed", None, None),
        ("account.signed_in", None, None),
        ("account.signed_out", None, None),
    ]


def test_too_many_tries_are_audited_as_throttled(client, world):
    for _ in range(6):
        response = client.submit(
            "/login", {"email": "member@example.org", "password": "wrong one"}
        )
    assert response.status_code == 429
    assert "account.sign_in_throttled" in audit_actions("account.")


def test_production_cookies_are_host_only_secure_httponly_and_lax():
    from tests.conftest import config_for_tests
    from union import create_app

    app = create_app(
        config_for_tests(
            UNION_ENV="production",
            SQLALCHEMY_DATABASE_URI="postgresql+psycopg://u@127.0.0.1:1/x",
            PUBLIC_URL="https://union.test",
            REDIS_URL="redis://127.0.0.1:1/0",
        )
    )
    response = app.test_client().get("/login", base_url="https://union.test")
    [cookie] = response.headers.getlist("Set-Cookie")
    parts = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith("__Host-session=")
    assert {"secure", "httponly", "path"} <= parts and "domain" not in parts
    assert "SameSite=Lax" in cookie
    hsts = response.headers["Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
    assert max_age >= 31_536_000 and "includeSubDomains" in hsts


def test_the_production_device_cookie_is_host_only_secure_httponly_and_strict():
    from tests.conftest import config_for_tests
    from union import create_app
    from union.web.devices import remember_device

    app = create_app(
        config_for_tests(
            UNION_ENV="production",
            SQLALCHEMY_DATABASE_URI="postgresql+psycopg://u@127.0.0.1:1/x",
            PUBLIC_URL="https://union.test",
            REDIS_URL="redis://127.0.0.1:1/0",
        )
    )
    with app.test_request_context("/login", base_url="https://union.test"):
        remember_device(User(id=1))
        response = app.process_response(app.make_response("signed in"))
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if "device=" in c]
    parts = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith("__Host-device=")
    assert {"secure", "httponly", "path"} <= parts and "domain" not in parts
    assert "Path=/;" in cookie or cookie.endswith("Path=/")
    assert "SameSite=Strict" in cookie
    max_age = int(re.search(r"Max-Age=(\d+)", cookie).group(1))
    assert max_age == 365 * 24 * 3600


def test_signing_in_sets_no_long_lived_remember_cookie(client, world):
    response = client.submit(
        "/login", {"email": "member@example.org", "password": PASSWORD}
    )
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all(not c.startswith("remember_token") for c in cookies)
    # The one cookie that outlives the browser is the device cookie, which only
    # decides how failed sign-ins are counted: on its own it signs nobody in.
    lasting = [c for c in cookies if "Expires" in c or "Max-Age" in c]
    assert [c.split("=")[0] for c in lasting] == ["device"]
    device = client.get_cookie("device", domain="union.test").value
    stranger = client.application.test_client()
    stranger.set_cookie("device", device, domain="union.test")
    assert stranger.get("/account").status_code == 302


def test_an_old_hash_is_upgraded_at_the_next_sign_in(client, world):
    user = world.accounts["member"]
    # Parameters other than the configured ones, as an older release would have used.
    weak = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    user.password_hash = weak.hash(PASSWORD)
    db.session.flush()
    client.sign_in("member@example.org")
    db.session.expire_all()
    upgraded = db.session.get(User, user.id).password_hash
    assert upgraded != weak.hash(PASSWORD) and not passwords.needs_rehash(upgraded)
    assert "m=16,t=2" not in db.session.get(User, user.id).password_hash


# Emailed links end when what they were sent under changes ---------------------------


def ask_for_a_reset(client, email, outbox):
    """A reset link asked for from another browser, as anyone who knows the
    address (the owner, or not) could."""
    client.application.test_client().submit("/password/forgot", {"email": email})
    link = link_in(outbox[-1])
    assert link.startswith("/password/reset/")
    return link


def change_password(client, new="a fresh passphrase"):
    response = client.submit(
        "/account/password",
        {"current_password": PASSWORD, "new_password": new, "confirm": new},
        page="/account",
    )
    assert response.status_code == 302


def refused(client, link):
    response = client.get(link)
    return response.status_code == 400 and "no longer works" in response.get_data(
        as_text=True
    )


def test_a_password_change_ends_a_reset_link_asked_for_before(client, world, outbox):
    link = ask_for_a_reset(client, "member@example.org", outbox)
    client.sign_in("member@example.org")
    change_password(client)
    assert refused(client, link)


def test_an_email_change_ends_a_reset_link_sent_to_the_old_address(
    client, world, outbox
):
    link = ask_for_a_reset(client, "member@example.org", outbox)
    assert outbox[-1].to == "member@example.org"
    client.sign_in("member@example.org")
    client.submit("/account/email", {"new_email": "robin.new@example.org"})
    confirm = link_in(outbox[-1])
    assert client.submit(confirm, {}, page=confirm).status_code == 302
    assert refused(client, link)


def test_a_password_set_by_reset_link_ends_an_open_email_change_link(
    client, world, outbox
):
    client.sign_in("member@example.org")
    client.submit("/account/email", {"new_email": "robin.new@example.org"})
    confirm = link_in(outbox[-1])
    reset = ask_for_a_reset(client, "member@example.org", outbox)
    client.submit(
        reset, {"password": "my new passphrase", "confirm": "my new passphrase"}
    )
    assert refused(client, confirm)
    db.session.expire_all()
    assert world.accounts["member"].email == "member@example.org"


def test_a_password_change_ends_an_open_email_change_link(client, world, outbox):
    client.sign_in("member@example.org")
    client.submit("/account/email", {"new_email": "robin.new@example.org"})
    confirm = link_in(outbox[-1])
    change_password(client)
    assert refused(client, confirm)


def never_chose_a_password(make, now, email):
    """An imported member's account, with the activation link they were sent."""
    user = make.user(email, password=False)
    link = accounts.issue_token(
        user, TokenPurpose.ACTIVATE, now=now, lifetime=timedelta(days=7)
    )
    db.session.commit()
    return f"/account/activate/{link}"


def test_finishing_activation_ends_an_open_reset_link(client, make, outbox, now):
    activation = never_chose_a_password(make, now, "new@example.org")
    reset = ask_for_a_reset(client, "new@example.org", outbox)
    activated = client.submit(
        activation, {"password": "my new passphrase", "confirm": "my new passphrase"}
    )
    assert activated.status_code == 302
    assert refused(client, reset)


def test_a_password_chosen_by_reset_link_ends_an_open_activation_link(
    client, make, outbox, now
):
    activation = never_chose_a_password(make, now, "new@example.org")
    reset = ask_for_a_reset(client, "new@example.org", outbox)
    chosen = client.submit(
        reset, {"password": "my new passphrase", "confirm": "my new passphrase"}
    )
    assert chosen.status_code == 302
    assert refused(client, activation)
