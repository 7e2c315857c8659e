"""Error pages that say what happened in plain words and reveal nothing internal."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, g, render_template, request
from flask.globals import request_ctx
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from union.clock import utcnow
from union.db import db
from union.errors import NotFound, PermissionDenied
from union.extensions import login_manager
from union.i18n import _l
from union.logs import log_exception
from union.services import audit
from union.services.reports import OutsideCatalogue

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


def error_page(
    code: int, message: object | None = None, headers: dict[str, str] | None = None
) -> ResponseReturnValue:
    title, default_message = PAGES.get(code, PAGES[500])
    if request_ctx.url_adapter is None:
        # The request never got as far as routing (a Host that is not ours): the
        # page's links cannot be built, and nothing of the app should be shown.
        return str(title), code, {"Content-Type": "text/plain; charset=utf-8"}
    return (
        render_template(
            "errors/error.html",
            code=code,
            title=title,
            message=message or default_message,
        ),
        code,
        headers or {},
    )


#: How long a browser (or Stripe) is asked to wait when the database is unreachable.
RETRY_AFTER_SECONDS = 30


def database_unavailable(error: sa.exc.DBAPIError) -> bool:
    """Whether a database error means the database cannot be reached or used right
    now (connection refused or cut, server restarting, SQLite busy), as opposed to
    a mistake in the app."""
    return error.connection_invalidated or isinstance(
        error, sa.exc.OperationalError | sa.exc.InterfaceError
    )


def _forget_session_state() -> None:
    """Rolls back whatever the request had started, and shows the page as to someone
    signed out: rendering it must not touch the database again."""
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        db.session.remove()
    g._login_user = login_manager.anonymous_user()


def _audit_refusal(status: int) -> None:
    """Records a signed-in person being refused a page or an object, in a unit of
    work of its own (whatever the request had started is rolled back first)."""
    if not current_user.is_authenticated or request.endpoint is None:
        return
    try:
        db.session.rollback()
        audit.record_access_refused(
            request.endpoint,
            actor=current_user._get_current_object(),
            now=utcnow(),
            status=status,
        )
        db.session.commit()
    except sa.exc.SQLAlchemyError:
        db.session.rollback()


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        if error.code is None or error.code < 400:
            return error
        if error.code == 403:
            _audit_refusal(403)
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
        # A scoped lookup refused (or found nothing): the person may be probing ids.
        _audit_refusal(404)
        return error_page(404)

    @app.errorhandler(OutsideCatalogue)
    def outside_catalogue(error: OutsideCatalogue) -> ResponseReturnValue:
        # Reports publish a fixed catalogue: anything else is a bad request, and
        # nothing is computed for it.
        return error_page(400)

    @app.errorhandler(PermissionDenied)
    def forbidden(error: PermissionDenied) -> ResponseReturnValue:
        _audit_refusal(403)
        return error_page(403)

    @app.errorhandler(sa.exc.DBAPIError)
    def database_error(error: sa.exc.DBAPIError) -> ResponseReturnValue:
        _forget_session_state()
        if not database_unavailable(error):
            log_exception(log, "database error", error)
            return error_page(500)
        # Only the class of the driver's error: its text may quote a value.
        log.warning("database unavailable: %s", type(error.orig).__name__)
        return error_page(503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.errorhandler(Exception)
    def internal_error(error: Exception) -> ResponseReturnValue:
        _forget_session_state()
        log_exception(log, "unhandled error", error)
        return error_page(500)
