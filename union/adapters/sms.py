"""Text messages, through Twilio's official SDK (the `twilio` package), when
TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM are configured. Until then
the app sends no texts: members who asked for them are on their delegate's call
list instead.

TWILIO_API_BASE points the SDK at another server speaking Twilio's Messages API
(tests run one on the loopback; no real text leaves the machine).

The SDK (some 17 MB) is imported when a sender is made, not with the app.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit


class RecipientRefused(Exception):
    """The provider will never deliver to this number, however often it is tried:
    its owner answered STOP (`unsubscribed`), or it cannot take texts at all.
    Carries the provider's error code only, never the number."""

    def __init__(self, code: int, *, unsubscribed: bool) -> None:
        super().__init__(code)
        self.code = code
        self.unsubscribed = unsubscribed


#: Twilio's error for a number whose owner replied STOP (or ARRET, UNSUBSCRIBE,
#: CANCEL...): Twilio refuses every text to it until they reply START.
TWILIO_UNSUBSCRIBED = 21610
#: Twilio's errors for numbers that cannot take a text: invalid, not a mobile,
#: unreachable by text, or in a country the account may not text.
TWILIO_UNDELIVERABLE = frozenset({21211, 21408, 21612, 21614})


class TextSender(Protocol):
    def send(self, to: str, body: str) -> str:
        """Sends one text; returns the provider's id for it. Raises
        RecipientRefused for a number that will never take one."""
        ...


def sdk_installed() -> bool:
    return importlib.util.find_spec("twilio") is not None


def configured(config: Mapping[str, Any]) -> bool:
    return all(
        config.get(name)
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")
    )


class TwilioTexts:
    """Sends through Twilio's Messages API with the official SDK."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sender: str,
        *,
        api_base: str | None = None,
    ) -> None:
        if not sdk_installed():
            raise RuntimeError("TWILIO_* is set but the twilio package is missing")
        from twilio.rest import Client

        http_client = _elsewhere_client()(api_base) if api_base else None
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.sender = sender

    def send(self, to: str, body: str) -> str:
        from twilio.base.exceptions import TwilioRestException

        try:
            message = self.client.messages.create(to=to, from_=self.sender, body=body)
        except TwilioRestException as error:
            # Twilio's own message names the number: it is not carried on.
            if error.code == TWILIO_UNSUBSCRIBED:
                raise RecipientRefused(error.code, unsubscribed=True) from None
            if error.code in TWILIO_UNDELIVERABLE:
                raise RecipientRefused(error.code, unsubscribed=False) from None
            raise
        return str(message.sid)


@functools.cache
def _elsewhere_client() -> type[Any]:
    """The SDK's own HTTP client, sending to `api_base` instead of Twilio."""
    from twilio.http.http_client import TwilioHttpClient

    class ElsewhereClient(TwilioHttpClient):  # type: ignore[misc]
        def __init__(self, api_base: str) -> None:
            super().__init__(timeout=20)
            self.api_base = urlsplit(api_base)

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            parts = urlsplit(url)
            moved = urlunsplit(
                (
                    self.api_base.scheme,
                    self.api_base.netloc,
                    parts.path,
                    parts.query,
                    parts.fragment,
                )
            )
            return super().request(method, moved, *args, **kwargs)

    return ElsewhereClient


def texts_from_config(config: Mapping[str, Any]) -> TextSender | None:
    """The text sender, or None when texts are not configured (or the SDK is
    not installed, which the deploy check names)."""
    if not configured(config) or not sdk_installed():
        return None
    return TwilioTexts(
        config["TWILIO_ACCOUNT_SID"],
        config["TWILIO_AUTH_TOKEN"],
        config["TWILIO_FROM"],
        api_base=config.get("TWILIO_API_BASE"),
    )
