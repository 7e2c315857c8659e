from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from union.access import public
from union.db import db

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
