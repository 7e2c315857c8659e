"""The catalogue's contract with artifacts already stored: bodies written by
catalogue version 1 (tests/data/report-artifacts-v1.json, made from generated
data) keep their bytes and fingerprints, and every entry still presents them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from flask_babel import force_locale

from union.rules.disclosure import DEFAULT_RULES
from union.services.reports import catalogue, presenting
from union.services.reports.artifact import canonical, read

STORED = json.loads(
    (Path(__file__).parents[1] / "data" / "report-artifacts-v1.json").read_text()
)


def _stored_ids(stored: dict[str, str]) -> str:
    body = json.loads(stored["body"])
    return f"{body['report']}-{body['level']}-{body['scope'] or 'all'}"


@pytest.mark.parametrize("stored", STORED, ids=_stored_ids)
def test_a_stored_body_reads_back_to_its_exact_bytes_and_fingerprint(stored):
    body = read(stored["body"])
    assert body["catalogue_version"] == 1
    assert canonical(body) == stored["body"]
    assert hashlib.sha256(canonical(body).encode()).hexdigest() == stored["digest"]


def test_every_report_stored_by_version_1_is_still_in_the_catalogue():
    stored = {json.loads(s["body"])["report"] for s in STORED}
    assert len(stored) == 9
    assert stored <= {report.name.value for report in catalogue.CATALOGUE}


@pytest.mark.parametrize("language", ["en_CA", "fr_CA"])
@pytest.mark.parametrize("stored", STORED, ids=_stored_ids)
def test_every_stored_body_presents_its_figures(app, stored, language):
    body = read(stored["body"])
    entry = catalogue.entry(body["report"])
    with app.test_request_context("/"), force_locale(language):
        page = presenting.present(body, entry, DEFAULT_RULES)
        assert page.title == str(entry.title)
    assert page.tables or body.get("too_few_to_show") or page.notes
    shown = [cell for table in page.tables for row in table.raw_rows for cell in row]
    # Every count the body publishes is on the page (and so in its CSV).
    published = [
        row.get("n") for d in body.get("distributions", ()) for row in d["rows"]
    ]
    published += [row.get("n") for row in body.get("breakdown", ())]
    if any(question.sensitive for question in entry.questions):
        # Exact counts of dangerous answers, stored before they were protected
        # with noise, are not shown again.
        assert shown == []
        assert page.notes
    else:
        assert {n for n in published if n is not None} <= set(shown)


def test_a_report_name_outside_the_catalogue_has_no_entry():
    assert catalogue.entry("income") is None
    assert catalogue.entry("wages") is catalogue.BY_NAME[catalogue.ReportName.WAGES]
