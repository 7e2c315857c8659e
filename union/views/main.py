from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from union.access import public
from union.db import db
from union.models import Counter

blueprint = Blueprint("main", __name__)


@blueprint.get("/")
@public
def home() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return render_template("main/dashboard.html")
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
