"""Choosing which notifications come by email, and the call list's button."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask_babel import LazyString
from wtforms import BooleanField, HiddenField

from union.forms.base import BaseForm
from union.models import NotificationKind


class EmailChoicesForm(BaseForm):
    """One checkbox per kind the person can be told of (added by `for_kinds`)."""

    kinds: tuple[NotificationKind, ...] = ()

    @classmethod
    def for_kinds(
        cls,
        kinds: Iterable[NotificationKind],
        current: Mapping[NotificationKind, bool],
        words: Mapping[NotificationKind, tuple[LazyString, LazyString]],
    ) -> EmailChoicesForm:
        """`words` gives each kind's name and a plain explanation."""
        kinds = tuple(kinds)

        class Choices(cls):  # type: ignore[valid-type,misc]
            pass

        for kind in kinds:
            name, explanation = words[kind]
            setattr(
                Choices,
                f"email_{kind}",
                BooleanField(name, description=explanation, default=current[kind]),
            )
        Choices.kinds = kinds
        form: EmailChoicesForm = Choices()
        return form

    def fields_by_kind(self) -> list[tuple[NotificationKind, BooleanField]]:
        return [(kind, self[f"email_{kind}"]) for kind in self.kinds]

    def wanted(self) -> dict[NotificationKind, bool]:
        return {kind: bool(field.data) for kind, field in self.fields_by_kind()}


class ToldForm(BaseForm):
    """The call list's "told in person" button: it carries the moment the list
    was shown, so what arrived since stays on the list."""

    shown_at = HiddenField()
