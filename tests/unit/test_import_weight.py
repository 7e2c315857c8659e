"""What a process of the app holds before it does anything: the libraries only a
rare task needs are imported by that task, not with the app, so that every web
and worker process does not carry them (fpdf2 with Pillow and fontTools, some
57 MB; openpyxl 28; Twilio's SDK 17; OpenDP 16; Stripe's SDK, with the
requests and aiohttp it brings, 15)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Imported by the task that needs them, never by making the app.
ON_DEMAND = (
    "fpdf",
    "fontTools",
    "PIL",
    "openpyxl",
    "twilio",
    "opendp",
    "boto3",
    "stripe",
    "aiohttp",
)

MAKE_APP = """
import json, sys
from union import create_app
create_app({"TESTING": True, "SECRET_KEY": "x" * 40,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"})
print(json.dumps(sorted(name.split(".")[0] for name in sys.modules)))
"""

USE_THEM = """
import json, sys
from datetime import UTC, datetime
from union.adapters import noise, payments, pdf, spreadsheets, sms
before = sorted(n for n in %r if n in sys.modules)
pdf.render_pdf(
    pdf.PrintedDocument("Title", "Sub", [pdf.Section("S", paragraphs=["Text"])],
                        "Foot", "Page %%(page)s of %%(pages)s", "en"),
    created_at=datetime(2026, 12, 7, tzinfo=UTC),
)
noise.noisy_counts([5, 6], 1.0)
try:
    spreadsheets.first_sheet_rows(b"not a workbook", max_rows=5,
                                  max_unpacked_bytes=1000)
except spreadsheets.UnreadableWorkbook:
    pass
sms.TwilioTexts("AC" + "0" * 32, "token", "+15550000000")
try:
    payments.StripeGateway("sk_test_x", webhook_secret="whsec_x").verify_event(
        b"{}", None)
except payments.InvalidWebhook:
    pass
after = sorted(n for n in %r if n in sys.modules)
print(json.dumps([before, after]))
"""


def _run(code: str) -> object:
    found = subprocess.run(  # noqa: S603 -- this interpreter, the test's own code
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(found.stdout.strip().splitlines()[-1])


def test_making_the_app_imports_none_of_the_rare_libraries() -> None:
    imported = _run(MAKE_APP)
    assert isinstance(imported, list)
    assert "flask" in imported  # the check sees what was imported
    assert [name for name in ON_DEMAND if name in imported] == []


def test_each_task_imports_its_library_when_it_runs() -> None:
    # boto3 comes with S3 document storage, which these tasks do not use.
    wanted = tuple(name for name in ON_DEMAND if name != "boto3")
    found = _run(USE_THEM % (wanted, wanted))
    assert isinstance(found, list)
    before, after = found
    assert before == []
    assert after == sorted(wanted)
