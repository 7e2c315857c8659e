"""Outgoing mail: printed to the console by default, sent by SMTP when SMTP_URL is set."""

from __future__ import annotations

import contextlib
import functools
import smtplib
import ssl
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True, slots=True)
class Message:
    to: str
    subject: str
    body: str = field(repr=False)
    #: The same for every attempt at sending one email, so that a copy sent
    #: twice (a worker killed after the server took it) reads as one.
    message_id: str | None = None
    #: Extra headers, such as List-Unsubscribe.
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


class Mailer(Protocol):
    def send(self, message: Message) -> None: ...


class ConsoleMailer:
    """For development: the whole message goes to standard error, not to the log."""

    def send(self, message: Message) -> None:
        print(
            f"\n--- email to {message.to}: {message.subject}\n{message.body}\n---",
            file=sys.stderr,
            flush=True,
        )


@dataclass
class MemoryMailer:
    """Keeps messages in a list, for tests."""

    outbox: list[Message] = field(default_factory=list)

    def send(self, message: Message) -> None:
        self.outbox.append(message)


#: Header lines may be up to 998 characters (RFC 5322). At the default 78, a
#: List-Unsubscribe header, whose URLs hold a long token and cannot be broken,
#: was rewritten as RFC 2047 encoded words, which no mail client reads as links.
_HEADERS_UNFOLDED = email_policy.default.clone(max_line_length=998)


@dataclass(frozen=True)
class SmtpMailer:
    """Sends through the server in SMTP_URL.

    smtp://user:password@host:587 uses STARTTLS, smtps://...:465 uses TLS from the
    start, and smtp+insecure://host:25 sends in clear text (local relays only).
    """

    url: str
    sender: str
    timeout: float = 20.0

    #: Emails sent over one connection before it is closed and another opened:
    #: many relays refuse more than about a hundred on one.
    per_connection: int = 100

    def send(self, message: Message) -> None:
        with self._session() as client:
            client.send_message(self._email(message))

    @contextlib.contextmanager
    def connection(self) -> Iterator[Callable[[Message], None]]:
        """A sender that keeps its connection open for the next email, opened at
        the first (so a batch that has nothing to send connects to nothing), and
        closed on leaving."""
        sessions = contextlib.ExitStack()
        open_client: smtplib.SMTP | None = None
        sent_on_it = 0

        def send(message: Message) -> None:
            nonlocal open_client, sent_on_it
            email = self._email(message)
            if open_client is None or sent_on_it >= self.per_connection:
                sessions.close()
                open_client = sessions.enter_context(self._session())
                sent_on_it = 0
            client = open_client
            open_client = None  # a failure leaves it unusable: the next opens anew
            client.send_message(email)
            open_client = client
            sent_on_it += 1

        with sessions:
            yield send

    def _email(self, message: Message) -> EmailMessage:
        email = EmailMessage(policy=_HEADERS_UNFOLDED)
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        if message.message_id:
            email["Message-ID"] = message.message_id
        for name, value in message.headers.items():
            email[name] = value
        email.set_content(message.body)
        return email

    def check(self) -> None:
        """Connects, secures the connection and signs in as sending does, and
        sends nothing: raises what sending would raise."""
        with self._session():
            pass

    @contextlib.contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        parts = urlsplit(self.url)
        host = parts.hostname or "localhost"
        client: smtplib.SMTP
        if parts.scheme == "smtps":
            client = smtplib.SMTP_SSL(
                host, parts.port or 465, timeout=self.timeout, context=_tls()
            )
        else:
            client = smtplib.SMTP(host, parts.port or 587, timeout=self.timeout)
        with client:
            if parts.scheme == "smtp":
                client.starttls(context=_tls())
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            yield client


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every connection: making one reads the system's
    certificate store, which took 80 ms an email (benchmarks/messages.py)."""
    return ssl.create_default_context()


@contextlib.contextmanager
def connection(mailer: Mailer) -> Iterator[Callable[[Message], None]]:
    """Sends a run of emails over one connection where the mailer has them (SMTP),
    and one by one otherwise."""
    if isinstance(mailer, SmtpMailer):
        with mailer.connection() as send:
            yield send
    else:
        yield mailer.send


def mailer_from_config(config: Mapping[str, Any]) -> Mailer:
    backend = config["MAIL_BACKEND"]
    if backend == "smtp":
        return SmtpMailer(config["SMTP_URL"], config["MAIL_FROM"])
    if backend == "memory":
        return MemoryMailer()
    if backend == "console":
        return ConsoleMailer()
    raise ValueError(f"unknown MAIL_BACKEND {backend!r}")
