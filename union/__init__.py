"""The union membership app: create_app builds it from configuration."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import Flask, Response, current_app, has_request_context, request
from flask_login import current_user
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from union import clock, i18n, logs, money, worker
from union.adapters import crypto
from union.adapters.documents import EncryptedStorage, storage_from_config
from union.adapters.mail import mailer_from_config
from union.adapters.payments import gateway_from_config
from union.adapters.throttle import throttle_from_config
from union.config import ConfigError, build_config
from union.db import INTEGER_MAX, configure_sqlite, db
from union.extensions import babel, csrf, migrate
from union.i18n import LANGUAGE_COOKIE, locale_for
from union.rules import passwords
from union.web import access, auth, member_messages, metrics
from union.web.when_sent import RunsWorkWhenSent

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
    )
    if checking_deployment():
        # `union check-deploy` reads the configuration itself and names every
        # problem; an app built from it would stop at the first kind.
        register_commands(app)
        return app
    app.config.update(build_config(config, Path(app.instance_path)))
    if app.config["UNION_ENV"] == "production" and serving_with_flask_run():
        raise ConfigError(
            "refusing to start in production: `flask run` is the development "
            "server, and `--debugger` turns on a debugger that runs any code it is "
            "sent; serve with gunicorn."
        )
    app.url_map.converters["int"] = DatabaseInteger
    register_extensions(app)
    if app.config["UNION_ENV"] == "production":
        check_document_store(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_templates(app)
    register_security_headers(app)
    register_commands(app)
    app.before_request(refuse_nul_characters)
    access.init_app(app)
    metrics.init_app(app)
    logs.install_request_log_filter(app.url_map.iter_rules())
    if app.config["LOG_FORMAT"] == "json":
        logs.use_json_lines()
    return app


def serving_with_flask_run() -> bool:
    """Whether `flask run` is loading the app (its click command is running)."""
    context = click.get_current_context(silent=True)
    return context is not None and context.info_name == "run"


def checking_deployment() -> bool:
    """Whether the flask command is loading the app to run `union check-deploy`
    (the command line is all there is to tell: click names the subcommand only
    after the app is loaded)."""
    if click.get_current_context(silent=True) is None:
        return False
    arguments = sys.argv[1:]
    return any(
        arguments[index : index + 2] == ["union", "check-deploy"]
        for index in range(len(arguments))
    )


class DatabaseInteger(IntegerConverter):
    """`<int:...>` in URLs, limited to what an integer column holds: a larger number
    is simply no such page, rather than an error from the database."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INTEGER_MAX)
        super().__init__(map, *args, **kwargs)


def refuse_nul_characters() -> None:
    """No text anyone types contains a NUL character, and PostgreSQL cannot store
    one: a request carrying it is refused before any view sees it."""
    values = [request.path]
    sources = [request.args]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    for source in sources:
        for key, value in source.items(multi=True):
            values.extend((key, value))
    if any("\x00" in value for value in values):
        raise BadRequest


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    i18n.install(app)
    auth.init_app(app)
    passwords.configure(app.config["PASSWORD_HASH_PROFILE"])
    crypto.configure(app.config["ENCRYPTION_KEYS"], app.config["LOOKUP_HASH_KEY"])
    clock.configure(app.config["UNION_TIMEZONE"])
    money.configure(app.config["UNION_CURRENCY"])
    app.extensions["union_mailer"] = mailer_from_config(app.config)
    app.extensions["union_payments"] = gateway_from_config(app.config)
    app.extensions["union_throttle"] = throttle_from_config(app.config)
    member_messages.install(app)
    worker.install(app)
    app.wsgi_app = RunsWorkWhenSent(app.wsgi_app)  # type: ignore[method-assign]
    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy the peer is the proxy; the client address, which
        # sign-in throttling counts by, is in X-Forwarded-For.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"], x_proto=1
        )
    app.extensions["union_documents"] = EncryptedStorage(
        storage_from_config(app.config)
    )


def check_document_store(app: Flask) -> None:
    """Refuses to start with an S3 store the app cannot write: every document
    uploaded would fail, and the steward would find out in front of the member."""
    if app.config["DOCUMENT_STORAGE"] != "s3":
        return
    from union.adapters.s3 import S3Storage, StoreUnavailable

    store = app.extensions["union_documents"].inner
    if isinstance(store, S3Storage):
        try:
            store.check_writable()
        except StoreUnavailable as error:
            raise ConfigError(f"refusing to start in production: {error}.") from None


def select_locale() -> str | None:
    """The signed-in person's language, else the one this browser chose, else the
    browser's own preference, else the default; in its Canadian variant."""
    if not has_request_context():
        return None
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if current_user.is_authenticated and current_user.locale in languages:
        chosen = current_user.locale
    elif chosen not in languages:
        chosen = request.accept_languages.best_match(languages)
    return locale_for(chosen) if chosen else None


def register_blueprints(app: Flask) -> None:
    from union.views import (
        admin,
        auth,
        dues,
        grievances,
        join,
        main,
        members,
        messages,
        notifications,
        reports,
        survey,
        treasurer,
        webhooks,
        workplaces,
    )

    for module in (
        main,
        auth,
        join,
        members,
        dues,
        treasurer,
        webhooks,
        workplaces,
        grievances,
        survey,
        reports,
        messages,
        admin,
        notifications,
    ):
        app.register_blueprint(module.blueprint)


def register_error_handlers(app: Flask) -> None:
    from union.views import errors

    errors.register(app)


def register_templates(app: Flask) -> None:
    from union.web import filters

    filters.register(app)


def register_security_headers(app: Flask) -> None:
    production = app.config["UNION_ENV"] == "production"
    form_targets = " ".join(("'self'", *app.config["STRIPE_REDIRECT_ORIGINS"]))
    policy = (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "
        f"base-uri 'none'; frame-ancestors 'none'; form-action {form_targets}"
    )

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if production:
            headers.setdefault(
                "Strict-Transport-Security", "max-age=63072000; includeSubDomains"
            )
        # Every answer but the stylesheet may carry something personal (a name, a
        # form someone filled, a page that says they are signed in), and a shared
        # computer's browser or a proxy must keep none of it.
        if not request.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        return response


def register_commands(app: Flask) -> None:
    from union.cli import union_group

    app.cli.add_command(union_group)
