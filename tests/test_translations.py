"""The French catalogue is complete: every string the code and templates can show
has a French translation with the same placeholders, and the compiled catalogue the
app reads is the current one."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = ROOT / "union" / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
METHODS = [
    ("union/**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.txt", "jinja2"),
]
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def forms(value: object) -> tuple[str, ...]:
    """A catalogue id or string as a tuple of its plural forms (one if singular)."""
    if isinstance(value, str):
        return (value,)
    assert isinstance(value, (tuple, list))
    return tuple(str(text) for text in value)


def catalogue(language: str) -> Catalog:
    with (CATALOGUES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po)


def messages_in_the_code() -> dict[str, tuple[str, ...]]:
    """Every message the code and templates can show, keyed by its singular text."""
    found: dict[str, tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=METHODS, keywords=KEYWORDS
    ):
        texts = forms(message)
        if texts[0]:
            found[texts[0]] = texts[:2]
    return found


def test_the_code_has_messages_to_translate():
    assert len(messages_in_the_code()) > 500


def test_every_message_in_the_code_has_a_french_translation():
    french = catalogue("fr")
    missing = []
    for key, message in messages_in_the_code().items():
        entry = french.get(key)
        if entry is None or entry.fuzzy:
            missing.append(key)
            continue
        texts = forms(entry.string)
        if not all(texts) or len(texts) < len(message):
            missing.append(key)
    assert not missing, (
        f"{len(missing)} messages have no French translation (run `make messages`, "
        f"then translate them in union/translations/fr): {missing[:20]}"
    )


def test_translations_keep_every_placeholder():
    wrong = []
    for entry in catalogue("fr"):
        if not entry.id:
            continue
        wanted = set(PLACEHOLDER.findall(forms(entry.id)[-1]))
        for text in forms(entry.string):
            used = set(PLACEHOLDER.findall(text))
            # A singular form may say "un mois" instead of "%(num)d mois".
            if not used <= wanted or wanted - used - {"%(num)d"}:
                wrong.append(entry.id)
    assert not wrong, wrong


def test_the_compiled_catalogue_is_the_current_one():
    for po in CATALOGUES.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, (
            f"{mo.relative_to(ROOT)} is missing or older than its .po: run make"
        )
