"""Named sequences for human-facing numbers (member numbers, receipt numbers)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from union.db import Model


class Counter(Model):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    #: The last number handed out.
    value: Mapped[int]
