"""The working-conditions survey, as members answer it."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from union.access import roles
from union.clock import utcnow
from union.db import db
from union.errors import InvalidTransition, ValidationFailed
from union.forms.survey import SurveyForm
from union.models import EmploymentType, Role, YesNoUnsure
from union.services import members, survey
from union.views.helpers import actor, optional_id

blueprint = Blueprint("survey", __name__, url_prefix="/survey")


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def answers_from(form: SurveyForm) -> survey.Answers:
    raise_answer = _yes_no(form.never_had_raise.data)
    return survey.Answers(
        workplace_id=optional_id(form.workplace_id.data),
        classification_id=optional_id(form.classification_id.data),
        employment_type=EmploymentType(form.employment_type.data)
        if form.employment_type.data
        else None,
        hourly_wage_cents=form.hourly_wage.cents,
        weekly_hours=form.weekly_hours.data,
        health_benefits=_yes_no(form.health_benefits.data),
        dental_benefits=_yes_no(form.dental_benefits.data),
        paid_sick_days=form.paid_sick_days.data,
        vacation_days=form.vacation_days.data,
        months_since_raise=form.months_since_raise.data,
        never_had_raise=None if raise_answer is None else not raise_answer,
        grant_funded=YesNoUnsure(form.grant_funded.data)
        if form.grant_funded.data
        else None,
        relies_on_social_assistance=_yes_no(form.relies_on_social_assistance.data),
        discrimination_lived_experience=_yes_no(
            form.discrimination_lived_experience.data
        ),
    )


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
            survey.answer(member, current, answers_from(form), now=utcnow())
        except ValidationFailed as error:
            db.session.rollback()
            form.apply_errors(error)
        except InvalidTransition:
            db.session.rollback()
            return redirect(url_for(".answer"))
        else:
            db.session.commit()
            return redirect(url_for(".thanks"))
    return render_template("survey/form.html", form=form, current=current)


@blueprint.get("/thanks")
@roles(Role.MEMBER)
def thanks() -> ResponseReturnValue:
    return render_template(
        "survey/thanks.html", current=survey.current_round(), again=False
    )
