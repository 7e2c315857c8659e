"""Peak memory of the admin's roster export, in a fresh process.

    .venv/bin/python benchmarks/export_memory.py --as admin@example.org [--json out.json]

Signs in as an admin (a server-side login session), warms up with a small page,
then reads /members/export.csv as a browser would, chunk by chunk, and reports the
rows, the time to the first byte and to the end, and the process's peak resident
memory (before, and its peak while exporting). A streamed export keeps the peak flat however many
members there are.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from union import create_app
from union.clock import utcnow
from union.db import db
from union.services import accounts

STATUS = Path("/proc/self/status")


def _status_mb(field: str) -> float:
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no {field} in {STATUS}")


def reset_peak() -> None:
    """Starts the kernel's peak-memory count (VmHWM) afresh: the import-time password
    hash briefly takes 64 MiB that has nothing to do with the export."""
    Path("/proc/self/clear_refs").write_text("5")


def measure(email: str, url: str) -> dict[str, Any]:
    app = create_app()
    with app.app_context():
        user = accounts.user_by_email(email)
        if user is None:
            raise SystemExit(f"no account {email}")
        token = accounts.start_login_session(
            user, now=utcnow(), max_age=app.config["LOGIN_SESSION_MAX_AGE"]
        )
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    assert client.get("/members/?q=zz", buffered=True).status_code == 200
    reset_peak()
    baseline = _status_mb("VmRSS")

    started = time.perf_counter()
    response = client.get(url, buffered=False)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    first_byte = None
    size = lines = 0
    for chunk in response.response:
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    return {
        "url": url,
        "rows": max(0, lines - 1),
        "bytes": size,
        "first_byte_seconds": round(first_byte or 0.0, 3),
        "seconds": round(time.perf_counter() - started, 2),
        "rss_before_mb": round(baseline, 1),
        "peak_rss_mb": round(_status_mb("VmHWM"), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as", dest="email", default="admin@example.org")
    parser.add_argument("--url", default="/members/export.csv")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(args.email, args.url)
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
