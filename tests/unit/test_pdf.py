from datetime import UTC, datetime

from tests.pdftext import pdf_text
from union.adapters.pdf import Fact, PrintedDocument, Section, printable, render_pdf


def test_what_the_font_cannot_draw_is_replaced_visibly_not_dropped():
    assert printable("Zoë O\u2019Brien — Ça\u2009va\u2011bien\u202f!") == (
        "Zoë O\u2019Brien — Ça va-bien\u202f!"
    )
    assert printable("Kim 🙂 李\tok\r\nnext\x07") == "Kim ? ? ok\nnext"
    # Decomposed accents (as some phones type them) are composed first.
    assert printable("E\u0301lodie") == "Élodie"


def test_a_document_prints_every_accent_and_apostrophe_of_french():
    french = (
        "àâæçéèêëîïôœùûüÿ ÀÂÆÇÉÈÊËÎÏÔŒÙÛÜŸ « l\u2019été » d'abord, 1\u202f200,50\u00a0$"
    )
    document = PrintedDocument(
        title="Dossier 2026-0042 : Zoë O'Brien",
        subtitle=french,
        sections=[
            Section(
                "Détails", facts=[Fact("Montant récupéré", "1\u202f200,50\u00a0$")]
            ),
            Section("Notes", items=["Première ligne\nDeuxième ligne"]),
            Section("Documents", empty="Aucun document."),
        ],
        footer="Confidentiel",
        page_numbering="Page %(page)s de %(pages)s",
        language="fr",
    )
    data = render_pdf(document, created_at=datetime(2026, 11, 22, tzinfo=UTC))
    text = pdf_text(data)
    for expected in (
        "Dossier 2026-0042 : Zoë O'Brien",
        french,
        "Montant récupéré",
        "Première ligne\nDeuxième ligne",
        "Aucun document.",
        "Confidentiel  ·  Page 1 de 1",
    ):
        # A no-break space is drawn with the space's glyph: it reads back as one.
        assert expected.replace("\u00a0", " ") in text
    assert b"/Lang (fr)" in data
