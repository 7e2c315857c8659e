"""The text of a PDF that fpdf2 wrote, for tests to read.

fpdf2 embeds a subset of each TrueType font and writes text as two-byte glyph
codes, with a ToUnicode map per font saying which character each code draws: the
map a PDF reader uses to copy text. This follows the same maps, so what a test
finds is what a reader copying from the PDF would get. It knows only the shapes
fpdf2 writes (literal strings shown with Tj, one font per Tf).
"""

from __future__ import annotations

import re
import zlib

OBJECT = re.compile(rb"(\d+) 0 obj")
DICTIONARY_END = re.compile(rb"stream\r?\n|endobj")
LENGTH = re.compile(rb"/Length (\d+)")
FONT_ENTRY = re.compile(rb"/(F\d+) (\d+) 0 R")
TO_UNICODE = re.compile(rb"/ToUnicode (\d+) 0 R")
BFCHAR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
BFRANGE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
TEXT = re.compile(rb"BT(.*?)ET", re.DOTALL)
SHOWN = re.compile(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\)", re.DOTALL)
ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _objects(pdf: bytes) -> dict[int, tuple[bytes, bytes]]:
    """Each object's dictionary and its stream's bytes, inflated. A stream is cut
    by its /Length: its compressed bytes may hold anything, "endobj" included."""
    found = {}
    position = 0
    while (start := OBJECT.search(pdf, position)) is not None:
        end = DICTIONARY_END.search(pdf, start.end())
        assert end is not None, "an object without its end"
        body = pdf[start.end() : end.start()]
        data = b""
        position = end.end()
        if end.group(0).startswith(b"stream"):
            length = LENGTH.search(body)
            assert length is not None, "a stream without a direct /Length"
            data = pdf[end.end() : end.end() + int(length.group(1))]
            position = end.end() + len(data)
            if b"/FlateDecode" in body:
                data = zlib.decompress(data)
        found[int(start.group(1))] = (body, data)
    return found


def _to_unicode(cmap: bytes) -> dict[int, str]:
    mapping = {}
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.DOTALL):
        for first, last, target in BFRANGE.findall(block):
            start = int(target, 16)
            for offset, code in enumerate(range(int(first, 16), int(last, 16) + 1)):
                mapping[code] = chr(start + offset)
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.DOTALL):
        for code, target in BFCHAR.findall(block):
            mapping[int(code, 16)] = bytes.fromhex(target.decode()).decode("utf-16-be")
    return mapping


def _unescape(literal: bytes) -> bytes:
    out = bytearray()
    index = 0
    while index < len(literal):
        byte = literal[index : index + 1]
        if byte != b"\\":
            out += byte
            index += 1
            continue
        following = literal[index + 1 : index + 2]
        octal = re.match(rb"[0-7]{1,3}", literal[index + 1 : index + 4])
        if octal:
            out.append(int(octal.group(0), 8))
            index += 1 + len(octal.group(0))
        else:
            out += ESCAPES.get(following, following)
            index += 2
    return bytes(out)


def pdf_text(pdf: bytes) -> str:
    """Every run of text in the PDF, a line for each text block."""
    objects = _objects(pdf)
    maps: dict[bytes, dict[int, str]] = {}
    for body, _ in objects.values():
        for name, number in FONT_ENTRY.findall(body):
            font_body = objects[int(number)][0]
            cmap = TO_UNICODE.search(font_body)
            if cmap is not None:
                maps[name] = _to_unicode(objects[int(cmap.group(1))][1])
    lines = []
    font: dict[int, str] = {}
    for _, data in objects.values():
        for block in TEXT.findall(data):
            line = ""
            for name, literal in SHOWN.findall(block):
                if name:
                    font = maps.get(name, {})
                    continue
                codes = _unescape(literal)
                line += "".join(
                    font.get(int.from_bytes(codes[i : i + 2], "big"), "\ufffd")
                    for i in range(0, len(codes) - 1, 2)
                )
            if line:
                lines.append(line)
    return "\n".join(lines)
