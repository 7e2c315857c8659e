from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from union import deploy_check
from union.clock import utcnow
from union.db import db
from union.errors import ValidationFailed
from union.forms.accounts import LanguageForm
from union.i18n import LANGUAGE_COOKIE
from union.models import Counter
from union.services import accounts, glance
from union.views.helpers import actor
from union.web import metrics as app_metrics
from union.web.access import public
from union.web.auth import safe_next_url

blueprint = Blueprint("main", __name__)


@blueprint.get("/")
@public
def home() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return render_template(
            "main/dashboard.html", glance=glance.at_a_glance(actor(), now=utcnow())
        )
    return render_template("main/welcome.html")


@blueprint.get("/healthz")
@public
def healthz() -> ResponseReturnValue:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return {"status": "database unavailable"}, 503
    return {"status": "ok"}


@blueprint.get("/metrics")
@public
def metrics() -> ResponseReturnValue:
    """For Prometheus, with the bearer token in METRICS_TOKEN; no such page
    otherwise, and none for a wrong token."""
    if not app_metrics.allowed(request.headers.get("Authorization")):
        abort(404)
    body, content_type = app_metrics.exposition()
    db.session.rollback()
    return Response(
        body, content_type=content_type, headers={"Cache-Control": "no-store"}
    )


@blueprint.get("/readyz")
@public
def readyz() -> ResponseReturnValue:
    """For a load balancer or a deploy script: ready when the database answers and
    is migrated to the schema this code expects. What is wrong is for the
    operator's `union check-deploy`, never for the public."""
    migrations = Path(current_app.extensions["migrate"].directory)
    try:
        ready = deploy_check.database_revisions(
            db.session.connection()
        ) == deploy_check.head_revisions(migrations)
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        ready = False
    if not ready:
        return {"status": "not ready"}, 503
    return {"status": "ready"}


@blueprint.post("/language")
@public
def choose_language() -> ResponseReturnValue:
    """Switches the language; remembered on the account, and in this browser for
    people who are not signed in."""
    form = LanguageForm()
    response = redirect(safe_next_url(form.next.data, url_for(".home")))
    if not form.validate_on_submit():
        return response
    language = form.language.data or ""
    try:
        if current_user.is_authenticated:
            accounts.set_language(
                actor(), language, languages=current_app.config["LANGUAGES"]
            )
        elif language not in current_app.config["LANGUAGES"]:
            return response
    except ValidationFailed:
        db.session.rollback()
        return response
    db.session.commit()
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=int(timedelta(days=365).total_seconds()),
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


@blueprint.get("/floor")
@public
def floor() -> ResponseReturnValue:
    """The benchmark's baseline: the full stack (session, access rule, base layout)
    with one trivial query, so page timings can be given as multiples of it. It
    reveals nothing, and answers 404 unless BENCHMARK_FLOOR is set."""
    if not current_app.config["BENCHMARK_FLOOR"]:
        abort(404)
    counters = db.session.scalar(sa.select(sa.func.count()).select_from(Counter))
    return render_template("main/floor.html", counters=counters)
