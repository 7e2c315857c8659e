"""Domain errors. Services raise them; views turn them into form errors, 404s or 403s."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base for every error a service raises on purpose."""


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
