"""Work that runs once the response has gone, and the WSGI wrapper that makes sure
it does.

A response's close callbacks are how work is kept out of the time a page takes to
answer (union.worker hands jobs to the queue there). Werkzeug's
development server, which `make run` and the browser journeys use, calls close only
if draining the socket afterwards raises nothing; when Chromium resets the
connection right after reading a redirect, the drain raises and the queued work was
silently dropped (the sweep would still find it, a minute later).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from flask import Response, request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: Set in a request's WSGI environ when its response carries work to run once sent.
_QUEUED = "union.work_when_sent"


def when_sent(response: Response, work: Callable[[], Any]) -> None:
    """Runs `work` once `response` has been handed to the server."""
    response.call_on_close(work)
    request.environ[_QUEUED] = True


class RunsWorkWhenSent:
    """Closes a response that queued work as soon as its whole body has been handed
    to the server, whatever the server then does with the connection. A server that
    closes it again finds nothing left to run; responses without queued work (such
    as static files sent with the server's file wrapper) pass through untouched."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        body = self.app(environ, start_response)
        if not environ.get(_QUEUED):
            return body
        return _closed_once_sent(body)


def _closed_once_sent(body: Iterable[bytes]) -> Iterator[bytes]:
    # A plain loop, not `yield from`: closing a generator suspended in `yield
    # from` closes the inner body too, and the finally below would close it again
    # (its work would run twice).
    try:
        for chunk in body:  # noqa: UP028 -- see above
            yield chunk
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
