import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from union.adapters.csvsafe import FORMULA_STARTS, csv_lines, escape_cell, unescape_cell


@pytest.mark.parametrize(
    "dangerous",
    [
        '=HYPERLINK("http://x")',
        "+1 416 555 0123",
        "-2+3",
        "@SUM(A1)",
        "\t=1",
        "  =1",
        "\r=1",
    ],
)
def test_cells_a_spreadsheet_would_run_as_formulas_are_quoted(dangerous):
    assert escape_cell(dangerous).startswith("'")


@pytest.mark.parametrize("harmless", ["Sam", "1042", "a=b", "", "O'Neil"])
def test_ordinary_cells_are_unchanged(harmless):
    assert escape_cell(harmless) == harmless


@given(st.text())
def test_escaping_round_trips_and_never_leaves_a_formula_start(text):
    escaped = escape_cell(text)
    assert not escaped.lstrip(" ").startswith(FORMULA_STARTS)
    assert unescape_cell(escaped) == text or text.startswith("'")


def test_csv_lines_quote_commas_quotes_and_newlines_per_rfc_4180():
    rows = [["a,b", 'say "hi"', "two\nlines", "=cmd"]]
    text = "".join(csv_lines(["one", "two", "three", "four"], rows))
    assert text.endswith("\r\n")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[1] == ["a,b", 'say "hi"', "two\nlines", "'=cmd"]
