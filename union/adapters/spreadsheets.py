"""Reading the first sheet of an Excel workbook (.xlsx) as rows of text.

A workbook is a zip of XML files, so a small upload can unpack to gigabytes or
hold a million tiny rows. Before openpyxl opens it, the zip's own directory says
how big its parts are; then the sheet is read in openpyxl's read-only mode, a row
at a time, and reading stops at a row limit. openpyxl parses the XML through
defusedxml, which refuses entity tricks. Whatever is wrong with the bytes comes
out as one exception, for the caller to put in words.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

#: The first bytes of every zip file, and so of every .xlsx workbook.
ZIP_SIGNATURE = b"PK\x03\x04"
#: The first bytes of an old binary Excel (.xls) file.
OLD_EXCEL_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class UnreadableWorkbook(Exception):
    """The bytes are not a workbook openpyxl can read."""


@dataclass(frozen=True)
class WorkbookTooBig(Exception):
    """The workbook unpacks to more than allowed, or has more rows than allowed."""

    #: "bytes" or "rows": which limit it went past.
    limit: str


@dataclass(frozen=True, slots=True)
class SheetRow:
    #: The row's number as the spreadsheet shows it (the first row is 1).
    number: int
    cells: list[str]


def is_workbook(data: bytes) -> bool:
    return data.startswith(ZIP_SIGNATURE)


def is_old_excel(data: bytes) -> bool:
    return data.startswith(OLD_EXCEL_SIGNATURE)


def cell_text(value: object) -> str:
    """A cell as the same text a CSV export of the sheet would hold: dates as
    2024-03-31, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    return str(value)


def _check_unpacked_size(data: bytes, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise UnreadableWorkbook from error
    if unpacked > max_bytes:
        raise WorkbookTooBig("bytes")


def first_sheet_rows(
    data: bytes, *, max_rows: int, max_unpacked_bytes: int
) -> list[SheetRow]:
    """The first sheet's rows that hold anything, with their row numbers, as text.
    Formulas give the value the spreadsheet last computed."""
    # Imported here: some 28 MB that only an import from a spreadsheet needs.
    import openpyxl

    _check_unpacked_size(data, max_unpacked_bytes)
    rows: list[SheetRow] = []
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True
        )
        try:
            if not workbook.worksheets:
                return rows
            sheet = workbook.worksheets[0]
            # The size a sheet declares is often wrong, and read-only mode would
            # cut its rows to it; forgetting it reads every cell that is there.
            sheet.reset_dimensions()
            for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
                cells = [cell_text(value).strip() for value in values]
                if not any(cells):
                    continue
                if len(rows) == max_rows:
                    raise WorkbookTooBig("rows")
                rows.append(SheetRow(number, cells))
        finally:
            workbook.close()
    except WorkbookTooBig:
        raise
    # openpyxl reports a damaged workbook with whatever its zip, XML and parsing
    # code raise (KeyError for a missing part, ValueError, ParseError, ...); any
    # of them means the same to the person uploading it.
    except Exception as error:
        raise UnreadableWorkbook from error
    return rows
