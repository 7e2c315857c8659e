"""Column helpers shared by the model modules."""

from __future__ import annotations

import enum

import sqlalchemy as sa


def enum_type(enum_class: type[enum.StrEnum], length: int = 32) -> sa.Enum:
    """Stores a StrEnum by value in a VARCHAR, refusing unknown values on write.

    No native enum and no CHECK constraint: adding a member later is then a code
    change, not a table rebuild on SQLite.
    """
    return sa.Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=length,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )
