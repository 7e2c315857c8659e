"""Sign-in throttling shared through Redis by two app instances, as two gunicorn
workers (or two servers) share it in production. Outside tests/views, because
these apps have a database of their own, with real commits.

Needs Redis on 127.0.0.1:6379 (.ci/run starts it); database 14 is used and
emptied, before and after.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from flask import Flask

from tests import factories
from tests.conftest import UnionClient, config_for_tests, reset_schema
from union import create_app
from union.adapters.throttle import SIGN_IN_LIMITS, RedisCounters
from union.db import db

REDIS_URL = "redis://127.0.0.1:6379/14"
UNTRUSTED = SIGN_IN_LIMITS["untrusted"]
DEVICE = SIGN_IN_LIMITS["device"]


@pytest.fixture
def shared_redis() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("nothing answers on redis://127.0.0.1:6379 (.ci/run starts it)")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def workers(shared_redis: str, fresh_database_url: str, now) -> Iterator[list[Flask]]:
    """Two app instances behind one proxy, sharing a database and Redis, with
    an account sam@example.org."""
    apps = []
    for _ in range(2):
        app = create_app(
            config_for_tests(
                SQLALCHEMY_DATABASE_URI=fresh_database_url,
                REDIS_URL=shared_redis,
                TRUSTED_PROXIES=1,
            )
        )
        app.test_client_class = UnionClient
        apps.append(app)
    reset_schema(apps[0])
    with apps[0].app_context():
        factories.Factories(now).user("sam@example.org")
        db.session.commit()
    yield apps
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def login(client, password, address):
    return client.submit(
        "/login",
        {"email": "sam@example.org", "password": password},
        headers={"X-Forwarded-For": address},
    )


def device_cookie(client):
    return client.get_cookie("device", domain="union.test").value


def test_both_instances_count_against_one_limit(workers):
    first, second = workers
    assert all(
        isinstance(app.extensions["union_throttle"].counters, RedisCounters)
        for app in workers
    )
    owner = first.test_client()
    owner.sign_in("sam@example.org")
    owner.sign_out()
    # Failures from a new address each time, taking turns between the instances:
    # neither alone sees the limit reached, together they do.
    attackers = [app.test_client() for app in workers]
    for n in range(UNTRUSTED.attempts):
        answer = login(attackers[n % 2], "a wrong guess", f"198.51.100.{n}")
        assert answer.status_code == 200
    for attacker in attackers:
        assert login(attacker, factories.PASSWORD, "203.0.113.9").status_code == 429
    # The device cookie one instance gave is honoured by the other.
    owner_elsewhere = second.test_client()
    owner_elsewhere.set_cookie("device", device_cookie(owner), domain="union.test")
    assert login(owner_elsewhere, factories.PASSWORD, "192.0.2.1").status_code == 302


def test_a_known_device_limit_holds_across_instances(workers):
    first, second = workers
    devices = [first.test_client(), second.test_client()]
    devices[0].sign_in("sam@example.org")
    devices[0].sign_out()
    devices[1].set_cookie("device", device_cookie(devices[0]), domain="union.test")
    for n in range(DEVICE.attempts):
        assert login(devices[n % 2], "a guess", f"192.0.2.{n}").status_code == 200
    for device in devices:
        assert login(device, factories.PASSWORD, "192.0.2.50").status_code == 429
