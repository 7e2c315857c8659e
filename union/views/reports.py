"""Survey rounds and the anonymized reports, for organizers and admins.

A report is asked for by round, report, level and scope, all in the path; the
catalogue publishes nothing else, so anything outside it (an open round, another
report or level, a filter in the query) answers 400 and nothing is computed.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from union.clock import utcnow
from union.db import db
from union.forms.base import ActionForm
from union.forms.survey import RoundForm
from union.i18n import _
from union.models import Role, Sector, SurveyRound
from union.services import reports, survey
from union.services.reports import OutsideCatalogue
from union.services.reports.building import LEVELS, REPORTS
from union.views.helpers import actor, disclosure_rules, done, page_number, saved
from union.views.report_tables import LEVEL_NAMES, REPORT_TITLES, present, sector_name
from union.web.access import roles
from union.web.filters import number

blueprint = Blueprint("reports", __name__, url_prefix="/reports")

READERS = (Role.ORGANIZER, Role.ADMIN)
#: The only query parameter a report page reads: which page of a long table.
ALLOWED_QUERY = {"page"}
ROWS_PER_PAGE = 50


@blueprint.app_template_filter("protected_count")
def protected_count(count: int | None) -> str:
    """A round's number of answers as the reports show counts: 1 to 4 as "fewer
    than 5"."""
    smallest = disclosure_rules().min_count
    if count is not None and 0 < count < smallest:
        return str(_("fewer than %(count)s", count=smallest))
    return str(number(count or 0))


def _refuse_filters() -> None:
    if set(request.args) - ALLOWED_QUERY:
        abort(400)


@blueprint.get("/")
@roles(*READERS)
def index() -> ResponseReturnValue:
    _refuse_filters()
    return render_template(
        "reports/index.html",
        rounds=survey.rounds(),
        current=survey.current_round(),
        form=RoundForm(),
        action=ActionForm(),
    )


@blueprint.post("/rounds")
@roles(*READERS)
def open_round() -> ResponseReturnValue:
    form = RoundForm()
    if form.validate_on_submit() and saved(
        form,
        lambda: survey.open_round(form.name.data or "", actor=actor(), now=utcnow()),
    ):
        return redirect(url_for(".index"))
    return render_template(
        "reports/index.html",
        rounds=survey.rounds(),
        current=survey.current_round(),
        form=form,
        action=ActionForm(),
    ), 400


@blueprint.post("/rounds/<int:round_id>/close")
@roles(*READERS)
def close_round(round_id: int) -> ResponseReturnValue:
    if ActionForm().validate_on_submit():
        survey_round = survey.get_round(round_id)
        done(
            lambda: survey.close_round(
                survey_round, actor=actor(), now=utcnow(), rules=disclosure_rules()
            ),
            success=_("The round is closed and its reports are ready."),
        )
    return redirect(url_for(".index"))


def _closed(round_id: int) -> SurveyRound:
    try:
        return reports.closed_round(round_id)
    except OutsideCatalogue:
        abort(400)


@blueprint.get("/rounds/<int:round_id>/")
@roles(*READERS)
def catalogue(round_id: int) -> ResponseReturnValue:
    _refuse_filters()
    survey_round = _closed(round_id)
    return render_template(
        "reports/catalogue.html",
        survey_round=survey_round,
        reports=REPORTS,
        titles=REPORT_TITLES,
        levels=LEVELS,
        level_names=LEVEL_NAMES,
        sectors=[(s.value, sector_name(s.value)) for s in Sector],
        workplaces=reports.workplaces_with_reports(survey_round),
    )


@blueprint.get("/rounds/<int:round_id>/<report>/<level>/", defaults={"scope": ""})
@blueprint.get("/rounds/<int:round_id>/<report>/<level>/<scope>")
@roles(*READERS)
def show(round_id: int, report: str, level: str, scope: str) -> ResponseReturnValue:
    _refuse_filters()
    survey_round = _closed(round_id)
    try:
        pulled = reports.pull(
            survey_round, report, level, scope, actor=actor(), now=utcnow()
        )
    except OutsideCatalogue:
        abort(400)
    page = present(pulled.body)
    number = page_number()
    db.session.commit()  # the audit row of this pull
    return render_template(
        "reports/show.html",
        survey_round=survey_round,
        artifact=pulled.artifact,
        page=page,
        report=report,
        level=level,
        scope=scope,
        page_number=number,
        per_page=ROWS_PER_PAGE,
    )


@blueprint.get("/rounds/<int:round_id>/<report>/<level>/csv", defaults={"scope": ""})
@blueprint.get("/rounds/<int:round_id>/<report>/<level>/<scope>/csv")
@roles(*READERS)
def download(round_id: int, report: str, level: str, scope: str) -> ResponseReturnValue:
    if request.args:
        abort(400)
    survey_round = _closed(round_id)
    try:
        pulled = reports.pull(
            survey_round,
            report,
            level,
            scope,
            actor=actor(),
            now=utcnow(),
            exported=True,
        )
    except OutsideCatalogue:
        abort(400)
    page = present(pulled.body)
    rows: list[list[object]] = []
    for table in page.tables:
        rows.append([table.title])
        rows.append(list(table.columns))
        rows.extend(table.raw_rows)
        rows.append([])
    lines = list(reports.csv_of(pulled, [page.title, page.scope_name], rows))
    db.session.commit()
    filename = f"report-{round_id}-{report}-{level}{'-' + scope if scope else ''}.csv"
    return Response(
        "".join(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
