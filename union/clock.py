"""The one place that reads the clock; everything else is handed `now`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_pinned: datetime | None = None


def utcnow() -> datetime:
    return _pinned if _pinned is not None else datetime.now(UTC)


@contextmanager
def pinned(moment: datetime) -> Iterator[None]:
    """Makes `utcnow()` answer `moment` inside the block, so tests that go through
    the web (where views read the clock) see the same day as the data they made."""
    global _pinned
    if moment.tzinfo is None:
        raise ValueError("pin the clock to an aware datetime")
    previous, _pinned = _pinned, moment
    try:
        yield
    finally:
        _pinned = previous


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar day `moment` falls on in the union's time zone."""
    return moment.astimezone(tz).date()


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def month_index(day: date) -> int:
    """Months since year 0, so that months can be subtracted."""
    return day.year * 12 + day.month - 1


def month_start(index: int) -> date:
    """The first day of the month `index` months after year 0 began."""
    year, month = divmod(index, 12)
    return date(year, month + 1, 1)


def months_from(start: date, count: int) -> list[date]:
    first = month_index(start)
    return [month_start(first + offset) for offset in range(count)]


def months_through(first: date, last: date) -> Iterator[date]:
    for index in range(month_index(first), month_index(last) + 1):
        yield month_start(index)


def add_months(day: date, months: int) -> date:
    """Shifts a date by whole months, clamping to the last day of shorter months."""
    year, month = divmod(month_index(day) + months, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def quarter_start(day: date) -> date:
    """The first day of the calendar quarter `day` is in (January, April, July,
    October)."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_end(day: date) -> date:
    """The last day of the calendar quarter `day` is in."""
    return add_months(quarter_start(day), 3) - timedelta(days=1)


_union_zone = ZoneInfo("America/Toronto")


def configure(zone_name: str) -> None:
    """Sets the union's time zone for this process (UNION_TIMEZONE)."""
    global _union_zone
    _union_zone = ZoneInfo(zone_name)


def union_zone() -> ZoneInfo:
    return _union_zone


def today(now: datetime) -> date:
    """The union's calendar day at the moment `now`."""
    return local_date(now, _union_zone)


def start_of_day(day: date) -> datetime:
    """The moment (in UTC) the union's calendar day `day` begins."""
    return datetime.combine(day, datetime.min.time(), _union_zone).astimezone(UTC)
