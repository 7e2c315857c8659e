"""Passwords, throttling, and not telling anyone who has an account (by the answer
or by how long it takes)."""

from __future__ import annotations

import re
import statistics
import time
from types import SimpleNamespace

import itsdangerous
import itsdangerous.timed
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from tests.factories import PASSWORD
from union.adapters.throttle import SIGN_IN_LIMITS, MemoryCounters, Throttle
from union.db import db
from union.models import Member, MemberStatus
from union.rules import passwords
from union.rules.passwords import password_problems


def test_length_is_the_rule_and_common_passwords_are_refused():
    assert password_problems("seven77")
    assert password_problems("eight888") == []
    assert password_problems("y" * 64) == []
    assert password_problems("y" * 200) == []
    assert password_problems("no digits or capitals needed") == []
    for common in ("password1", "12345678", "Password1", "qwertyuiop"):
        assert password_problems(common), common
    assert password_problems("sam@example.org", email="sam@example.org")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app):
    fake = FakeClock()
    app.extensions["union_throttle"] = Throttle(MemoryCounters(clock=fake))
    return fake


def login(client, email, password, address=None):
    """A sign-in attempt, from `address` when given (as the app sees the peer)."""
    extra = {"environ_overrides": {"REMOTE_ADDR": address}} if address else {}
    return client.submit("/login", {"email": email, "password": password}, **extra)


def test_failed_sign_ins_are_throttled_per_account_then_forgiven(client, make, clock):
    make.user("sam@example.org")
    limit = SIGN_IN_LIMITS["pair"].attempts
    for _ in range(limit):
        assert login(client, "sam@example.org", "wrong guess").status_code == 200
    throttled = login(client, "sam@example.org", "wrong guess")
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert "Too many tries" in throttled.get_data(as_text=True)
    # Even the right password waits out the window: guessing gains nothing...
    assert login(client, "sam@example.org", PASSWORD).status_code == 429
    # ...and nobody is locked out for good.
    clock.now += SIGN_IN_LIMITS["pair"].window_seconds + 1
    assert login(client, "sam@example.org", PASSWORD).status_code == 302


def test_one_address_trying_many_accounts_is_throttled(client, make, clock):
    limit = SIGN_IN_LIMITS["address"].attempts
    for n in range(limit):
        login(client, f"someone{n}@example.org", "wrong guess")
    assert login(client, "another@example.org", "wrong guess").status_code == 429


def test_an_unknown_account_is_throttled_the_same_way(client, make, clock):
    make.user("sam@example.org")
    answers = []
    for email in ("sam@example.org", "nobody@example.org"):
        statuses = [login(client, email, "wrong guess").status_code for _ in range(6)]
        answers.append(statuses)
        clock.now += 3600
    assert answers[0] == answers[1] == [200] * 5 + [429]


# Device cookies: others' failures do not keep the owner out ---------------------------

UNTRUSTED = SIGN_IN_LIMITS["untrusted"]
DEVICE = SIGN_IN_LIMITS["device"]


def attack(app, email, tries, *, first=0, cookie=None):
    """Wrong passwords for `email`, each from its own address, so that no address
    and no address-and-account pair reaches its own limit. Returns the answers."""
    attacker = app.test_client()
    if cookie is not None:
        attacker.set_cookie("device", cookie, domain="union.test")
    return [
        login(attacker, email, "a wrong guess", f"198.51.100.{first + n}").status_code
        for n in range(tries)
    ]


def device_cookie(client):
    cookie = client.get_cookie("device", domain="union.test")
    assert cookie is not None
    return cookie.value


def a_known_device(app, email):
    """A browser the owner signed in on and then signed out of."""
    owner = app.test_client()
    owner.sign_in(email)
    owner.sign_out()
    return owner


def test_failures_from_many_addresses_do_not_keep_the_owner_out(
    app, client, make, clock
):
    make.user("sam@example.org")
    owner = a_known_device(app, "sam@example.org")
    answers = attack(app, "sam@example.org", UNTRUSTED.attempts + 5)
    assert answers[: UNTRUSTED.attempts] == [200] * UNTRUSTED.attempts
    assert set(answers[UNTRUSTED.attempts :]) == {429}
    # From anywhere else even the right password waits; her own browser does not.
    assert login(client, "sam@example.org", PASSWORD, "203.0.113.9").status_code == 429
    assert login(owner, "sam@example.org", PASSWORD, "203.0.113.7").status_code == 302
    assert owner.get("/account").status_code == 200


def test_signing_out_keeps_the_device_cookie(client, make):
    """On a shared computer it is safe to leave behind: it signs nobody in (see
    test_account_security), and the browser is still one the owner uses."""
    make.user("sam@example.org")
    client.sign_in("sam@example.org")
    cookie = device_cookie(client)
    response = client.sign_out()
    assert not any(
        c.startswith("device=") for c in response.headers.getlist("Set-Cookie")
    )
    assert device_cookie(client) == cookie


def test_on_a_new_device_during_an_attack_a_reset_link_lets_the_owner_in(
    app, client, make, clock, outbox
):
    make.user("sam@example.org")
    attack(app, "sam@example.org", UNTRUSTED.attempts)
    refused = login(client, "sam@example.org", PASSWORD, "203.0.113.7")
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "On a device where you have signed in before" in page
    assert 'href="/password/forgot"' in page
    client.submit("/password/forgot", {"email": "sam@example.org"})
    link = re.search(r"http://union\.test(/\S+)", outbox[-1].body).group(1)
    chosen = client.submit(
        link, {"password": "my new passphrase", "confirm": "my new passphrase"}
    )
    assert chosen.status_code == 302
    assert client.get("/account").status_code == 200
    # The link made this browser a known one: while the attack goes on, it signs in.
    client.sign_out()
    attack(app, "sam@example.org", 3, first=50)
    again = login(client, "sam@example.org", "my new passphrase", "203.0.113.7")
    assert again.status_code == 302


def test_a_known_device_has_a_small_limit_of_its_own(app, client, make, clock):
    """A stolen device cookie buys fewer guesses than having none, and its
    failures, from whatever address, do not count against the account."""
    make.user("sam@example.org")
    thief = a_known_device(app, "sam@example.org")
    for n in range(DEVICE.attempts):
        assert (
            login(thief, "sam@example.org", "a guess", f"192.0.2.{n}").status_code
            == 200
        )
    throttled = login(thief, "sam@example.org", PASSWORD, "192.0.2.99")
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= DEVICE.window_seconds + 1
    assert "On a device where you have signed in before" not in throttled.get_data(
        as_text=True
    )
    assert login(client, "sam@example.org", PASSWORD).status_code == 302
    clock.now += DEVICE.window_seconds + 1
    assert login(thief, "sam@example.org", PASSWORD, "192.0.2.1").status_code == 302


def test_a_device_cookie_names_neither_the_email_nor_anything_shared(app, make):
    """What a shared computer's browser keeps: a random nonce, and the account
    only through a keyed hash bound to that nonce. Two browsers' cookies for one
    account have nothing in common, so they do not show one person used both."""
    user = make.user("sam@example.org")
    payloads = []
    for _ in range(2):
        browser = app.test_client()
        browser.sign_in("sam@example.org")
        cookie = device_cookie(browser)
        assert "sam" not in cookie
        _, payload = itsdangerous.URLSafeTimedSerializer("any").loads_unsafe(cookie)
        payloads.append(payload)
    first, second = payloads
    assert set(first) == {"a", "n"} and str(user.id) not in first.values()
    assert first["a"] != second["a"] and first["n"] != second["n"]


def tampered(cookie):
    payload, signature = cookie.rsplit(".", 1)
    return f"{payload}.{signature[::-1]}"


@pytest.mark.parametrize("kind", ["forged", "expired", "another account's"])
def test_a_cookie_that_is_not_valid_for_the_account_counts_as_untrusted(
    app, client, make, clock, monkeypatch, kind
):
    make.user("sam@example.org")
    make.user("kim@example.org")
    if kind == "another account's":
        cookie = device_cookie(a_known_device(app, "kim@example.org"))
    else:
        cookie = device_cookie(a_known_device(app, "sam@example.org"))
    if kind == "forged":
        cookie = tampered(cookie)
    elif kind == "expired":
        later = time.time() + app.config["DEVICE_COOKIE_MAX_AGE"].total_seconds() + 60
        monkeypatch.setattr(
            itsdangerous.timed, "time", SimpleNamespace(time=lambda: later)
        )
    # Not stopped at the device limit: these tries use the account's untrusted
    # allowance, and once it is spent, anyone without a valid cookie waits.
    answers = attack(app, "sam@example.org", UNTRUSTED.attempts + 1, cookie=cookie)
    assert answers == [200] * UNTRUSTED.attempts + [429]
    assert login(client, "sam@example.org", PASSWORD, "203.0.113.7").status_code == 429


def test_a_signed_in_owner_can_confirm_their_password_during_an_attack(
    app, client, make, clock
):
    make.user("sam@example.org")
    client.sign_in("sam@example.org")
    attack(app, "sam@example.org", UNTRUSTED.attempts + 1)
    confirmed = client.submit("/account/confirm", {"password": PASSWORD})
    assert confirmed.status_code == 302


def median_seconds(*calls, repeats=9):
    """The median processor time of each call in this thread, where the app runs
    (the test client calls it directly), timed in turns (a, b, a, b ...). Processor
    time, not the clock: other processes on a busy machine add to the clock but
    not to this, so the comparison cannot flip because something else ran."""
    samples: list[list[float]] = [[] for _ in calls]
    for _ in range(repeats):
        for call, seconds in zip(calls, samples, strict=True):
            started = time.thread_time()
            call()
            seconds.append(time.thread_time() - started)
    return [statistics.median(seconds) for seconds in samples]


@pytest.fixture
def real_hashing(make, monkeypatch):
    """Password hashing that takes real time (the suite normally uses the cheapest
    argon2 parameters), so that skipping it would show in the timings."""
    hasher = PasswordHasher(time_cost=2, memory_cost=16 * 1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_dummy_hash", hasher.hash("not a real password"))
    user = make.user("sam@example.org")
    user.password_hash = passwords.hash_password(PASSWORD)
    return user


def similar(a: float, b: float) -> bool:
    """Within a factor of two: coarse, but an argon2 verify skipped for unknown
    accounts would make one side several times faster."""
    return max(a, b) / min(a, b) < 2


def test_signing_in_takes_as_long_for_unknown_accounts(client, real_hashing, clock):
    def attempt(email):
        def run():
            clock.now += 3600  # stay below the throttle
            client.submit("/login", {"email": email, "password": "not the password"})

        return run

    login(client, "warm@example.org", "up")
    known, unknown = median_seconds(
        attempt("sam@example.org"), attempt("nobody@example.org")
    )
    assert similar(known, unknown), (known, unknown)


def test_asking_for_a_reset_answers_as_fast_for_unknown_emails(
    client, make, clock, outbox
):
    make.user("sam@example.org")
    token = client.csrf_token("/password/forgot")
    opened = []

    def ask(email):
        def run():
            clock.now += 7200
            # Timed until the answer is there, as a browser sees it; the work done
            # after the response (finding the account, the email) is not.
            opened.append(
                client.post(
                    "/password/forgot",
                    data={"email": email, "csrf_token": token},
                    buffered=False,
                )
            )

        return run

    ask("warm@example.org")()
    known, unknown = median_seconds(ask("sam@example.org"), ask("nobody@example.org"))
    for response in opened:
        response.close()
    assert similar(known, unknown), (known, unknown)
    assert len(outbox) == 9 and {m.to for m in outbox} == {"sam@example.org"}


def test_joining_answers_as_fast_with_a_used_email(client, make, clock, outbox):
    workplace = make.workplace()
    level = make.level("regular")
    make.user("taken@example.org")
    counter = iter(range(1000))
    token = client.csrf_token("/join")
    opened = []

    def join(email):
        def run():
            clock.now += 7200
            # Timed until the answer is there, as a browser sees it; recording the
            # application and the email happen after the response.
            opened.append(
                client.post(
                    "/join",
                    data={
                        "csrf_token": token,
                        "chosen_name": "Robin",
                        "email": email or f"new{next(counter)}@example.org",
                        "contact_preference": "email",
                        "membership_class": "employed",
                        "workplace": str(workplace.id),
                        "dues_level": str(level.id),
                    },
                    buffered=False,
                )
            )

        return run

    join(None)()
    new, used = median_seconds(join(None), join("taken@example.org"))
    for response in opened:
        assert response.status_code == 302
        response.close()
    assert similar(new, used), (new, used)
    # The work was done all the same: ten new applicants, nine notes to the owner.
    applicants = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Member)
        .where(Member.status == MemberStatus.APPLICANT)
    )
    assert applicants == 10
    assert sum(message.to == "taken@example.org" for message in outbox) == 9
    assert len(outbox) == 19
