"""Error pages that say what happened in plain words and reveal nothing internal."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from union.db import db
from union.errors import NotFound, PermissionDenied
from union.i18n import _l

log = logging.getLogger(__name__)

PAGES = {
    400: (
        _l("Something in the request was wrong"),
        _l("Go back, check what you entered and try again."),
    ),
    403: (
        _l("You can't open this page"),
        _l(
            "Your account does not have access to it. If you think it should, ask an admin."
        ),
    ),
    404: (
        _l("Page not found"),
        _l("The page may have moved, or you may not have access to it."),
    ),
    405: (_l("That didn't work"), _l("Go back and use the buttons on the page.")),
    413: (_l("That file is too big"), _l("Choose a smaller file and try again.")),
    429: (_l("Too many tries"), _l("Wait a few minutes, then try again.")),
    500: (
        _l("Something went wrong on our side"),
        _l("Nothing you did caused this. Try again in a few minutes."),
    ),
    503: (
        _l("The service is down for a moment"),
        _l("Try again in a few minutes. Nothing you saved is lost."),
    ),
}


def error_page(code: int, message: object | None = None) -> ResponseReturnValue:
    title, default_message = PAGES.get(code, PAGES[500])
    return (
        render_template(
            "errors/error.html",
            code=code,
            title=title,
            message=message or default_message,
        ),
        code,
    )


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        if error.code is None or error.code < 400:
            return error
        return error_page(error.code)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        return error_page(
            400,
            _l(
                "This form was open too long or came from somewhere else. "
                "Go back, reload the page and send it again."
            ),
        )

    @app.errorhandler(NotFound)
    def not_found(error: NotFound) -> ResponseReturnValue:
        return error_page(404)

    @app.errorhandler(PermissionDenied)
    def forbidden(error: PermissionDenied) -> ResponseReturnValue:
        return error_page(403)

    @app.errorhandler(Exception)
    def internal_error(error: Exception) -> ResponseReturnValue:
        db.session.rollback()
        log.exception("unhandled error: %s", type(error).__name__)
        return error_page(500)
