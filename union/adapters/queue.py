"""The job queue's engine: Huey, on the broker QUEUE_URL names.

- "redis://host:6379/0": Redis, for production and CI (several workers, several
  machines). Production requires it.
- "sqlite:///path/queue.sqlite3": a file beside the database, for `make run`:
  nothing to install, one machine.
- "inline": no broker; a job runs in the process that hands it off, as soon as
  it does (tests that go through the web, and one-off commands).

The queue only carries job ids as wake-ups; the jobs themselves are rows in the
app's database (union.services.jobs), so a broker that loses a message loses
nothing but time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper

from union.clock import utcnow


def huey_from_config(config: Mapping[str, Any]) -> Huey:
    url: str = config["QUEUE_URL"]
    name: str = config.get("QUEUE_NAME") or "union"
    if url == "inline":
        return MemoryHuey(name, immediate=True, results=False)
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss", "unix"):
        return RedisHuey(name, url=url, results=False, blocking=True, read_timeout=1)
    if scheme == "sqlite":
        path = url.removeprefix("sqlite:///")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=path, results=False)
    raise ValueError(
        f"QUEUE_URL must be redis://, sqlite:/// or inline, not {scheme!r}"
    )


class HueyWaker:
    """Hands job ids to the worker task that runs them (union.worker)."""

    def __init__(self, huey: Huey, run_job: TaskWrapper) -> None:
        self.huey = huey
        self.run_job = run_job

    def wake(self, job_id: int, *, at: datetime | None = None) -> None:
        delay = (at - utcnow()).total_seconds() if at is not None else 0.0
        if delay > 0:
            if not self.huey.immediate:
                self.run_job.schedule(args=(job_id,), delay=delay)
            # Inline, a retry waits for the next hand-off or sweep.
            return
        self.run_job(job_id)
