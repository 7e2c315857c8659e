"""Logs that carry no personal data.

The app's own messages name only kinds of things (an error's class, an email's
template). Two sources need help:

* exceptions: a database error's text can quote a value (PostgreSQL's DETAIL line
  repeats the key of a unique violation), so errors are logged as their class and
  stack frames, never their message;
* request lines written by the development server (werkzeug) or by gunicorn's
  access log: query strings hold what people search for, paths hold emailed link
  tokens, and the peer address says where someone was. `RequestLineFilter` rewrites
  those before any handler formats them.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import traceback
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

REDACTED = "[redacted]"

#: A request line's protocol, kept when its query string is dropped.
_PROTOCOL = re.compile(r" HTTP/\d(?:\.\d)?$")
#: The development server starts each line with the client's address.
_LEADING_ADDRESS = re.compile(r"^(\S+)( - - \[)")


def describe_exception(error: BaseException) -> str:
    """An exception as its class and where it happened, without its message."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    cause = error.__cause__ or error.__context__
    text = f"{type(error).__module__}.{type(error).__qualname__}\n{frames}"
    if cause is not None and cause is not error:
        text += f"caused by {type(cause).__module__}.{type(cause).__qualname__}\n"
    return text


def log_exception(logger: logging.Logger, message: str, error: BaseException) -> None:
    logger.error("%s\n%s", message, describe_exception(error))


def mask_address(address: str) -> str:
    """An IP address with its host part dropped (IPv4 /24, IPv6 /48)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return REDACTED
    prefix = 24 if ip.version == 4 else 48
    network = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
    return str(network)


class RequestLineFilter(logging.Filter):
    """Rewrites request log records so they keep method, route, status and size,
    but no query string, emailed token or full client address."""

    def __init__(self, token_prefixes: Iterable[str]) -> None:
        super().__init__()
        prefixes = sorted(
            {p.rstrip("/") for p in token_prefixes}, key=len, reverse=True
        )
        self._token_path = (
            re.compile("(" + "|".join(re.escape(p) for p in prefixes) + r")/[^\s?]+")
            if prefixes
            else None
        )

    def redact(self, text: str) -> str:
        """Drops everything after the first "?" whatever it holds (quotes and
        spaces included), keeping only a request line's protocol."""
        path, question_mark, query = text.partition("?")
        if question_mark:
            protocol = _PROTOCOL.search(query)
            text = f"{path}?{REDACTED}{protocol.group(0) if protocol else ''}"
        if self._token_path is not None:
            text = self._token_path.sub(lambda m: f"{m.group(1)}/{REDACTED}", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, Mapping):
            # gunicorn.access: the atoms of its access-log format.
            atoms: dict[str, Any] = dict(args)
            for key in ("r", "U", "f", "{raw_uri}e"):
                value = atoms.get(key)
                if isinstance(value, str):
                    atoms[key] = self.redact(value)
            if "q" in atoms:
                atoms["q"] = ""
            address = atoms.get("h")
            if isinstance(address, str):
                atoms["h"] = mask_address(address)
            record.args = atoms
        elif isinstance(args, tuple):
            # werkzeug: 'ADDRESS - - [time] "%s" %s %s' % (request line, status, size).
            record.args = tuple(
                self.redact(a) if isinstance(a, str) else a for a in args
            )
        record.msg = _LEADING_ADDRESS.sub(
            lambda m: mask_address(m.group(1)) + m.group(2),
            self.redact(str(record.msg)),
        )
        return True


def token_prefixes(rules: Iterable[Any]) -> list[str]:
    """The static part of every URL rule that carries a secret token in its path."""
    prefixes = []
    for rule in rules:
        if any(name == "token" or name.endswith("_token") for name in rule.arguments):
            static = rule.rule.split("<", 1)[0]
            if static.strip("/"):
                prefixes.append(static)
    return prefixes


def install_request_log_filter(rules: Iterable[Any]) -> RequestLineFilter:
    """Adds the filter to the development server's and gunicorn's request loggers."""
    request_filter = RequestLineFilter(token_prefixes(rules))
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        for existing in list(logger.filters):
            if isinstance(existing, RequestLineFilter):
                logger.removeFilter(existing)
        logger.addFilter(request_filter)
    return request_filter


class JsonLines(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, and the
    exception's class and frames when there is one (never its message). What the
    filters above removed stays removed: the message is formatted after them."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            line["exception"] = describe_exception(record.exc_info[1])
        return json.dumps(line, ensure_ascii=False)


def use_json_lines() -> None:
    """Formats every log line as JSON: the root logger's, gunicorn's (error and
    access) and the development server's. A logger without a handler of its own
    gets one on standard error."""
    formatter = JsonLines()
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
        root.setLevel(logging.INFO)
    for name in (None, "gunicorn.error", "gunicorn.access", "werkzeug"):
        for handler in logging.getLogger(name).handlers:
            handler.setFormatter(formatter)
