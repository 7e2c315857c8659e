"""Survey rounds and the anonymized reports, for organizers and admins.

A report is asked for by round, report, level and scope, all in the path; the
catalogue publishes nothing else, so anything outside it (an open round, another
report or level, a filter in the query) answers 400 (OutsideCatalogue, see
views/errors.py) and nothing is computed.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from union import clock
from union.clock import utcnow
from union.db import db
from union.forms.base import ActionForm
from union.forms.survey import RoundForm
from union.i18n import _
from union.models import Role, Sector, SurveyRound
from union.services import reports, survey
from union.services.reports import noisy
from union.services.reports.catalogue import CATALOGUE
from union.services.reports.presenting import LEVEL_NAMES, Page, present, sector_name
from union.views.errors import error_page
from union.views.helpers import (
    Question,
    actor,
    ask_first,
    csv_download,
    disclosure_rules,
    done,
    page_number,
    saved,
)
from union.web.access import roles
from union.web.filters import check_code, number

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
    if _too_few(count, smallest):
        return str(_("fewer than %(count)s", count=smallest))
    return str(number(count or 0))


def _too_few(count: int | None, smallest: int) -> bool:
    """1 to smallest - 1 answers: shown only as "fewer than"."""
    return count is not None and 0 < count < smallest


@blueprint.app_template_filter("members_answered")
def members_answered(count: int | None) -> str:
    """How many answered a closed round, as a sentence: a count of 1 to 4 as
    "Fewer than 5 members answered.", capital and all."""
    smallest = disclosure_rules().min_count
    if _too_few(count, smallest):
        return str(_("Fewer than %(count)s members answered.", count=smallest))
    return str(_("%(count)s members answered.", count=number(count or 0)))


@blueprint.app_template_filter("answer_band")
def answer_band(band: tuple[int, int]) -> str:
    """An open round's number of answers as a band: none, "fewer than 5", or
    "10 to 19"."""
    low, high = band
    if high == 0:
        return str(_("none yet"))
    if low == 1:
        return str(_("fewer than %(count)s", count=high + 1))
    return str(_("%(low)s to %(high)s", low=number(low), high=number(high)))


def _refuse_filters(allowed: set[str] = ALLOWED_QUERY) -> None:
    if set(request.args) - allowed:
        abort(400)


def _index(form: RoundForm) -> str:
    rules = disclosure_rules()
    return render_template(
        "reports/index.html",
        rounds=survey.rounds(now=utcnow(), rules=disclosure_rules()),
        current=survey.current_round(),
        form=form,
        action=ActionForm(),
        budget=noisy.budget_status(clock.today(utcnow()), rules),
    )


@blueprint.get("/")
@roles(*READERS)
def index() -> ResponseReturnValue:
    _refuse_filters()
    page = _index(RoundForm())
    db.session.commit()  # an open round's count, if counted for the first time today
    return page


@blueprint.post("/rounds")
@roles(*READERS)
def open_round() -> ResponseReturnValue:
    form = RoundForm()
    if form.validate_on_submit() and saved(
        form,
        lambda: survey.open_round(form.name.data or "", actor=actor(), now=utcnow()),
    ):
        return redirect(url_for(".index"))
    return _index(form), 400


@blueprint.post("/rounds/<int:round_id>/close")
@roles(*READERS)
def close_round(round_id: int) -> ResponseReturnValue:
    if ActionForm().validate_on_submit():
        survey_round = survey.get_round(round_id)
        asking = ask_first(
            Question(
                title=_("Close %(name)s?", name=survey_round.name),
                consequence=_(
                    "Closing is final: nobody can answer after it, and the reports "
                    "are made once from the answers given so far. Where too few "
                    "have answered, the reports will have little or nothing to "
                    "show, and that cannot be changed later."
                ),
                confirm_label=_("Close the round"),
                back_url=url_for(".index"),
            )
        )
        if asking is not None:
            return asking
        done(
            lambda: survey.close_round(
                survey_round, actor=actor(), now=utcnow(), rules=disclosure_rules()
            ),
            success=_("The round is closed and its reports are ready."),
        )
    return redirect(url_for(".index"))


@blueprint.get("/rounds/<int:round_id>/")
@roles(*READERS)
def catalogue(round_id: int) -> ResponseReturnValue:
    _refuse_filters()
    survey_round = reports.closed_round(round_id)
    return render_template(
        "reports/catalogue.html",
        survey_round=survey_round,
        catalogue=CATALOGUE,
        level_names=LEVEL_NAMES,
        sectors=[(s.value, sector_name(s.value)) for s in Sector],
        workplaces=reports.workplaces_with_reports(survey_round),
    )


def _pulled_page(
    round_id: int, report: str, level: str, scope: str, *, exported: bool
) -> tuple[SurveyRound, reports.Pulled, Page]:
    """The artifact, pulled (its audit row flushed, for the caller to commit or,
    when the request turns out to ask for nothing the page has, roll back)."""
    survey_round = reports.closed_round(round_id)
    pulled = reports.pull(
        survey_round,
        report,
        level,
        scope,
        actor=actor(),
        now=utcnow(),
        exported=exported,
    )
    page = present(pulled.body, pulled.report, disclosure_rules())
    return survey_round, pulled, page


def _download_url(
    round_id: int, report: str, level: str, scope: str, table: str | None = None
) -> str:
    """The whole report's CSV, or one table's."""
    values: dict[str, Any] = {"round_id": round_id, "report": report, "level": level}
    if scope:
        values["scope"] = scope
    if table is not None:
        values["table"] = table
    return url_for(".download", **values)


@blueprint.get("/rounds/<int:round_id>/<report>/<level>/", defaults={"scope": ""})
@blueprint.get("/rounds/<int:round_id>/<report>/<level>/<scope>")
@roles(*READERS)
def show(round_id: int, report: str, level: str, scope: str) -> ResponseReturnValue:
    _refuse_filters()
    number = page_number()
    survey_round, pulled, page = _pulled_page(
        round_id, report, level, scope, exported=False
    )
    db.session.commit()  # the audit row of this pull
    return render_template(
        "reports/show.html",
        survey_round=survey_round,
        artifact=pulled.artifact,
        page=page,
        download_url=_download_url(round_id, report, level, scope),
        table_download_urls={
            table.key: _download_url(round_id, report, level, scope, table=table.key)
            for table in page.tables
        },
        page_number=number,
        per_page=ROWS_PER_PAGE,
    )


@blueprint.get("/rounds/<int:round_id>/<report>/<level>/csv", defaults={"scope": ""})
@blueprint.get("/rounds/<int:round_id>/<report>/<level>/<scope>/csv")
@roles(*READERS)
def download(round_id: int, report: str, level: str, scope: str) -> ResponseReturnValue:
    """The whole report in one file (every table stacked under the artifact's id
    and digest), or with `?table=` one of the page's tables on its own."""
    _refuse_filters(allowed={"table"})
    wanted = request.args.get("table")
    _round, pulled, page = _pulled_page(round_id, report, level, scope, exported=True)
    stem = f"report-{round_id}-{report}-{level}{'-' + scope if scope else ''}"
    if wanted is None:
        db.session.commit()  # the audit row of this export
        rows: list[list[object]] = []
        for table in page.tables:
            rows.extend([[table.title], list(table.columns), *table.raw_rows, []])
        lines = reports.csv_of(pulled, [page.title, page.scope_name], rows)
        return csv_download(list(lines), stem)
    chosen = page.table(wanted)
    if chosen is None:
        db.session.rollback()  # nothing was exported
        return error_page(
            400,
            _(
                "This report has no table by that name. Go back to the report and "
                "use the download link under the table you want."
            ),
        )
    db.session.commit()  # the audit row of this export
    # The check code's start in the name: a table passed around on its own can
    # still be traced to the report it came from.
    code = check_code(pulled.artifact.digest)
    return csv_download(
        list(reports.csv_of_table(chosen)), f"{stem}-{chosen.key}-{code}"
    )
