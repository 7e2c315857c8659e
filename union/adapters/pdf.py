"""Printable documents as PDF, drawn on the server with fpdf2.

A document is plain data (a title, then sections of facts, paragraphs and lists),
so the page that shows it in a browser and the PDF say the same things. The text
is set in Source Sans Pro, embedded from the font-source-sans-pro package: it has
every accent French and the other Latin languages use, Greek, Cyrillic and
Vietnamese, and the PDF carries the font with it. A character the font lacks
(an emoji, Chinese) prints as "?" rather than vanishing without a trace.

fpdf2 (with Pillow and fontTools) is imported when the first PDF is drawn, not
with the app: it is the largest library the app uses (some 57 MB), and most
processes never print.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fpdf import FPDF

FONT_FAMILY = "SourceSans"
FONT_FILES = {"": "SourceSansPro-Regular.ttf", "B": "SourceSansPro-Bold.ttf"}
#: Shown instead of a character the font cannot draw.
MISSING = "?"

BODY_SIZE = 10.5
LINE = 5.2
LABEL_WIDTH = 0.32  # of the text width
#: Where the footer says how many pages there are; fpdf2 fills in the number
#: once the last page is drawn, wherever this text appears.
PAGE_COUNT = "{total-pages-of-this-file}"


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    facts: Sequence[Fact] = ()
    paragraphs: Sequence[str] = ()
    #: One entry a line, in order (a timeline, notes).
    items: Sequence[str] = ()
    #: Said when the section has nothing else ("No notes yet.").
    empty: str = ""


@dataclass(frozen=True, slots=True)
class PrintedDocument:
    title: str
    #: A line under the title (the union, when it was printed).
    subtitle: str
    sections: Sequence[Section]
    #: Printed at the foot of every page, before the page number.
    footer: str
    #: "Page %(page)s of %(pages)s" in the reader's language, with those two
    #: placeholders.
    page_numbering: str
    #: The reader's language, for the PDF's metadata ("en", "fr").
    language: str


def _font_path(style: str) -> Path:
    return Path(str(files("font_source_sans_pro") / "files" / FONT_FILES[style]))


@functools.cache
def _drawable() -> frozenset[int]:
    """The characters every style of the font can draw."""
    from fontTools.ttLib import TTFont

    sets = []
    for style in FONT_FILES:
        with TTFont(_font_path(style)) as font:
            sets.append(set(font.getBestCmap()))
    return frozenset(set.intersection(*sets))


def printable(text: str) -> str:
    """The text with what the font cannot draw replaced: odd spaces by a space,
    dashes by a hyphen, anything else by MISSING. Line breaks stay."""
    drawable = _drawable()
    kept = []
    for char in unicodedata.normalize("NFC", text):
        if char == "\n" or ord(char) in drawable:
            kept.append(char)
        elif char in "\t\r":
            kept.append(" " if char == "\t" else "")
        else:
            kind = unicodedata.category(char)
            if kind == "Zs":
                kept.append(" ")
            elif kind == "Pd":
                kept.append("-")
            elif not kind.startswith("C"):
                kept.append(MISSING)
    return "".join(kept)


@functools.cache
def _pages() -> type[Any]:
    """The FPDF class with the document's footer on every page."""
    from fpdf import FPDF

    class Pages(FPDF):
        def __init__(self, document: PrintedDocument) -> None:
            super().__init__(format="Letter")
            self.document = document

        def footer(self) -> None:
            self.set_xy(self.l_margin, -14)
            self.set_font(FONT_FAMILY, size=8)
            numbering = self.document.page_numbering % {
                "page": self.page_no(),
                "pages": PAGE_COUNT,
            }
            self.cell(
                0,
                5,
                printable(f"{self.document.footer}  ·  {numbering}"),
                align="C",
            )

    return Pages


def render_pdf(document: PrintedDocument, *, created_at: datetime) -> bytes:
    """The document as a PDF file (US Letter, the paper Canadian offices use)."""
    pdf: FPDF = _pages()(document)
    pdf.alias_nb_pages(PAGE_COUNT)
    for style in FONT_FILES:
        pdf.add_font(FONT_FAMILY, style, str(_font_path(style)))
    pdf.set_title(printable(document.title))
    pdf.set_lang(document.language)
    pdf.set_creation_date(created_at)
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()

    pdf.set_font(FONT_FAMILY, "B", 17)
    _paragraph(pdf, document.title, line=8)
    pdf.set_font(FONT_FAMILY, size=BODY_SIZE)
    _paragraph(pdf, document.subtitle)
    for section in document.sections:
        _section(pdf, section)
    return bytes(pdf.output())


def _paragraph(pdf: FPDF, text: str, *, line: float = LINE) -> None:
    from fpdf.enums import XPos, YPos

    # Ragged right: justified lines stretch spaces, which is harder to read.
    pdf.multi_cell(
        0, line, printable(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )


def _section(pdf: FPDF, section: Section) -> None:
    from fpdf.enums import XPos, YPos

    pdf.ln(4)
    # A heading is not left alone at the foot of a page.
    if pdf.will_page_break(4 * LINE):
        pdf.add_page()
    pdf.set_font(FONT_FAMILY, "B", 13)
    _paragraph(pdf, section.heading, line=7)
    pdf.set_font(FONT_FAMILY, size=BODY_SIZE)
    if section.facts:
        _facts(pdf, section.facts)
    for text in section.paragraphs:
        _paragraph(pdf, text)
        pdf.ln(1.5)
    for item in section.items:
        pdf.set_x(pdf.l_margin)
        pdf.cell(5, LINE, "•")
        pdf.multi_cell(
            0, LINE, printable(item), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        pdf.ln(1)
    if not (section.facts or section.paragraphs or section.items) and section.empty:
        _paragraph(pdf, section.empty)


def _facts(pdf: FPDF, facts: Sequence[Fact]) -> None:
    from fpdf.fonts import FontFace

    label_width = pdf.epw * LABEL_WIDTH
    with pdf.table(
        col_widths=(label_width, pdf.epw - label_width),
        first_row_as_headings=False,
        borders_layout="NONE",
        line_height=LINE,
        padding=(0.8, 2, 0.8, 0),
        text_align="LEFT",
        v_align="TOP",
    ) as table:
        for fact in facts:
            row = table.row()
            row.cell(printable(fact.label), style=FontFace(emphasis="BOLD"))
            row.cell(printable(fact.value))
