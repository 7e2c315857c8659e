"""Pages of query results and safe substring search."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
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


def paginate(statement: sa.Select[Any], *, page: int, per_page: int) -> Page[Any]:
    """Runs a count and one page of the statement: two queries whatever the size."""
    page = max(1, page)
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
