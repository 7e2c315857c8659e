"""Pages of query results, the orders a table can be sorted in, and safe
substring search."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from union.db import db

T = TypeVar("T")

LIKE_ESCAPE = "\\"


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    number: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def paginate(
    statement: sa.Select[Any], *, page: int, per_page: int, total: int | None = None
) -> Page[Any]:
    """Runs a count and one page of the statement: two queries whatever the size.
    A caller that has counted the rows already (with other totals, in one query)
    passes `total`, and only the page is read."""
    page = max(1, page)
    if total is None:
        total = (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(
                    statement.order_by(None).options().subquery()
                )
            )
            or 0
        )
    items = db.session.scalars(
        statement.limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items=items, total=total, number=page, per_page=per_page)


#: What a descending sort looks like in a URL: "-amount" is the largest first.
DESCENDING_MARK = "-"


@dataclass(frozen=True, slots=True)
class Sort:
    """The order a table is shown in: one of its keys, and the direction."""

    key: str
    descending: bool
    #: Every order the table offers; the headers' links are worked out from it.
    keys: SortKeys = field(repr=False, compare=False)

    @property
    def value(self) -> str:
        """As in the URL's `sort` parameter: "amount", or "-amount" for descending."""
        return (DESCENDING_MARK if self.descending else "") + self.key

    def after_click(self, key: str) -> Sort:
        """The order a click on `key`'s column header asks for: the other direction
        of the current key, or a new key in the direction it starts with."""
        if key == self.key:
            return Sort(key, not self.descending, self.keys)
        return Sort(key, key in self.keys.first_descending, self.keys)

    def ordered(self, *columns: Any) -> list[Any]:
        """SQL ORDER BY terms: every column in this sort's direction. The last
        column is the table's unique one, so rows that tie on the key keep one
        order from page to page; all in one direction, one index serves both."""
        return [
            column.desc() if self.descending else column.asc() for column in columns
        ]


@dataclass(frozen=True, slots=True)
class SortKeys:
    """The fixed list of orders a table offers. Anything else asked for in a URL
    is ignored: the table is shown in its default order."""

    keys: tuple[str, ...]
    #: The default order, as in a URL ("-date").
    default: str
    #: Keys whose first click shows the largest, newest or most first.
    first_descending: frozenset[str] = frozenset()

    def read(self, value: str | None) -> Sort:
        """The order a URL's `sort` value names, or the default order."""
        for text in (value or "", self.default):
            descending = text.startswith(DESCENDING_MARK)
            key = text.removeprefix(DESCENDING_MARK)
            if key in self.keys:
                return Sort(key, descending, self)
        raise ValueError(f"the default order {self.default!r} is not a key")

    def every_order(self) -> list[Sort]:
        """Each key in both directions, the direction it starts with first."""
        return [
            Sort(key, descending, self)
            for key in self.keys
            for descending in (
                (True, False) if key in self.first_descending else (False, True)
            )
        ]


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with its own % and _ taken literally."""
    escaped = (
        text.strip()
        .lower()
        .replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"
