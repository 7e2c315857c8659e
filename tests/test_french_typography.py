"""French typography: a no-break space (U+00A0) before ":", "?", ";" and "!" in
every French text the app shows, whether it comes from the catalogue, from a
template or from the French names the code gives things.

Template text outside the catalogue is shown in both languages, so it may hold
none of these marks at all: a colon that joins two values goes through the
catalogue too (as "%(term)s: %(detail)s"), where French can space it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_translations import ROOT, catalogue, forms
from union.generate.organisation import JOB_NAMES_FR

MARKS = ":?;!"
#: A mark with anything but a no-break space before it, except in a web address
#: ("https://") or between digits (a time, a ratio).
UNSPACED = re.compile(r"(?<!\u00a0)[:?;!](?!//)")
BETWEEN_DIGITS = re.compile(r"\d[:?;!]\d")
JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
TAG = re.compile(r"<[^>]*>", re.S)
ENTITY = re.compile(r"&#?\w+;")


def unspaced(text: str) -> list[str]:
    """Each mark in `text` missing its no-break space, shown with what is around it."""
    digits = {match.start() + 1 for match in BETWEEN_DIGITS.finditer(text)}
    return [
        text[max(0, hit.start() - 15) : hit.end() + 5]
        for hit in UNSPACED.finditer(text)
        if hit.start() not in digits
    ]


def test_the_check_finds_marks_without_their_space():
    assert len(unspaced("Votre nom : Robin")) == 1
    assert len(unspaced("Vraiment? Oui; merci!")) == 3
    assert unspaced("Merci\u00a0! À 15:04, voir https://exemple.org") == []


def test_every_french_message_has_a_no_break_space_before_its_marks():
    wrong = {
        str(forms(entry.id)[0]): found
        for entry in catalogue("fr")
        if entry.id
        for text in forms(entry.string)
        if (found := unspaced(text))
    }
    assert not wrong, f"{len(wrong)} French messages: {list(wrong.items())[:20]}"


def test_the_french_names_the_code_gives_have_their_spaces():
    wrong = [name for name in JOB_NAMES_FR.values() if unspaced(name)]
    assert not wrong


def template_text(path: Path) -> str:
    """What a template shows as it is, in every language: its text outside Jinja
    tags and expressions and outside HTML tags."""
    text = JINJA.sub(" ", path.read_text(encoding="utf-8"))
    if path.suffix == ".html":
        text = ENTITY.sub(" ", TAG.sub(" ", text))
    return text


def test_templates_hold_no_mark_outside_the_catalogue():
    templates = ROOT / "templates"
    wrong = {}
    for path in sorted(templates.rglob("*")):
        name = path.relative_to(templates).as_posix()
        if path.suffix not in (".html", ".txt"):
            continue
        found = [line.strip() for line in template_text(path).splitlines()]
        marked = [line for line in found if any(mark in line for mark in MARKS)]
        if marked:
            wrong[name] = marked
    assert not wrong, wrong


def test_the_same_french_word_does_not_name_two_different_things():
    """ "Accueil" was both the home page and a grievance's first step."""
    french = catalogue("fr")
    home, intake = french.get("Home"), french.get("Intake")
    assert home is not None and intake is not None
    assert home.string == "Accueil"
    assert intake.string != home.string


def test_no_french_sentence_names_the_same_person_twice():
    """ "un·e délégué·e ou à un·e délégué·e syndical·e": two names for a steward."""
    repeated = re.compile(r"(délégué·e)\S*\s+ou\s+(?:à\s+)?(?:un·e\s+)?\1", re.I)
    wrong = [
        text
        for entry in catalogue("fr")
        if entry.id
        for text in forms(entry.string)
        if repeated.search(text)
    ]
    assert not wrong, wrong
