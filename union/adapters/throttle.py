"""Slowing down password guessing without locking anyone out.

Failed sign-ins are counted per account, per address and per account-and-address
pair in fixed windows. Past a limit, further tries wait until the window runs out
(minutes, not days), and a correct password then works again: throttling, not a
lockout that an attacker could use to keep someone out. Counters live in Redis when
REDIS_URL is set, so every app server sees the same counts; otherwise in memory.
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
    "pair": Limit(5, 5 * 60),
    "account": Limit(10, 10 * 60),
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


def sign_in_keys(account: str, address: str) -> dict[str, str]:
    """What a sign-in attempt counts against; `account` is already a keyed hash."""
    return {"pair": f"{account}|{address}", "account": account, "address": address}


def throttle_from_config(config: Mapping[str, Any]) -> Throttle:
    url = config.get("REDIS_URL")
    if url:
        return Throttle(RedisCounters(redis.Redis.from_url(url, socket_timeout=2)))
    return Throttle(MemoryCounters())
