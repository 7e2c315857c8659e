import csv
import io
import time
import zipfile
from datetime import date, datetime

import openpyxl
import pytest
import sqlalchemy as sa

from union.db import db
from union.errors import ValidationFailed
from union.models import (
    AuditEvent,
    Member,
    MemberStatus,
    Role,
    User,
    Workplace,
    WorkplaceStatus,
)
from union.services import roster

HEADER = (
    "member_number,chosen_name,email,phone,contact_preference,status,joined_on,"
    "dues_level,employer,site,classification\n"
)


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_good_file_imports_every_row(make, now):
    make.classification("Outreach worker")
    existing = make.workplace("Eastside Collective", site="Outreach")
    text = HEADER + (
        "2001,Ash R.,ash@example.org,,email,active,2024-05-01,11,"
        "Eastside Collective,Outreach,Outreach worker\n"
        "2002,Bee T.,,'+1 416 555 0100,text,lapsed,2023-01-31,Regular,New Place,,\n"
        ",Cal M.,,,,applicant,,sub_minimum,,,\n"
    )
    progress = []
    result = roster.import_roster(
        text, actor=None, now=now, progress=lambda *a: progress.append(a)
    )
    assert result.ok, result.errors
    assert result.imported == 3
    assert result.new_workplaces == ["New Place"]
    ash = db.session.scalar(sa.select(Member).where(Member.member_number == 2001))
    assert (
        ash.email,
        ash.status,
        ash.dues_level.code,
        ash.current_employments[0].workplace,
    ) == (
        "ash@example.org",
        MemberStatus.ACTIVE,
        "minimum",
        existing,
    )
    bee = db.session.scalar(sa.select(Member).where(Member.member_number == 2002))
    assert bee.phone == "+1 416 555 0100"
    assert bee.user is None
    new_place = db.session.scalar(
        sa.select(Workplace).where(Workplace.employer == "New Place")
    )
    assert new_place.status is WorkplaceStatus.PENDING
    cal = db.session.scalar(sa.select(Member).where(Member.chosen_name == "Cal M."))
    assert cal.member_number == 2003
    assert progress[-1] == (3, 3, "import")


def test_a_bad_file_reports_each_problem_by_line_and_column_and_imports_nothing(
    make, now
):
    make.member(email="taken@example.org")
    members_before, users_before = count(Member), count(User)
    text = HEADER + (
        "2001,Ash,taken@example.org,,,active,,11,,,\n"
        "abc,,not-an-email,12,text,sleeping,31/12/2024,$99,,Site only,Cook\n"
        "2003,Bee,bee@example.org,,,,,11,,,\n"
        "2003,Bee again,BEE@example.org,,,,,11,,,\n"
    )
    result = roster.import_roster(text, actor=None, now=now)
    found = {(e.line, e.column) for e in result.errors}
    assert found == {
        (2, "email"),
        (3, "member_number"),
        (3, "chosen_name"),
        (3, "email"),
        (3, "phone"),
        (3, "status"),
        (3, "joined_on"),
        (3, "dues_level"),
        (3, "employer"),
        (3, "classification"),
        (5, "email"),
        (5, "member_number"),
    }
    assert result.imported == 0
    assert (count(Member), count(User)) == (members_before, users_before)


def test_a_bad_joining_date_is_the_only_error_a_later_month_brings(make, now):
    text = (
        "chosen_name,dues_level,joined_on,paid_through\n"
        "Ash,11,2024-13-01,2025-06\n"
        "Bee,11,2030-01-01,2026-10\n"
        "Cal,11,2024-05-01,2024-04\n"
    )
    result = roster.import_roster(text, actor=None, now=now)
    assert [(e.line, e.column) for e in result.errors] == [
        (2, "joined_on"),
        (3, "joined_on"),
        (4, "paid_through"),
    ]
    assert result.errors[-1].message == "This month is before the member joined."


def test_line_numbers_count_quoted_line_breaks(make, now):
    text = 'chosen_name,dues_level,pronouns\n"Two\nLines",11,\nOk,nope,\n'
    result = roster.import_roster(text, actor=None, now=now)
    assert [(e.line, e.column) for e in result.errors] == [(4, "dues_level")]


def test_unknown_or_missing_columns_stop_before_any_row(make, now):
    result = roster.import_roster("name,wage\nAsh,20\n", actor=None, now=now)
    assert {(e.line, e.column) for e in result.errors} == {
        (1, "name"),
        (1, "wage"),
        (1, "chosen_name"),
        (1, "dues_level"),
    }


def test_check_only_writes_nothing(make, now):
    result = roster.import_roster(
        "chosen_name,dues_level\nAsh,11\n", actor=None, now=now, check_only=True
    )
    assert result.ok and result.rows == 1 and result.imported == 0
    assert count(Member) == 0


@pytest.mark.slow
def test_ten_thousand_rows_import_with_progress(make, now):
    make.classification("Peer worker")
    lines = ["chosen_name,email,dues_level,employer,classification"]
    lines += [
        f"Person {i},p{i}@example.org,11,Agency {i % 40},Peer worker"
        for i in range(10_000)
    ]
    seen = []
    started = time.perf_counter()
    result = roster.import_roster(
        "\n".join(lines), actor=None, now=now, progress=lambda *a: seen.append(a)
    )
    elapsed = time.perf_counter() - started
    assert result.ok, result.errors[:5]
    assert count(Member) == 10_000
    assert len(result.new_workplaces) == 40
    assert [phase for _, _, phase in seen].count("check") == 20
    assert seen[-1] == (10_000, 10_000, "import")
    print(f"imported 10,000 rows in {elapsed:.1f}s")


def test_export_has_the_import_columns_escapes_formulas_and_is_audited(make, now):
    admin = make.user(roles=(Role.ADMIN,))
    make.member(
        make.workplace('=HYPERLINK("http://evil")'),
        name="@Sam",
        email="sam@example.org",
    )
    text = "".join(roster.export_csv(admin, now=now))
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == roster.COLUMNS
    sam = dict(zip(rows[0], rows[1], strict=True))
    assert sam["chosen_name"] == "'@Sam"
    assert sam["employer"].startswith("'=")
    assert sam["email"] == "sam@example.org"
    assert (
        db.session.scalar(
            sa.select(AuditEvent.action).where(AuditEvent.actor_id == admin.id)
        )
        == "roster.exported"
    )


def test_an_exported_roster_imports_back(make, now):
    admin = make.user(roles=(Role.ADMIN,))
    make.classification("Outreach worker")
    original = (
        HEADER
        + "5001,Ash R.,ash@example.org,+1 416 555 0100,text,active,2024-05-01,11,"
        + "Eastside,Outreach,Outreach worker\n"
    )
    assert roster.import_roster(original, actor=None, now=now).ok
    exported = "".join(roster.export_csv(admin, now=now))
    db.session.execute(sa.delete(Member))
    db.session.execute(sa.delete(User).where(User.id != admin.id))
    result = roster.import_roster(exported, actor=None, now=now)
    assert result.ok, result.errors
    again = db.session.scalar(sa.select(Member).where(Member.member_number == 5001))
    assert (again.chosen_name, again.phone, again.email) == (
        "Ash R.",
        "+1 416 555 0100",
        "ash@example.org",
    )


def test_a_steward_exports_only_their_members(make, now):
    covered = make.workplace()
    steward = make.steward(covered)
    make.member(covered, name="Mine")
    make.member(make.workplace(), name="Not mine")
    names = [row[1] for row in roster.export_rows(roster.export_statement(steward))]
    assert names == ["Mine"]


def workbook(*rows, sheet_title="Roster"):
    """An .xlsx file holding `rows` on its first sheet (None leaves a cell empty)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = sheet_title
    for row in rows:
        sheet.append(list(row))
    book.create_sheet("Notes").append(["not read"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_workbook_imports_like_its_csv(make, now):
    make.classification("Outreach worker")
    data = workbook(
        (
            None,
            "Chosen_name",
            "dues_level",
            "member_number",
            "joined_on",
            "paid_through",
            "phone",
            "employer",
            "classification",
        ),
        (None,),
        (
            None,
            "Zoë O'Brien",
            11,
            3001.0,
            # What a spreadsheet holds for a date typed in: no time zone.
            datetime(2024, 5, 1),  # noqa: DTZ001
            datetime(2024, 8, 1),  # noqa: DTZ001
            4165550100,
            "Eastside",
            "Outreach worker",
        ),
        (None, "Élodie Tremblay", 11.0, None, date(2025, 1, 15), "2025-02"),
    )
    roster_file = roster.read_roster(data)
    assert roster_file.header[:2] == ["chosen_name", "dues_level"]
    result = roster.import_roster(roster_file, actor=None, now=now)
    assert result.ok, result.errors
    zoe = db.session.scalar(sa.select(Member).where(Member.member_number == 3001))
    assert (zoe.chosen_name, zoe.joined_on, zoe.phone) == (
        "Zoë O'Brien",
        date(2024, 5, 1),
        "4165550100",
    )
    assert zoe.current_employments[0].classification.name == "Outreach worker"
    assert zoe.last_covered_month == date(2024, 8, 1)
    elodie = db.session.scalar(
        sa.select(Member).where(Member.chosen_name == "Élodie Tremblay")
    )
    assert elodie.last_covered_month == date(2025, 2, 1)


def test_a_workbook_lists_every_problem_with_its_row_number(make, now):
    data = workbook(
        ("chosen_name", "dues_level", "joined_on", "", "wage"),
        ("Ash", 11, "someday", None, None),
        (None, None, None, None, None),
        (None, 99.5, date(2030, 1, 1), "stray", 20),
    )
    result = roster.import_roster(roster.read_roster(data), actor=None, now=now)
    assert {(e.line, e.column) for e in result.errors} == {(1, ""), (1, "wage")}
    data = workbook(
        ("chosen_name", "dues_level", "joined_on"),
        ("Ash", 11, "someday"),
        (None, None, None),
        (None, 99.5, date(2030, 1, 1)),
    )
    result = roster.import_roster(roster.read_roster(data), actor=None, now=now)
    assert [(e.line, e.column) for e in result.errors] == [
        (2, "joined_on"),
        (4, "chosen_name"),
        (4, "dues_level"),
        (4, "joined_on"),
    ]
    assert result.imported == 0 and count(Member) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04" + b"\x00" * 200, "can't be read"),
        (workbook(("chosen_name", "dues_level"), ("Ash", 11))[:300], "can't be read"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel file"),
        ("chosen_name\nRené".encode("latin-1"), "UTF-8"),
    ],
    ids=["not a zip", "cut short", "old excel", "not utf-8"],
)
def test_a_file_that_cannot_be_read_says_so(make, data, message):
    with pytest.raises(ValidationFailed) as raised:
        roster.read_roster(data)
    assert message in raised.value.errors["file"][0]


def test_a_workbook_that_is_not_a_roster_inside_says_so(make):
    with zipfile.ZipFile(buffer := io.BytesIO(), "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<not-a-workbook")
    with pytest.raises(ValidationFailed) as raised:
        roster.read_roster(buffer.getvalue())
    assert "can't be read" in raised.value.errors["file"][0]


def test_a_workbook_too_big_inside_or_too_long_is_refused_before_reading(
    make, monkeypatch
):
    # A zip bomb: a few kilobytes that unpack to far more than any roster.
    with zipfile.ZipFile(
        buffer := io.BytesIO(), "w", compression=zipfile.ZIP_DEFLATED
    ) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (50 * 1024 * 1024))
    assert len(buffer.getvalue()) < 100_000
    monkeypatch.setattr(roster, "WORKBOOK_MAX_UNPACKED_BYTES", 10 * 1024 * 1024)
    with pytest.raises(ValidationFailed) as raised:
        roster.read_roster(buffer.getvalue())
    assert "too big to read" in raised.value.errors["file"][0]

    monkeypatch.setattr(roster, "WORKBOOK_MAX_ROWS", 3)
    rows = [("chosen_name", "dues_level")] + [(f"P{i}", 11) for i in range(4)]
    with pytest.raises(ValidationFailed) as raised:
        roster.read_roster(workbook(*rows))
    assert "more than 3 rows" in raised.value.errors["file"][0]
    assert roster.read_roster(workbook(*rows[:4])).rows[-1][0] == 4
