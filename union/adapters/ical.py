"""A small iCalendar (RFC 5545) writer: all-day events for deadlines, nothing more."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

#: RFC 5545 3.1: lines longer than 75 octets are folded.
MAX_LINE_OCTETS = 75


@dataclass(frozen=True, slots=True)
class AllDayEvent:
    uid: str
    day: date
    summary: str
    url: str | None = None
    #: Shown by calendar apps as a notification this long before the day begins.
    alarm_before: timedelta | None = None


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Splits a content line into chunks of at most 75 octets, never inside a
    UTF-8 character, each continuation starting with one space."""
    pieces: list[str] = []
    current = ""
    limit = MAX_LINE_OCTETS
    for char in line:
        if len((current + char).encode()) > limit:
            pieces.append(current)
            current = ""
            # The leading space of a continuation line counts towards its length.
            limit = MAX_LINE_OCTETS - 1
        current += char
    pieces.append(current)
    return "\r\n ".join(pieces)


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return (
        f"-PT{minutes // 60}H{minutes % 60}M"
        if minutes % 60
        else f"-PT{minutes // 60}H"
    )


def calendar(
    *, name: str, events: Iterable[AllDayEvent], now: datetime, product: str
) -> str:
    """A whole VCALENDAR document, with CRLF line ends as the RFC requires."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//{escape_text(product)}//Grievance deadlines//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{escape_text(event.uid)}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{event.day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{event.day + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{escape_text(event.summary)}",
            "TRANSP:TRANSPARENT",
        ]
        if event.url:
            lines.append(f"URL:{event.url}")
        if event.alarm_before:
            lines += [
                "BEGIN:VALARM",
                "ACTION:DISPLAY",
                f"DESCRIPTION:{escape_text(event.summary)}",
                f"TRIGGER:{_duration(event.alarm_before)}",
                "END:VALARM",
            ]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
