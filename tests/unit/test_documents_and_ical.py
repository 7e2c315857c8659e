from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from union.adapters.documents import (
    JPEG,
    PDF,
    PNG,
    LocalFolderStorage,
    document_type,
    download_name,
)
from union.adapters.ical import AllDayEvent, calendar, escape_text, fold


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n...", PDF),
        (b"\x89PNG\r\n\x1a\n\x00\x00", PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", JPEG),
        (b"MZ\x90\x00 a windows program", None),
        (b"<html><script>alert(1)</script>", None),
        (b"GIF89a", None),
        (b"", None),
        (b" %PDF-1.7", None),
    ],
)
def test_the_kind_of_a_document_is_read_from_its_first_bytes(data, expected):
    assert document_type(data) is expected


def test_a_download_gets_the_extension_its_content_has():
    assert download_name("pay stub.exe", PDF) == "pay stub.pdf"
    assert download_name("photo", JPEG) == "photo.jpg"
    assert download_name(".png", PNG) == "document.png"


def test_local_storage_keeps_bytes_under_random_keys(tmp_path):
    storage = LocalFolderStorage(tmp_path / "documents")
    first, second = storage.save(b"one"), storage.save(b"one")
    assert first != second and len(first) >= 32
    assert storage.read(first) == b"one"
    stored = next((tmp_path / "documents").rglob(first))
    assert stored.stat().st_mode & 0o777 == 0o600
    for bad in ("../../etc/passwd", "short", "a/b" * 20):
        with pytest.raises(FileNotFoundError):
            storage.read(bad)


def test_text_values_are_escaped():
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"


@given(st.text(max_size=300))
def test_folded_lines_are_at_most_75_octets_and_unfold_to_the_original(text):
    folded = fold("SUMMARY:" + text.replace("\r", "").replace("\n", ""))
    lines = folded.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    assert all(line.startswith(" ") for line in lines[1:])
    unfolded = lines[0] + "".join(line[1:] for line in lines[1:])
    assert unfolded == "SUMMARY:" + text.replace("\r", "").replace("\n", "")


def test_a_calendar_has_one_all_day_event_per_deadline():
    body = calendar(
        name="Grievance deadlines",
        events=[
            AllDayEvent(
                uid="abc-step_1@union",
                day=date(2026, 12, 6),
                summary="Grievance 2026-0001: Step 1 deadline",
                url="https://union.test/grievances/abc",
                alarm_before=timedelta(hours=15),
            )
        ],
        now=datetime(2026, 11, 22, 15, 0, tzinfo=UTC),
        product="Union",
    )
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert body.endswith("END:VCALENDAR\r\n")
    assert "\n" not in body.replace("\r\n", "")
    for line in (
        "DTSTART;VALUE=DATE:20261206",
        "DTEND;VALUE=DATE:20261207",
        "DTSTAMP:20261122T150000Z",
        "SUMMARY:Grievance 2026-0001: Step 1 deadline",
        "TRIGGER:-PT15H",
    ):
        assert line + "\r\n" in body


def test_a_download_name_keeps_letters_of_any_language_and_nothing_risky():
    assert download_name("Lettre de l'employeur (mars).pdf", PDF) == (
        "Lettre de l_employeur (mars).pdf"
    )
    assert download_name("Relevé de paie.pdf", PDF) == "Relevé de paie.pdf"
    assert download_name('a"b<c>d/e\\f\r\n.pdf', PDF) == "a_b_c_d_e_f__.pdf"
    assert "/" not in download_name("../../secret", PDF)
    assert download_name("x" * 300 + ".png", PNG) == "x" * 100 + ".png"
