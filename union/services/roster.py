"""Importing a roster from a spreadsheet (CSV or Excel .xlsx), and exporting it as
CSV of the same shape.

An import checks every row before it writes anything, reports each problem by line
(the spreadsheet's row number for a workbook) and column, and then writes all rows
or none. The export writes the same columns, so a file can go out and come back in.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, joinedload, selectinload

from union import clock
from union.adapters import spreadsheets
from union.adapters.csvsafe import csv_lines, unescape_cell
from union.clock import first_of_month, month_index, month_start, months_through
from union.db import database_integer, db
from union.errors import ValidationFailed
from union.i18n import _, format_number
from union.models import (
    ContactPreference,
    DuesCoverage,
    DuesLevel,
    DuesLevelChoice,
    DuesPayment,
    Employment,
    JobClassification,
    Member,
    MembershipClass,
    MemberStatus,
    PaymentMethod,
    RosterImport,
    User,
    Workplace,
)
from union.models.users import email_digest, normalise_email
from union.rules.standing import opening_balance
from union.services import audit, dues, numbers, workplaces
from union.services.members import PHONE_PATTERN
from union.services.scope import visible_members

LOOKUP_CHUNK = 500
WRITE_BATCH = 1000
#: How far ahead an imported 'paid_through' month may be.
MAX_MONTHS_AHEAD = 24
EXPORT_BATCH = 1000
PROGRESS_EVERY = 500
#: Rows a workbook may hold; a bigger roster goes in as several files.
WORKBOOK_MAX_ROWS = 100_000
#: What a workbook may unpack to: a roster of WORKBOOK_MAX_ROWS rows stays well
#: under it, a zip bomb does not.
WORKBOOK_MAX_UNPACKED_BYTES = 200 * 1024 * 1024
ONE_DECIMAL = re.compile(r"[0-9]+\.[0-9]")

T = TypeVar("T", int, str)
EnumT = TypeVar("EnumT", bound=enum.Enum)

#: Called with (rows done, rows in all, phase) while an import runs.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True, order=True)
class RowError:
    line: int
    column: str
    message: str


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    member_number: int | None
    chosen_name: str
    legal_name: str | None
    pronouns: str | None
    email: str | None
    phone: str | None
    contact_preference: ContactPreference
    membership_class: MembershipClass
    status: MemberStatus
    joined_on: date
    dues_level_id: int
    employer: str
    site: str
    classification_id: int | None
    #: The last month already paid before the move to this system, if any.
    paid_through: date | None


@dataclass
class ImportResult:
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    imported: int = 0
    new_workplaces: list[str] = field(default_factory=list)
    #: Something broke on our side; nothing was imported.
    failed: bool = False
    #: The RosterImport recording what was added, once it is written.
    import_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and not self.failed


def _quiet(done: int, total: int, phase: str) -> None:
    return None


def _levels_by_key(today: date) -> dict[str, int]:
    """Dues levels by code, by name and by monthly amount ("11", "11.00", "$11")."""
    keys: dict[str, int] = {}
    for offer in dues.offered_levels(today):
        keys[offer.code.lower()] = offer.id
        keys[offer.name.lower()] = offer.id
        whole, cents = divmod(offer.monthly_cents, 100)
        keys[f"{whole}.{cents:02d}"] = offer.id
        if cents == 0:
            keys[str(whole)] = offer.id
    for level in db.session.scalars(sa.select(DuesLevel)):
        keys.setdefault(level.code.lower(), level.id)
    return keys


@dataclass(frozen=True, slots=True)
class RosterFile:
    """A roster's column names and its rows that hold anything."""

    header: list[str]
    #: (line, or a workbook's row number; cells by column name)
    rows: list[tuple[int, dict[str, str]]]


def read_rows(source: str) -> RosterFile:
    """Splits CSV text into its header and (line number, cells) pairs."""
    reader = csv.reader(io.StringIO(source.lstrip("\ufeff"), newline=""))
    header: list[str] = []
    rows: list[tuple[int, dict[str, str]]] = []
    for cells in reader:
        if not header:
            header = [cell.strip().lower() for cell in cells]
            continue
        if not any(cell.strip() for cell in cells):
            continue
        values = {
            name: unescape_cell(cells[index].strip()) if index < len(cells) else ""
            for index, name in enumerate(header)
        }
        rows.append((reader.line_num, values))
    return RosterFile(header, rows)


def _workbook_rows(data: bytes) -> RosterFile:
    """The first sheet of an .xlsx workbook, read as its CSV export would be."""
    try:
        sheet = spreadsheets.first_sheet_rows(
            data,
            max_rows=WORKBOOK_MAX_ROWS + 1,
            max_unpacked_bytes=WORKBOOK_MAX_UNPACKED_BYTES,
        )
    except spreadsheets.WorkbookTooBig as error:
        message = (
            _(
                "The file has more than %(rows)s rows. Split it into smaller files.",
                rows=format_number(WORKBOOK_MAX_ROWS),
            )
            if error.limit == "rows"
            else _("The file is too big to read. Split it into smaller files.")
        )
        raise ValidationFailed({"file": message}) from error
    except spreadsheets.UnreadableWorkbook as error:
        raise ValidationFailed(
            {
                "file": _(
                    "This workbook can't be read; it may be damaged. Open it in "
                    "your spreadsheet app, save it again as .xlsx or CSV, and "
                    "upload that."
                )
            }
        ) from error
    if not sheet:
        return RosterFile([], [])
    header = [cell.lower() for cell in sheet[0].cells]
    # Spreadsheets often carry empty columns around the table: a column with
    # no name and nothing in it is not there. One with something in it is
    # reported like a CSV's.
    used = [
        index
        for index, name in enumerate(header)
        if name or any(index < len(row.cells) and row.cells[index] for row in sheet)
    ]
    rows = [
        (
            row.number,
            {
                header[index]: row.cells[index] if index < len(row.cells) else ""
                for index in used
            },
        )
        for row in sheet[1:]
    ]
    return RosterFile([header[index] for index in used], rows)


def read_roster(data: bytes) -> RosterFile:
    """A roster file as uploaded: an Excel workbook (.xlsx), or CSV in UTF-8,
    told apart by their content. ValidationFailed (on "file") says what is wrong
    with a file that cannot be read at all."""
    if spreadsheets.is_workbook(data):
        return _workbook_rows(data)
    if spreadsheets.is_old_excel(data):
        raise ValidationFailed(
            {
                "file": _(
                    "This is an old Excel file (.xls). Save it as .xlsx or CSV "
                    "and upload that."
                )
            }
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationFailed(
            {"file": _("Save the file as CSV with UTF-8 encoding and try again.")}
        ) from error
    return read_rows(text)


@dataclass(frozen=True, slots=True)
class Step:
    """Progress of a running import: `done` of `total` rows through `phase`."""

    done: int
    total: int
    #: "check" while rows are checked, "import" while they are written.
    phase: str


def import_roster(
    source: str | RosterFile,
    *,
    actor: User | None,
    now: datetime,
    check_only: bool = False,
    progress: Progress = _quiet,
) -> ImportResult:
    """Checks every row, then (unless check_only or anything is wrong) adds them all,
    calling `progress` as it goes. See import_steps."""
    steps = import_steps(source, actor=actor, now=now, check_only=check_only)
    while True:
        try:
            step = next(steps)
        except StopIteration as finished:
            result: ImportResult = finished.value
            return result
        progress(step.done, step.total, step.phase)


def import_steps(
    source: str | RosterFile,
    *,
    actor: User | None,
    now: datetime,
    check_only: bool = False,
) -> Generator[Step, None, ImportResult]:
    """Yields progress while checking and then writing rows; returns the result.
    `source` is CSV text, or a file read by read_roster.

    Nothing is written unless every row is fine. Workplaces the file names that do
    not exist yet are added as pending, for an organizer to confirm. Job
    classifications must already exist.
    """
    result = ImportResult()
    roster_file = read_rows(source) if isinstance(source, str) else source
    header, raw_rows = roster_file.header, roster_file.rows
    result.rows = len(raw_rows)
    result.errors.extend(_header_errors(header))
    if result.errors:
        return result

    today = clock.today(now)
    levels = _levels_by_key(today)
    classifications = {
        c.name.lower(): c.id for c in db.session.scalars(sa.select(JobClassification))
    }
    duplicates = _DuplicateCheck(
        taken_emails=_existing(
            User.email_hash,
            {email_digest(v["email"]) for _, v in raw_rows if v.get("email")},
        ),
        taken_numbers=_existing(
            Member.member_number,
            {
                number
                for _, v in raw_rows
                if (number := database_integer(v.get("member_number"))) is not None
            },
        ),
    )
    every = _progress_interval(result.rows)
    rows: list[_Row] = []
    for done, (line, values) in enumerate(raw_rows, start=1):
        row, problems = _check_row(
            line,
            RowContext(
                values, today=today, levels=levels, classifications=classifications
            ),
        )
        result.errors += problems
        if row is not None:
            result.errors.extend(duplicates.check(row))
            rows.append(row)
        if done % every == 0 or done == result.rows:
            yield Step(done, result.rows, "check")

    result.errors.sort()
    if result.errors or check_only:
        return result
    yield from _write(rows, result, actor=actor, now=now)
    return result


def _progress_interval(total: int) -> int:
    """Report about twenty times per file, and at most every PROGRESS_EVERY rows."""
    return max(PROGRESS_EVERY, -(-total // 20))


def _header_errors(header: list[str]) -> list[RowError]:
    if not header:
        return [RowError(1, "", _("The file is empty."))]
    errors = [
        RowError(
            1,
            name,
            _("Unknown column. Use only: %(columns)s.", columns=", ".join(COLUMNS)),
        )
        for name in header
        if name not in COLUMNS
    ]
    errors += [
        RowError(1, name, _("This column is required."))
        for name in REQUIRED_COLUMNS
        if name not in header
    ]
    return errors


@dataclass
class _DuplicateCheck:
    """Emails and member numbers must be new to the database and to the file."""

    taken_emails: set[str]
    taken_numbers: set[int]
    seen_emails: dict[str, int] = field(default_factory=dict)
    seen_numbers: dict[int, int] = field(default_factory=dict)

    def check(self, row: _Row) -> list[RowError]:
        errors = []
        if row.email:
            if email_digest(row.email) in self.taken_emails:
                errors.append(
                    RowError(row.line, "email", _("Someone already uses this email."))
                )
            elif row.email in self.seen_emails:
                first = self.seen_emails[row.email]
                errors.append(
                    RowError(
                        row.line, "email", _("Same email as line %(line)d.", line=first)
                    )
                )
            self.seen_emails.setdefault(row.email, row.line)
        if row.member_number is not None:
            if row.member_number in self.taken_numbers:
                errors.append(
                    RowError(
                        row.line,
                        "member_number",
                        _("This member number is already used."),
                    )
                )
            elif row.member_number in self.seen_numbers:
                first = self.seen_numbers[row.member_number]
                errors.append(
                    RowError(
                        row.line,
                        "member_number",
                        _("Same member number as line %(line)d.", line=first),
                    )
                )
            self.seen_numbers.setdefault(row.member_number, row.line)
        return errors


def _existing(column: InstrumentedAttribute[T], values: set[T]) -> set[T]:
    """Which of `values` the column already holds, asked in chunks."""
    found: set[T] = set()
    ordered = sorted(values)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        found.update(db.session.scalars(sa.select(column).where(column.in_(chunk))))
    return found


class CellError(Exception):
    """What is wrong with one cell, in words for whoever fixes the file."""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = messages


@dataclass(frozen=True, slots=True)
class RowContext:
    """What a cell's parser may consult besides its own text: the row's other cells
    (for the rules that span columns) and the lookups every row is checked against."""

    cells: dict[str, str]
    today: date
    levels: dict[str, int]
    classifications: dict[str, int]

    def cell(self, column: str) -> str:
        return self.cells.get(column, "")

    @property
    def joined_on(self) -> date | None:
        """The joining date, for checks on later months: today when the cell is
        empty, None when the cell is wrong (its own error says so, and a date
        guessed in its place would only add false ones)."""
        try:
            return _joined_on(self.cell("joined_on"), self)
        except CellError:
            return None

    @property
    def classification_id(self) -> int | None:
        """The job the row names, if it is a known one."""
        name = self.cell("classification")
        return self.classifications.get(name.strip().lower()) if name else None


def _squashed(cell: str) -> str:
    return " ".join(cell.split())


def _too_long(limit: int) -> str:
    message: str = _("Longer than %(limit)d characters.", limit=limit)
    return message


def _at_most(limit: int, text: str) -> str:
    if len(text) > limit:
        raise CellError(_too_long(limit))
    return text


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _text(limit: int) -> Callable[[str, RowContext], str]:
    def parse(cell: str, row: RowContext) -> str:
        return _at_most(limit, _squashed(cell))

    return parse


def _optional_text(limit: int) -> Callable[[str, RowContext], str | None]:
    def parse(cell: str, row: RowContext) -> str | None:
        return _at_most(limit, _squashed(cell)) or None

    return parse


def _enum_value(cell: str, enum_class: type[EnumT], default: EnumT) -> EnumT:
    """The cell read as one of the enum's values ("In person" = in_person)."""
    if not cell:
        return default
    wanted = cell.strip().lower().replace(" ", "_").replace("-", "_")
    found = next((item for item in enum_class if item.value == wanted), None)
    if found is None:
        allowed = ", ".join(item.value for item in enum_class)
        raise CellError(_("Use one of: %(values)s.", values=allowed))
    return found


def _choice(
    enum_class: type[EnumT], default: EnumT
) -> Callable[[str, RowContext], EnumT]:
    def parse(cell: str, row: RowContext) -> EnumT:
        return _enum_value(cell, enum_class, default)

    return parse


def _member_number(cell: str, row: RowContext) -> int | None:
    number = cell.strip().lstrip("#")
    if not number:
        return None
    found = database_integer(number)
    if found:
        return found
    raise CellError(_("Use a whole number, like 1042."))


def _chosen_name(cell: str, row: RowContext) -> str:
    name = _at_most(100, _squashed(cell))
    if not name:
        raise CellError(_("Every member needs a name."))
    return name


def _email(cell: str, row: RowContext) -> str | None:
    email = normalise_email(cell) or None
    if email and ("@" not in email or len(email) > 254 or " " in email):
        raise CellError(_("Not an email address."))
    return email


def _phone(cell: str, row: RowContext) -> str | None:
    phone = _squashed(cell)
    problems = [_too_long(30)] if len(phone) > 30 else []
    if phone and not PHONE_PATTERN.match(phone):
        problems.append(_("Use digits, like 416 555 0123."))
    if problems:
        raise CellError(*problems)
    return phone or None


def _contact_preference(cell: str, row: RowContext) -> ContactPreference:
    """Email when the row has an address and says nothing else; never a way of
    reaching the member that the row gives no details for."""
    has_email = bool(normalise_email(row.cell("email")))
    has_phone = bool(_squashed(row.cell("phone")))
    default = ContactPreference.EMAIL if has_email else ContactPreference.IN_PERSON
    preference = _enum_value(cell, ContactPreference, default)
    if preference is ContactPreference.EMAIL and not has_email:
        raise CellError(_("Email was chosen but the row has no email."))
    if (
        preference in (ContactPreference.TEXT, ContactPreference.PHONE)
        and not has_phone
    ):
        raise CellError(_("Texts or calls were chosen but the row has no phone."))
    return preference


def _joined_on(cell: str, row: RowContext) -> date:
    if not cell:
        return row.today
    joined_on = _day(cell)
    if joined_on is None:
        raise CellError(_("Use a date like 2024-03-31."))
    if joined_on > row.today:
        raise CellError(_("This date is in the future."))
    return joined_on


def _dues_level(cell: str, row: RowContext) -> int:
    """A level's id, from its code, name or monthly amount ("11", "$11.00")."""
    key = cell.strip().lower().lstrip("$").replace(",", "")
    if not key:
        raise CellError(_("Every member needs a dues level."))
    level_id = row.levels.get(key) or row.levels.get(_two_decimals(key))
    if level_id is None:
        raise CellError(_("No dues level called %(level)s.", level=cell))
    return level_id


def _two_decimals(amount: str) -> str:
    """An amount as the level keys write it: a spreadsheet's 11.5 is "11.50"."""
    return amount + "0" if ONE_DECIMAL.fullmatch(amount) else amount


def _last_paid_month(cell: str, row: RowContext) -> date | None:
    if not cell:
        return None
    # Spreadsheets turn a typed "2026-03" into the date 2026-03-01.
    day = _day(cell.strip() + "-01") or _day(cell)
    if day is None:
        raise CellError(_("Use a month like 2026-03."))
    month = first_of_month(day)
    joined_on = row.joined_on
    if joined_on is not None and month < first_of_month(joined_on):
        raise CellError(_("This month is before the member joined."))
    if month_index(month) > month_index(row.today) + MAX_MONTHS_AHEAD:
        raise CellError(_("That is too far ahead."))
    return month


def _employer(cell: str, row: RowContext) -> str:
    """Needed when the row names a site or a job."""
    employer = _at_most(200, _squashed(cell))
    if employer:
        return employer
    problems = []
    if _squashed(row.cell("site")):
        problems.append(_("A site was given without its employer."))
    if row.classification_id is not None:
        problems.append(_("A job was given without a workplace."))
    if problems:
        raise CellError(*problems)
    return employer


def _classification(cell: str, row: RowContext) -> int | None:
    if not cell:
        return None
    if row.classification_id is None:
        raise CellError(
            _("No job called %(name)s. Add it on the Jobs page first.", name=cell)
        )
    return row.classification_id


#: How each column's cell is read, in the order of the file's columns (the export
#: writes them in this order too). A parser returns the cell's value or raises
#: CellError; every column of a row is read, so each problem is reported.
CELLS: dict[str, Callable[[str, RowContext], object]] = {
    "member_number": _member_number,
    "chosen_name": _chosen_name,
    "legal_name": _optional_text(200),
    "pronouns": _optional_text(40),
    "email": _email,
    "phone": _phone,
    "contact_preference": _contact_preference,
    "membership_class": _choice(MembershipClass, MembershipClass.EMPLOYED),
    "status": _choice(MemberStatus, MemberStatus.ACTIVE),
    "joined_on": _joined_on,
    "dues_level": _dues_level,
    "paid_through": _last_paid_month,
    "employer": _employer,
    "site": _text(200),
    "classification": _classification,
}
COLUMNS = tuple(CELLS)
REQUIRED_COLUMNS = ("chosen_name", "dues_level")


def _check_row(line: int, row: RowContext) -> tuple[_Row | None, list[RowError]]:
    """The row, or None and every problem in it by column."""
    values: dict[str, Any] = {}
    errors: list[RowError] = []
    for column, parse in CELLS.items():
        try:
            values[column] = parse(row.cell(column), row)
        except CellError as error:
            errors += [RowError(line, column, message) for message in error.messages]
    if errors:
        return None, errors
    return _Row(
        line=line,
        member_number=values["member_number"],
        chosen_name=values["chosen_name"],
        legal_name=values["legal_name"],
        pronouns=values["pronouns"],
        email=values["email"],
        phone=values["phone"],
        contact_preference=values["contact_preference"],
        membership_class=values["membership_class"],
        status=values["status"],
        joined_on=values["joined_on"],
        dues_level_id=values["dues_level"],
        employer=values["employer"],
        site=values["site"],
        classification_id=values["classification"],
        paid_through=values["paid_through"],
    ), errors


def _workplace_key(employer: str, site: str) -> tuple[str, str]:
    return employer.strip().lower(), site.strip().lower()


def _write(
    rows: list[_Row], result: ImportResult, *, actor: User | None, now: datetime
) -> Iterator[Step]:
    """Adds the checked rows with bulk INSERT ... RETURNING, a batch at a time."""
    workplace_ids = _workplace_ids_adding_missing(rows, result, now=now)
    given = [row.member_number for row in rows if row.member_number is not None]
    if given:
        numbers.reserve_through("member_number", max(given))
    assigned = iter(numbers.next_numbers("member_number", len(rows) - len(given)))
    today = clock.today(now)
    roster_import = RosterImport(
        imported_at=now,
        imported_by_id=actor.id if actor else None,
        members_added=len(rows),
    )
    db.session.add(roster_import)
    db.session.flush()
    result.import_id = roster_import.id
    for start in range(0, len(rows), WRITE_BATCH):
        batch = rows[start : start + WRITE_BATCH]
        user_ids = _insert_users(batch, now=now)
        member_ids = _insert_returning_ids(
            Member,
            [
                _new_member(
                    row,
                    member_number=row.member_number or next(assigned),
                    user_id=user_ids.get(row.line),
                    roster_import_id=roster_import.id,
                    now=now,
                    today=today,
                )
                for row in batch
            ],
        )
        _insert_jobs(batch, member_ids, workplace_ids, now=now)
        _insert_dues_history(batch, member_ids, now=now, today=today)
        yield Step(start + len(batch), len(rows), "import")
    result.imported = len(rows)
    audit.record(
        "roster.imported",
        actor=actor,
        now=now,
        subject=roster_import,
        detail=f"rows={result.imported}",
    )
    db.session.flush()


def _insert_users(batch: list[_Row], *, now: datetime) -> dict[int, int]:
    """Accounts for the rows with an email: their ids by the row's line."""
    with_email = [row for row in batch if row.email]
    return dict(
        zip(
            (row.line for row in with_email),
            _insert_returning_ids(
                User, [_new_user(row.email, now) for row in with_email if row.email]
            ),
            strict=True,
        )
    )


def _new_user(email: str, now: datetime) -> dict[str, object]:
    # Bulk inserts skip the model's validator, so the lookup hash is set here.
    return {"email": email, "email_hash": email_digest(email), "created_at": now}


def _new_member(
    row: _Row,
    *,
    member_number: int,
    user_id: int | None,
    roster_import_id: int,
    now: datetime,
    today: date,
) -> dict[str, object]:
    # The opening balance is written in bulk, not through ledger.record_payment, so
    # its arrears summary is set here.
    summary = opening_balance(first_of_month(row.joined_on), row.paid_through)
    return {
        "member_number": member_number,
        "user_id": user_id,
        "roster_import_id": roster_import_id,
        "chosen_name": row.chosen_name,
        "legal_name": row.legal_name,
        "pronouns": row.pronouns,
        "phone": row.phone,
        "contact_preference": row.contact_preference,
        "membership_class": row.membership_class,
        "status": row.status,
        "dues_level_id": row.dues_level_id,
        "joined_on": row.joined_on,
        "accepted_on": today if row.status is not MemberStatus.APPLICANT else None,
        "left_on": today if row.status is MemberStatus.RESIGNED else None,
        "first_uncovered_month": summary.first_uncovered_month,
        "months_covered_later": summary.months_covered_later,
        "last_covered_month": summary.last_covered_month,
        "created_at": now,
        "updated_at": now,
    }


def _insert_jobs(
    batch: list[_Row],
    member_ids: list[int],
    workplace_ids: dict[tuple[str, str], int],
    *,
    now: datetime,
) -> None:
    jobs = [
        {
            "member_id": member_id,
            "workplace_id": workplace_ids[_workplace_key(row.employer, row.site)],
            "classification_id": row.classification_id,
            "created_at": now,
        }
        for row, member_id in zip(batch, member_ids, strict=True)
        if row.employer
    ]
    if jobs:
        db.session.execute(sa.insert(Employment), jobs)


def _insert_dues_history(
    batch: list[_Row], member_ids: list[int], *, now: datetime, today: date
) -> None:
    """Each member's level from the month they joined, and what they had already
    paid as an opening balance covering the months up to `paid_through`."""
    db.session.execute(
        sa.insert(DuesLevelChoice),
        [
            {
                "member_id": member_id,
                "level_id": row.dues_level_id,
                "effective_month": first_of_month(row.joined_on),
                "chosen_at": now,
            }
            for row, member_id in zip(batch, member_ids, strict=True)
        ],
    )
    paid = [
        (row, member_id)
        for row, member_id in zip(batch, member_ids, strict=True)
        if row.paid_through
    ]
    if not paid:
        return
    months = {
        member_id: list(months_through(first_of_month(row.joined_on), row.paid_through))
        for row, member_id in paid
        if row.paid_through
    }
    payment_ids = list(
        db.session.scalars(
            sa.insert(DuesPayment).returning(
                DuesPayment.id, sort_by_parameter_order=True
            ),
            [
                {
                    "member_id": member_id,
                    "method": PaymentMethod.OPENING_BALANCE,
                    "amount_cents": 0,
                    "months": len(months[member_id]),
                    "paid_on": today,
                    "recorded_at": now,
                }
                for _row, member_id in paid
            ],
        )
    )
    db.session.execute(
        sa.insert(DuesCoverage),
        [
            {"member_id": member_id, "month": month, "payment_id": payment_id}
            for (_row, member_id), payment_id in zip(paid, payment_ids, strict=True)
            for month in months[member_id]
        ],
    )


def _insert_returning_ids(
    model: type[User] | type[Member], values: list[dict[str, object]]
) -> list[int]:
    if not values:
        return []
    statement = sa.insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(db.session.scalars(statement, values))


def _workplace_ids_adding_missing(
    rows: list[_Row], result: ImportResult, *, now: datetime
) -> dict[tuple[str, str], int]:
    """Ids of the workplaces the rows name, adding unknown ones as pending."""
    ids = {
        _workplace_key(employer, site): workplace_id
        for workplace_id, employer, site in db.session.execute(
            sa.select(Workplace.id, Workplace.employer, Workplace.site)
        )
    }
    for row in rows:
        key = _workplace_key(row.employer, row.site)
        if row.employer and key not in ids:
            workplace = workplaces.add_pending_workplace(
                row.employer, row.site, now=now
            )
            ids[key] = workplace.id
            result.new_workplaces.append(workplace.name)
    return ids


def export_statement(actor: User) -> sa.Select[Member]:
    """The query for the roster the actor may see, in member-number order."""
    return (
        visible_members(actor)
        .options(
            joinedload(Member.user),
            joinedload(Member.dues_level),
            selectinload(Member.employments).joinedload(Employment.workplace),
            selectinload(Member.employments).joinedload(Employment.classification),
        )
        .order_by(Member.member_number)
        .execution_options(yield_per=EXPORT_BATCH)
    )


def export_rows(statement: sa.Select[Member]) -> Iterator[list[object]]:
    """One list of cells per member, read a batch at a time so memory stays flat."""
    for batch in db.session.scalars(statement).partitions():
        for member in batch:
            yield _export_cells(member)


def _paid_through(member: Member) -> date | None:
    """The last month of the unbroken run of covered months from joining (the
    member's arrears summary keeps the month after it)."""
    first_uncovered = month_index(member.first_uncovered_month)
    if first_uncovered <= month_index(member.joined_on):
        return None
    return month_start(first_uncovered - 1)


def _export_cells(member: Member) -> list[object]:
    job = next(iter(member.current_employments), None)
    paid_through = _paid_through(member)
    return [
        member.member_number,
        member.chosen_name,
        member.legal_name or "",
        member.pronouns or "",
        member.email or "",
        member.phone or "",
        member.contact_preference.value,
        member.membership_class.value,
        member.status.value,
        member.joined_on.isoformat(),
        member.dues_level.code,
        paid_through.strftime("%Y-%m") if paid_through else "",
        job.workplace.employer if job else "",
        job.workplace.site if job else "",
        job.classification.name if job and job.classification else "",
    ]


def export_csv(actor: User, *, now: datetime) -> Iterator[str]:
    """The roster as CSV lines, audit-logged when asked for.

    Who may see whom is settled here, before the first line: a streamed response
    outlives the request's session, so the lines must not need the actor.
    """
    statement = export_statement(actor)
    audit.record("roster.exported", actor=actor, now=now)
    return csv_lines(COLUMNS, export_rows(statement))
