"""Slowing down password guessing without letting anyone lock the owner out.

A browser that signed in to an account before (it holds a device cookie for it,
union/web/devices.py) has its failed sign-ins counted against itself alone, never
against the account. Every other try counts against the account's "untrusted"
allowance, the address and the account-and-address pair. Counts are kept in fixed
windows; past a limit, further tries wait until the window runs out (minutes, not
days). An attacker's failures, from any number of addresses, only use up the
untrusted allowance: the owner's own browsers still get in, and an emailed reset
link, which signs in and makes its browser a known one, works everywhere else.
Counters live in Redis when REDIS_URL is set (required in production), so every
worker and app server sees the same counts; otherwise in memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import redis


class Counters(Protocol):
    def add(self, key: str, window_seconds: int) -> None:
        """Counts one event under `key`, forgotten `window_seconds` after the first."""

    def get(self, key: str) -> tuple[int, int]:
        """(events counted, seconds until the count is forgotten)."""

    def clear(self, key: str) -> None: ...


class MemoryCounters:
    """One process's counters; fine for a single server and for tests."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def add(self, key: str, window_seconds: int) -> None:
        with self._lock:
            count, expires = self._counts.get(key, (0, 0.0))
            now = self._clock()
            if expires <= now:
                count, expires = 0, now + window_seconds
            self._counts[key] = (count + 1, expires)

    def get(self, key: str) -> tuple[int, int]:
        with self._lock:
            count, expires = self._counts.get(key, (0, 0.0))
            remaining = expires - self._clock()
            if remaining <= 0:
                return 0, 0
            return count, int(remaining) + 1

    def clear(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


class RedisCounters:
    """Counters shared by every app server through Redis."""

    def __init__(self, client: redis.Redis, prefix: str = "union:throttle:") -> None:
        self.client = client
        self.prefix = prefix

    def add(self, key: str, window_seconds: int) -> None:
        name = self.prefix + key
        pipeline = self.client.pipeline()
        pipeline.incr(name)
        pipeline.expire(name, window_seconds, nx=True)
        pipeline.execute()

    def get(self, key: str) -> tuple[int, int]:
        name = self.prefix + key
        pipeline = self.client.pipeline()
        pipeline.get(name)
        pipeline.ttl(name)
        count, ttl = pipeline.execute()
        if count is None:
            return 0, 0
        return int(count), max(int(ttl), 0)

    def clear(self, key: str) -> None:
        self.client.delete(self.prefix + key)


@dataclass(frozen=True, slots=True)
class Limit:
    attempts: int
    window_seconds: int


#: Failed sign-ins allowed before waiting, by what they are counted against.
SIGN_IN_LIMITS = {
    #: One browser known to the account (its device cookie): fewer than untrusted
    #: tries get, so a stolen cookie is worth less than having none.
    "device": Limit(5, 10 * 60),
    "pair": Limit(5, 5 * 60),
    #: Every try at the account from browsers it was not signed in on before.
    "untrusted": Limit(10, 10 * 60),
    "address": Limit(30, 10 * 60),
}
#: Password-reset and join requests allowed per address, and reset emails per account.
REQUEST_LIMITS = {
    "reset-address": Limit(10, 60 * 60),
    "reset-account": Limit(3, 60 * 60),
    "join-address": Limit(20, 60 * 60),
    "email-change": Limit(5, 60 * 60),
}


class Throttle:
    def __init__(self, counters: Counters) -> None:
        self.counters = counters

    def wait_seconds(self, keys: Mapping[str, str], limits: Mapping[str, Limit]) -> int:
        """How long to wait before another try; 0 when trying now is fine."""
        wait = 0
        for kind, key in keys.items():
            count, remaining = self.counters.get(f"{kind}:{key}")
            if count >= limits[kind].attempts:
                wait = max(wait, remaining)
        return wait

    def record(self, keys: Mapping[str, str], limits: Mapping[str, Limit]) -> None:
        for kind, key in keys.items():
            self.counters.add(f"{kind}:{key}", limits[kind].window_seconds)

    def forget(self, keys: Mapping[str, str]) -> None:
        for kind, key in keys.items():
            self.counters.clear(f"{kind}:{key}")


def sign_in_keys(account: str, address: str, device: str | None) -> dict[str, str]:
    """What a sign-in attempt counts against: the browser alone when it holds a
    device cookie for the account (`device`, its nonce); else the account's untrusted
    allowance, the address and the pair. `account` is already a keyed hash."""
    if device is not None:
        return {"device": device}
    return {"pair": f"{account}|{address}", "untrusted": account, "address": address}


def throttle_from_config(config: Mapping[str, Any]) -> Throttle:
    url = config.get("REDIS_URL")
    if url:
        return Throttle(RedisCounters(redis.Redis.from_url(url, socket_timeout=2)))
    return Throttle(MemoryCounters())
