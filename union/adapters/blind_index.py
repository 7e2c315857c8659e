"""Finding encrypted text by the words in it, without storing the words.

Grievance titles are encrypted at rest (union.adapters.crypto), so SQL cannot
search them, and decrypting every title to search it would read the whole table.
Instead each title is stored with a keyed hash of each of its words and of each
word's beginnings of three letters or more ("harass", "harassm" ... for
"harassment"), so that a search for the start of a word finds it. The hash is
HMAC-SHA256 under LOOKUP_HASH_KEY, the key emails are found by, cut to 64 bits;
each use names its purpose, so the same word hashes differently in each.

Without the key the numbers tell nothing about the words; what they do tell is
which titles share a word, the way equal email hashes would tell equal emails.
A search hashes each typed word the same way: a row matches when every typed word
begins one of its words. Words are compared without case or accents, so
"conges" finds "Congés".
"""

from __future__ import annotations

import re
import unicodedata

from union.adapters.crypto import lookup_digest

#: Beginnings shorter than this are not stored: a word of one or two letters is
#: found only whole.
SHORTEST_BEGINNING = 3
#: Words a search looks for at most; more typed words are ignored.
MOST_SEARCH_WORDS = 8

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The words of a text, without case or accents, in order."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(plain)


def _digest(purpose: str, term: str) -> int:
    # The first 8 bytes as a signed integer, for a BIGINT column: 64 bits keep
    # two different words from sharing a number for any realistic vocabulary.
    digest = bytes.fromhex(lookup_digest(f"{purpose}:{term}"))
    return int.from_bytes(digest[:8], "big", signed=True)


def text_digests(purpose: str, text: str) -> set[int]:
    """The numbers stored for a text: one per word and per beginning of a word."""
    terms = set()
    for word in words(text):
        terms.add(word)
        terms.update(word[:length] for length in range(SHORTEST_BEGINNING, len(word)))
    return {_digest(purpose, term) for term in terms}


def search_digests(purpose: str, typed: str) -> list[int]:
    """The numbers a search looks for: one per typed word, each of which must be
    found (at most MOST_SEARCH_WORDS of them)."""
    unique = list(dict.fromkeys(words(typed)))[:MOST_SEARCH_WORDS]
    return [_digest(purpose, word) for word in unique]
