"""Real Redis and SMTP on 127.0.0.1 for the tests of a deployed server
(tests/test_deploy_check.py, tests/test_deploy_kit.py). Registered as a plugin in
tests/conftest.py.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import redis
from aiosmtpd.controller import Controller

#: Database 13 of the local Redis; the throttling counters a check or a served
#: app writes there expire by themselves.
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/13"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Accepting:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd hook name
        return "250 Message accepted"


@pytest.fixture
def smtp_url() -> Iterator[str]:
    """An SMTP server on loopback that accepts everything and keeps nothing."""
    port = free_port()
    controller = Controller(Accepting(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp+insecure://127.0.0.1:{port}"
    finally:
        controller.stop()


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis.from_url(LOCAL_REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("nothing answers on redis://127.0.0.1:6379 (.ci/run starts it)")
    finally:
        client.close()
    return LOCAL_REDIS_URL
