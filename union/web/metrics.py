"""Request and job metrics for Prometheus (the official client), off unless
METRICS_TOKEN is set.

Labels are endpoint names, methods, statuses and job kinds: never a path (it may
hold a token or a member's id), never anything about a person. Under gunicorn,
set PROMETHEUS_MULTIPROC_DIR (the same folder for the web service and the worker)
so that /metrics adds up every process, the worker's jobs included.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from union.services import jobs

REQUESTS = Counter(
    "union_http_requests",
    "Requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "union_http_request_duration_seconds",
    "Time to answer a request, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
JOBS = Counter(
    "union_jobs",
    "Jobs the worker ran, by kind and outcome (done, retrying, parked).",
    ["kind", "outcome"],
)
JOB_SECONDS = Histogram(
    "union_job_duration_seconds",
    "Time to run a job, by kind.",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300),
)


def enabled(app: Flask) -> bool:
    return bool(app.config.get("METRICS_TOKEN"))


def init_app(app: Flask) -> None:
    if not enabled(app):
        return
    app.before_request(_start_timer)
    app.after_request(_count_request)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    endpoint = request.endpoint or "none"
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    started = g.get("metrics_started")
    if started is not None:
        REQUEST_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
    return response


def count_job(outcome: jobs.Outcome, seconds: float) -> None:
    if not outcome.ran:
        return
    kind = outcome.kind or "unknown"
    JOBS.labels(kind, outcome.name).inc()
    JOB_SECONDS.labels(kind).observe(seconds)


def allowed(header: str | None) -> bool:
    """Whether the request carries the configured bearer token."""
    token = current_app.config.get("METRICS_TOKEN") or ""
    given = (header or "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


class Backlog(Collector):
    """The outbox as the database has it, read when Prometheus scrapes."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        backlog = jobs.backlog()
        family = GaugeMetricFamily(
            "union_jobs_backlog", "Jobs not done yet, by state.", labels=["state"]
        )
        family.add_metric(["waiting"], backlog.waiting)
        family.add_metric(["running"], backlog.running)
        family.add_metric(["parked"], backlog.parked)
        yield family


def exposition() -> tuple[bytes, str]:
    source: CollectorRegistry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        source = CollectorRegistry()
        multiprocess.MultiProcessCollector(source)  # type: ignore[no-untyped-call]
    database = CollectorRegistry()
    database.register(Backlog())
    return generate_latest(source) + generate_latest(database), CONTENT_TYPE_LATEST
