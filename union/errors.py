"""Domain errors. Services raise them; views turn them into form errors, 404s or 403s."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def flat(errors: Mapping[str, Iterable[str]]) -> list[str]:
    """Messages keyed by field as one list, in field order: for a page that shows
    them together (flashed) rather than beside each field."""
    return [message for messages in errors.values() for message in messages]


class DomainError(Exception):
    """Base for every error a service raises on purpose."""

    @property
    def messages(self) -> list[str]:
        """What to tell the person, one message an item."""
        return [str(self)]


class NotFound(DomainError):
    """The object does not exist, or the actor may not know that it does."""


class PermissionDenied(DomainError):
    """The actor is known and in scope but may not take this action."""


class InvalidTransition(DomainError):
    """The object is not in a state that allows this move."""


class ValidationFailed(DomainError):
    """Input broke a rule the service owns; messages are keyed by form field.

    The key "" holds messages that belong to the form as a whole.
    """

    def __init__(self, errors: Mapping[str, str | list[str]]) -> None:
        self.errors: dict[str, list[str]] = {
            field: [messages] if isinstance(messages, str) else list(messages)
            for field, messages in errors.items()
        }
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))

    @property
    def messages(self) -> list[str]:
        return flat(self.errors)
