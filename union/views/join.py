"""Joining the union online."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from union import clock
from union.adapters.throttle import REQUEST_LIMITS, Throttle
from union.clock import utcnow
from union.db import db
from union.errors import ValidationFailed
from union.forms.members import JoinForm
from union.i18n import _, current_language
from union.services import dues, jobs, members, workplaces
from union.services.members import JoinKind
from union.web.access import public
from union.web.notifications import send_already_registered, send_join_link

JOIN_JOB = "join"

blueprint = Blueprint("join", __name__)


@blueprint.route("/join", methods=["GET", "POST"])
@public
def join() -> ResponseReturnValue:
    if current_user.is_authenticated and current_user.member is not None:
        return redirect(url_for("members.profile"))
    now = utcnow()
    form = JoinForm()
    form.offer(
        workplaces.joinable_workplaces(),
        workplaces.classifications(),
        dues.offered_levels(clock.today(now)),
    )
    if form.validate_on_submit():
        throttle: Throttle = current_app.extensions["union_throttle"]
        keys = {"join-address": request.remote_addr or ""}
        wait = throttle.wait_seconds(keys, REQUEST_LIMITS)
        if wait:
            form.form_errors.append(
                _(
                    "Too many people have joined from this connection just now. Try again later."
                )
            )
            return (
                render_template("join/form.html", form=form),
                429,
                {"Retry-After": str(wait)},
            )
        throttle.record(keys, REQUEST_LIMITS)
        application = form.application(current_language())
        try:
            members.check_application(application, now=now)
        except ValidationFailed as error:
            db.session.rollback()
            form.apply_errors(error)
        else:
            # The same answer, at the same moment, whether or not the email has an
            # account: the application is recorded as it came, in one short
            # transaction, and the worker decides what it is (a new member, or an
            # email to an account's owner), which only the email's owner learns.
            # Once this commits, neither a database hiccup nor a restart can lose
            # the application or its email.
            jobs.enqueue(
                JOIN_JOB,
                {
                    "application": members.application_payload(application),
                    "submitted_at": now.isoformat(),
                },
                now=now,
            )
            db.session.commit()
            return redirect(url_for(".sent"))
    elif form.is_submitted():
        # The form checks each field on its own and the service what the answers
        # mean together (a workplace for someone employed, a level on offer):
        # both run, so that every problem shows on the first try.
        try:
            members.check_application(form.application(current_language()), now=now)
        except ValidationFailed as error:
            db.session.rollback()
            form.add_errors_where_none(error)
    return render_template("join/form.html", form=form)


@blueprint.get("/join/sent")
@public
def sent() -> ResponseReturnValue:
    return render_template("join/sent.html")


@jobs.handler(JOIN_JOB)
def _record_application(payload: Mapping[str, Any], now: datetime) -> None:
    """Records an application taken by /join, and writes its email."""
    outcome = members.join(
        members.application_from_payload(payload["application"]),
        now=datetime.fromisoformat(payload["submitted_at"]),
        activation_lifetime=current_app.config["ACTIVATION_TOKEN_LIFETIME"],
    )
    if outcome.kind is JoinKind.NEW and outcome.activation_token:
        send_join_link(outcome.user, outcome.activation_token)
    else:
        send_already_registered(outcome.user, outcome.activation_token)
