"""The working-conditions survey, as members answer it."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from union.clock import utcnow
from union.db import db
from union.errors import InvalidTransition, ValidationFailed
from union.forms.survey import SurveyForm
from union.models import Role
from union.services import members, survey
from union.views.helpers import actor, saved
from union.web.access import roles

blueprint = Blueprint("survey", __name__, url_prefix="/survey")


@blueprint.route("/", methods=["GET", "POST"])
@roles(Role.MEMBER)
def answer() -> ResponseReturnValue:
    member = members.own_member(actor())
    current = survey.current_round()
    if current is None or not survey.may_answer(member):
        return render_template("survey/closed.html", current=current)
    if survey.has_answered(member, current):
        return render_template("survey/thanks.html", current=current, again=True)
    form = SurveyForm()
    form.offer(
        survey.workplaces_for_answering(), survey.classifications_for_answering()
    )
    if form.validate_on_submit():
        try:
            if saved(
                form,
                lambda: survey.answer(member, current, form.answers(), now=utcnow()),
            ):
                return redirect(url_for(".thanks"))
        except InvalidTransition:
            # Answered a moment ago in another tab: the page says so.
            db.session.rollback()
            return redirect(url_for(".answer"))
    elif form.is_submitted():
        # The form refuses what is not a number; the service what is implausible
        # (a 200-hour week). Both run, so that every problem shows at once.
        try:
            survey.check_answers(form.answers())
        except ValidationFailed as error:
            form.add_errors_where_none(error)
    return render_template("survey/form.html", form=form, current=current)


@blueprint.get("/thanks")
@roles(Role.MEMBER)
def thanks() -> ResponseReturnValue:
    return render_template(
        "survey/thanks.html", current=survey.current_round(), again=False
    )
