"""Handing committed jobs to the queue: after a response has gone, or when
code outside a request commits (commands, the worker itself)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Response, current_app
from huey import Huey
from huey.api import TaskWrapper

from union.adapters.queue import HueyWaker
from union.db import db
from union.services import jobs
from union.web.when_sent import when_sent


@dataclass(frozen=True)
class Queue:
    huey: Huey
    waker: HueyWaker
    #: The periodic task that records the schedule's jobs (each worker's
    #: scheduler fires it; tests fire it by hand).
    schedule: TaskWrapper


def waker() -> HueyWaker:
    queue: Queue = current_app.extensions["union_queue"]
    return queue.waker


def timing() -> jobs.Timing:
    config = current_app.config
    return jobs.Timing(
        lease=timedelta(seconds=config["JOB_LEASE_SECONDS"]),
        first_retry=timedelta(seconds=config["JOB_FIRST_RETRY_SECONDS"]),
    )


def hand_off() -> int:
    """Wakes workers for the jobs this session has committed."""
    return jobs.hand_off(waker())


def commit() -> None:
    """Commits the session and hands off the jobs it recorded: for commands and
    other code outside a request (requests hand off after their response)."""
    db.session.commit()
    hand_off()


def hand_off_after_response(response: Response) -> Response:
    committed = jobs.take_committed()
    if committed:
        queue_waker = waker()
        # After the response has gone: a slow or absent broker never slows a
        # page, and every answer takes the same time whatever work it recorded.
        when_sent(response, lambda: jobs.wake_all(queue_waker, committed))
    return response
