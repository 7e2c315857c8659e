"""Passwords, throttling, and not telling anyone who has an account (by the answer
or by how long it takes)."""

from __future__ import annotations

import statistics
import time

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


def login(client, email, password):
    return client.submit("/login", {"email": email, "password": password})


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


def median_seconds(*calls, repeats=9):
    """The median time of each call, timed in turns (a, b, a, b ...) so that a busy
    moment on a shared machine slows every side alike rather than one of them."""
    samples: list[list[float]] = [[] for _ in calls]
    for _ in range(repeats):
        for call, seconds in zip(calls, samples, strict=True):
            started = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - started)
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
