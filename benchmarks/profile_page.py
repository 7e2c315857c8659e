"""Profile one page in-process against the database DATABASE_URL points at.

    .venv/bin/python benchmarks/profile_page.py /treasurer/arrears --as treasurer@example.org

Signs in as the given account (a server-side login session, as the login form
would make), requests the page once to warm up, then `--repeat` times under
cProfile, and prints the time per request, the SQL statements with their time,
and the functions that took the most time. Used by `make bench` for the slowest
page; useful by hand when a page is slow.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from union import create_app
from union.clock import utcnow
from union.db import db
from union.services import accounts


class SqlTimer:
    """Time spent in each distinct SQL statement."""

    def __init__(self) -> None:
        self.started: list[float] = []
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def before(self, *_args: Any) -> None:
        self.started.append(time.perf_counter())

    def after(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        key = " ".join(statement.split())
        self.seconds[key] += time.perf_counter() - self.started.pop()
        self.calls[key] += 1


def profile(
    url: str, email: str, repeat: int, top: int, order: str = "cumulative"
) -> str:
    app = create_app()
    with app.app_context():
        user = accounts.user_by_email(email)
        if user is None:
            raise SystemExit(f"no account {email}")
        token = accounts.start_login_session(
            user, now=utcnow(), max_age=app.config["LOGIN_SESSION_MAX_AGE"]
        )
        db.session.commit()
        engine = db.engine
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True

    def get() -> int:
        response = client.get(url, buffered=True)
        size = len(response.get_data())
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        return size

    warm = time.perf_counter()
    size = get()
    # A slow page is profiled fewer times, so a run stays within about ten seconds.
    repeat = max(1, min(repeat, int(10 / max(time.perf_counter() - warm, 0.001))))
    started = time.perf_counter()
    for _ in range(repeat):
        get()
    plain = (time.perf_counter() - started) / repeat
    timer = SqlTimer()
    sa.event.listen(engine, "before_cursor_execute", timer.before)
    sa.event.listen(engine, "after_cursor_execute", timer.after)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(repeat):
        get()
    profiler.disable()
    elapsed = (time.perf_counter() - started) / repeat
    sa.event.remove(engine, "before_cursor_execute", timer.before)
    sa.event.remove(engine, "after_cursor_execute", timer.after)

    out = io.StringIO()
    sql_total = sum(timer.seconds.values()) / repeat
    queries = sum(timer.calls.values()) / repeat
    out.write(
        f"GET {url} as {email}: {plain * 1000:.1f} ms a request in-process "
        f"({elapsed * 1000:.1f} ms under cProfile), {size:,} bytes, {queries:g} "
        "statements taking "
        f"{sql_total * 1000:.1f} ms\n\nSQL, slowest first (ms a request):\n"
    )
    for statement, seconds in sorted(timer.seconds.items(), key=lambda item: -item[1]):
        calls = timer.calls[statement] / repeat
        shown = statement if len(statement) < 160 else statement[:157] + "..."
        out.write(f"  {seconds / repeat * 1000:8.2f}  x{calls:g}  {shown}\n")
    out.write(f"\nPython, by {order} time:\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats(order).print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--as", dest="email", required=True)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--sort", choices=("cumulative", "tottime"), default="cumulative"
    )
    args = parser.parse_args()
    print(profile(args.url, args.email, args.repeat, args.top, args.sort))


if __name__ == "__main__":
    main()
