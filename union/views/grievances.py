"""Grievances: the steward dashboard and case pages, the member's own cases and
the problems they raise online, the organizers' quarterly grievance numbers (and
their CSV), and the stewards' calendar feeds."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from union import clock
from union.adapters import crypto
from union.adapters.documents import (
    TYPES_BY_CONTENT_TYPE,
    DocumentStorage,
    download_name,
)
from union.adapters.ical import AllDayEvent, calendar
from union.adapters.pdf import PrintedDocument, render_pdf
from union.clock import utcnow
from union.db import db
from union.errors import ValidationFailed, flat
from union.forms.base import ActionForm, BaseForm, SelectChoice
from union.forms.grievances import (
    STATE_CLOSED,
    STATE_OPEN,
    CaseSearchForm,
    CloseForm,
    DocumentForm,
    GrievanceDetailsForm,
    GrievantForm,
    MoveForm,
    NoteForm,
    OpenGrievanceForm,
    RaiseProblemForm,
    StepDaysForm,
    StewardChoiceForm,
    WorkplaceChoiceForm,
)
from union.i18n import _
from union.labels import label
from union.models import CalendarFeed, Grievance, GrievanceStep, Role
from union.rules.grievance_steps import next_open_steps, outcomes_allowed, urgency
from union.services import grievance_releases, grievances, members, representatives
from union.services.grievances import NewGrievance
from union.services.reports import presenting
from union.views.helpers import (
    actor,
    csv_download,
    disclosure_rules,
    done,
    enum_value,
    optional_id,
    page_number,
    saved,
)
from union.web import case_files
from union.web.access import public, roles
from union.web.links import public_url

blueprint = Blueprint("grievances", __name__, url_prefix="/grievances")

#: Who follows cases: stewards (their workplaces) and admins (all).
CASE_ROLES = (Role.STEWARD, Role.ADMIN)


def document_storage() -> DocumentStorage:
    storage: DocumentStorage = current_app.extensions["union_documents"]
    return storage


def to_case(public_id: str) -> ResponseReturnValue:
    return redirect(url_for(".detail", public_id=public_id))


@blueprint.get("/")
@roles(*CASE_ROLES)
def index() -> ResponseReturnValue:
    user = actor()
    return render_template(
        "grievances/index.html",
        dashboard=grievances.dashboard(user, today=clock.today(utcnow())),
        is_steward=user.has_role(Role.STEWARD),
    )


@blueprint.get("/cases")
@roles(*CASE_ROLES)
def cases() -> ResponseReturnValue:
    user = actor()
    search = CaseSearchForm(request.args)
    search.workplace.choices = [
        SelectChoice("", _("Any workplace")),
        *[
            SelectChoice(str(w.id), w.name)
            for w in grievances.workable_workplaces(user)
        ],
    ]
    state = request.args.get("state")
    page = grievances.case_list(
        user,
        closed={STATE_OPEN: False, STATE_CLOSED: True}.get(state or ""),
        step=enum_value(GrievanceStep, request.args.get("step")),
        workplace_id=optional_id(search.workplace.data),
        number=search.number.data or "",
        query=search.q.data or "",
        page=page_number(),
        per_page=current_app.config["ROSTER_PAGE_SIZE"],
    )
    return render_template(
        "grievances/cases.html",
        search=search,
        page=page,
        today=clock.today(utcnow()),
        urgency=urgency,
    )


@blueprint.route("/new", methods=["GET", "POST"])
@roles(*CASE_ROLES)
def new() -> ResponseReturnValue:
    user = actor()
    choices = grievances.workable_workplaces(user)
    workplace_id = optional_id(request.args.get("workplace"))
    if workplace_id is None and len(choices) == 1:
        workplace_id = choices[0].id
    if workplace_id is None:
        chooser = WorkplaceChoiceForm(request.args)
        chooser.offer(choices)
        return render_template("grievances/choose_workplace.html", form=chooser)
    workplace = grievances.workplace_for(user, workplace_id)
    form = OpenGrievanceForm()
    form.offer(
        grievances.candidate_grievants(workplace.id),
        grievances.covering_stewards(workplace.id),
        default_steward=user if user.has_role(Role.STEWARD) else None,
    )
    opened: list[Grievance] = []
    if form.validate_on_submit() and saved(
        form,
        lambda: opened.append(
            grievances.open_grievance(
                NewGrievance(
                    workplace_id=workplace.id,
                    details=form.details(),
                    grievant_ids=form.grievant_ids(),
                    steward_id=optional_id(form.steward.data),
                ),
                actor=user,
                now=utcnow(),
            )
        ),
    ):
        flash(_("Case %(number)s is open.", number=opened[0].number), "success")
        return to_case(opened[0].public_id)
    status = 400 if form.errors else 200
    return render_template(
        "grievances/new.html",
        form=form,
        workplace=workplace,
        can_choose_workplace=len(choices) > 1,
    ), status


def _case_page(
    public_id: str, *, status: int = 200, **forms: object
) -> ResponseReturnValue:
    """The case page, with any submitted form that needs its errors shown."""
    user = actor()
    now = utcnow()
    grievance = grievances.grievance_for(user, public_id, full=True)
    move_form = MoveForm()
    move_form.offer(next_open_steps(grievance.step))
    page_forms: dict[str, object] = {
        "move_form": move_form,
        "note_form": NoteForm(),
        "document_form": DocumentForm(),
    }
    page_forms.update(forms)
    page = render_template(
        "grievances/detail.html",
        grievance=grievance,
        urgency=urgency(grievance.deadline_on, clock.today(now)),
        can_close=bool(outcomes_allowed(grievance.step)),
        max_megabytes=current_app.config["GRIEVANCE_DOCUMENT_MAX_BYTES"]
        // (1024 * 1024),
        **page_forms,
    )
    # Recorded once the page is built: committing first would expire everything
    # loaded for it and load it all again.
    grievances.record_case_viewed(grievance, actor=user, now=now)
    db.session.commit()
    return page, status


@blueprint.get("/<public_id>")
@roles(*CASE_ROLES)
def detail(public_id: str) -> ResponseReturnValue:
    return _case_page(public_id)


def _case_file(
    public_id: str, *, as_pdf: bool
) -> tuple[Grievance, PrintedDocument, bool]:
    """The case file, audit-logged. Notes go in when asked for (?notes=1) and the
    reader may see them; any other value leaves them out."""
    user = actor()
    now = utcnow()
    grievance = grievances.grievance_for(user, public_id, full=True)
    with_notes = request.args.get("notes") == "1" and grievances.may_read_notes(
        user, grievance
    )
    document = case_files.case_file(
        grievance,
        with_notes=with_notes,
        printed_by=user,
        printed_at=now,
        today=clock.today(now),
        union_name=current_app.config["UNION_NAME"],
    )
    # Recorded once the file is built: committing first would expire everything
    # loaded for it and load it all again.
    grievances.record_case_file(
        grievance, as_pdf=as_pdf, with_notes=with_notes, actor=user, now=now
    )
    db.session.commit()
    return grievance, document, with_notes


@blueprint.get("/<public_id>/case-file")
@roles(*CASE_ROLES)
def case_file(public_id: str) -> ResponseReturnValue:
    """The case file to print from the browser, and the way to the PDF."""
    grievance, document, with_notes = _case_file(public_id, as_pdf=False)
    return render_template(
        "grievances/case_file.html",
        grievance=grievance,
        document=document,
        with_notes=with_notes,
        may_read_notes=grievances.may_read_notes(actor(), grievance),
    )


@blueprint.get("/<public_id>/case-file.pdf")
@roles(*CASE_ROLES)
def case_file_pdf(public_id: str) -> ResponseReturnValue:
    grievance, document, with_notes = _case_file(public_id, as_pdf=True)
    data = render_pdf(document, created_at=utcnow())
    suffix = "-with-notes" if with_notes else ""
    response = send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"case-{grievance.number}{suffix}.pdf",
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/<public_id>/edit", methods=["GET", "POST"])
@roles(*CASE_ROLES)
def edit(public_id: str) -> ResponseReturnValue:
    user = actor()
    grievance = grievances.grievance_for(user, public_id)
    form = GrievanceDetailsForm(obj=grievance)
    if form.validate_on_submit() and saved(
        form,
        lambda: grievances.update_details(
            grievance, form.details(), actor=user, now=utcnow()
        ),
    ):
        flash(_("Saved."), "success")
        return to_case(public_id)
    return render_template("grievances/edit.html", form=form, grievance=grievance)


@blueprint.post("/<public_id>/move")
@roles(*CASE_ROLES)
def move(public_id: str) -> ResponseReturnValue:
    user = actor()
    grievance = grievances.grievance_for(user, public_id)
    form = MoveForm()
    wanted = enum_value(GrievanceStep, form.step.data)
    if not form.validate_on_submit() or wanted is None:
        messages = flat(form.errors)
        flash(" ".join(str(m) for m in messages) or _("Choose the next step."), "error")
        return to_case(public_id)
    done(
        lambda: grievances.move_grievance(
            grievance,
            wanted,
            deadline_on=form.deadline_on.data,
            actor=user,
            now=utcnow(),
        ),
        success=_("Moved to %(step)s.", step=label(wanted)),
    )
    return to_case(public_id)


@blueprint.route("/<public_id>/close", methods=["GET", "POST"])
@roles(*CASE_ROLES)
def close(public_id: str) -> ResponseReturnValue:
    user = actor()
    grievance = grievances.grievance_for(user, public_id)
    if not grievance.is_open:
        flash(_("This case is already closed."), "error")
        return to_case(public_id)
    form = CloseForm()
    form.offer(outcomes_allowed(grievance.step))
    if form.validate_on_submit():
        try:
            closing = form.closing()
            grievances.close_grievance(grievance, closing, actor=user, now=utcnow())
        except ValidationFailed as error:
            db.session.rollback()
            form.apply_errors(error)
        else:
            db.session.commit()
            flash(_("The case is closed."), "success")
            return to_case(public_id)
    status = 400 if form.errors else 200
    return render_template(
        "grievances/close.html", form=form, grievance=grievance
    ), status


@blueprint.post("/<public_id>/notes")
@roles(*CASE_ROLES)
def add_note(public_id: str) -> ResponseReturnValue:
    user = actor()
    grievance = grievances.grievance_for(user, public_id)
    form = NoteForm()
    if form.validate_on_submit() and saved(
        form,
        lambda: grievances.add_note(
            grievance, form.body.data or "", actor=user, now=utcnow()
        ),
    ):
        flash(_("Note added."), "success")
        return to_case(public_id)
    return _case_page(public_id, status=400, note_form=form)


@blueprint.post("/<public_id>/documents")
@roles(*CASE_ROLES)
def add_document(public_id: str) -> ResponseReturnValue:
    user = actor()
    grievance = grievances.grievance_for(user, public_id)
    form = DocumentForm()
    limit = current_app.config["GRIEVANCE_DOCUMENT_MAX_BYTES"]
    if form.validate_on_submit():
        upload = form.file.data
        # Reading one byte past the limit is enough to know a file is too big.
        data = upload.stream.read(limit + 1)
        if saved(
            form,
            lambda: grievances.add_document(
                grievance,
                filename=upload.filename or "",
                data=data,
                storage=document_storage(),
                max_bytes=limit,
                actor=user,
                now=utcnow(),
            ),
        ):
            flash(_("Document added."), "success")
            return to_case(public_id)
    return _case_page(public_id, status=400, document_form=form)


@blueprint.get("/<public_id>/documents/<int:document_id>")
@roles(*CASE_ROLES)
def document(public_id: str, document_id: int) -> ResponseReturnValue:
    user = actor()
    grievance = grievances.grievance_for(user, public_id)
    found = grievances.document_for(grievance, document_id)
    data = grievances.read_document(
        found, storage=document_storage(), actor=user, now=utcnow()
    )
    db.session.commit()
    kind = TYPES_BY_CONTENT_TYPE[found.content_type]
    response = send_file(
        io.BytesIO(data),
        mimetype=kind.content_type,
        as_attachment=not kind.inline,
        download_name=download_name(found.filename, kind),
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Even opened directly, the file runs nothing and loads nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/<public_id>/steward")
@roles(*CASE_ROLES)
def reassign(public_id: str) -> ResponseReturnValue:
    return _pick_for_case(
        public_id,
        StewardChoiceForm(),
        "steward",
        grievances.reassign_steward,
        success=_("The case has a new steward."),
        missing=_("Choose a steward."),
    )


def _pick_for_case(
    public_id: str,
    form: BaseForm,
    field: str,
    act: Callable[..., object],
    *,
    success: str,
    missing: str,
) -> ResponseReturnValue:
    """A choice from the case's people page: one person, picked from a list."""
    user = actor()
    grievance = grievances.grievance_for(user, public_id)
    picked = optional_id(form[field].data)
    if form.validate_on_submit() and picked is not None:
        done(lambda: act(grievance, picked, actor=user, now=utcnow()), success=success)
    else:
        flash(missing, "error")
    return to_case(public_id)


@blueprint.get("/<public_id>/people")
@roles(*CASE_ROLES)
def people(public_id: str) -> ResponseReturnValue:
    """Changing the case's steward and naming more grievants: the choices are
    every steward covering the workplace and everyone working there, so they are
    read here rather than on every view of the case."""
    user = actor()
    grievance = grievances.grievance_for(user, public_id)
    steward_form = StewardChoiceForm()
    steward_form.offer(grievances.steward_choices(grievance))
    grievant_form = GrievantForm()
    grievant_form.offer(grievances.grievant_choices(grievance))
    return render_template(
        "grievances/people.html",
        grievance=grievance,
        steward_form=steward_form,
        grievant_form=grievant_form,
    )


@blueprint.post("/<public_id>/grievants")
@roles(*CASE_ROLES)
def add_grievant(public_id: str) -> ResponseReturnValue:
    return _pick_for_case(
        public_id,
        GrievantForm(),
        "member",
        grievances.add_grievant,
        success=_("Grievant added."),
        missing=_("Choose a member."),
    )


@blueprint.route("/deadlines/<int:workplace_id>", methods=["GET", "POST"])
@roles(*CASE_ROLES)
def deadlines(workplace_id: int) -> ResponseReturnValue:
    user = actor()
    workplace = grievances.workplace_for(user, workplace_id)
    form = StepDaysForm(data=grievances.effective_step_days(workplace.id))
    if form.validate_on_submit() and saved(
        form,
        lambda: grievances.set_step_days(
            workplace, form.days(), actor=user, now=utcnow()
        ),
    ):
        flash(_("Saved. New deadlines use these numbers."), "success")
        return redirect(url_for(".deadlines", workplace_id=workplace_id))
    return render_template("grievances/deadlines.html", form=form, workplace=workplace)


@blueprint.get("/mine")
@roles(Role.MEMBER)
def mine() -> ResponseReturnValue:
    return render_template(
        "grievances/mine.html",
        cases=grievances.own_grievances(actor(), today=clock.today(utcnow())),
    )


@blueprint.route("/raise", methods=["GET", "POST"])
@roles(Role.MEMBER)
def raise_problem() -> ResponseReturnValue:
    """A member tells the stewards of their workplace about a problem at work."""
    user = actor()
    now = utcnow()
    member = members.own_member(user)
    places = grievances.own_workplaces(member)
    form = RaiseProblemForm()
    form.offer(places, member.contact_preference)
    raised: list[Grievance] = []
    if form.is_submitted():
        form.validate()  # the date's shape; the CSRF token was checked already
        problem = form.problem()
        # The service's rules are checked too, whatever the form found, so that
        # every message shows at once.
        errors = grievances.problem_errors(
            problem, member=member, today=clock.today(now)
        )
        if errors:
            form.apply_errors(ValidationFailed(errors))
        if not form.errors and saved(
            form,
            lambda: raised.append(
                grievances.raise_problem(problem, actor=user, now=now)
            ),
        ):
            return redirect(url_for(".raised", public_id=raised[0].public_id))
    status = 400 if form.errors else 200
    return render_template(
        "grievances/raise.html",
        form=form,
        stewards=representatives.steward_names(w.id for w in places),
        may_raise_more=grievances.may_raise_more(user, now=now),
        limit=grievances.RAISED_PER_DAY,
    ), status


@blueprint.get("/raised/<public_id>")
@roles(Role.MEMBER)
def raised(public_id: str) -> ResponseReturnValue:
    """The confirmation that a problem reached the union, and where it stands."""
    problem = grievances.raised_problem_for(actor(), public_id)
    return render_template(
        "grievances/raised.html",
        problem=problem,
        stewards=representatives.steward_names([problem.workplace_id]).get(
            problem.workplace_id, ()
        ),
    )


def _release_page(
    *, exported: bool
) -> tuple[grievance_releases.Pulled, presenting.Page]:
    rules = disclosure_rules()
    pulled = grievance_releases.pull(
        actor=actor(), now=utcnow(), rules=rules, exported=exported
    )
    page = presenting.Page(
        title=_("Grievance numbers"),
        scope_name=presenting.quarter_name(pulled.body),
        rules=rules,
    )
    presenting.grievance_tables(pulled.body, page)
    db.session.commit()  # the release, the first time, and the audit row of this pull
    return pulled, page


@blueprint.get("/counts")
@roles(Role.ORGANIZER, Role.ADMIN)
def counts() -> ResponseReturnValue:
    """The grievance release of the latest closed quarter: the same figures as
    the survey reports', never live ones."""
    pulled, page = _release_page(exported=False)
    return render_template(
        "grievances/counts.html",
        page=page,
        release=pulled.release,
        page_number=page_number(),
        per_page=current_app.config["ROSTER_PAGE_SIZE"],
    )


@blueprint.get("/counts.csv")
@roles(Role.ORGANIZER, Role.ADMIN)
def counts_csv() -> ResponseReturnValue:
    """The page's figures, table by table, as they are on the page."""
    pulled, page = _release_page(exported=True)
    rows: list[list[object]] = []
    for table in page.tables:
        rows.extend([[table.title], list(table.columns), *table.raw_rows, []])
    return csv_download(
        list(grievance_releases.csv_of(pulled, rows)),
        f"grievance-numbers-{pulled.release.quarter_start.isoformat()}",
    )


#: Between the form that makes a calendar address and the page that shows it
#: (so that reloading the page sends nothing again), the address waits in the
#: session cookie: encrypted, shown once, and for a few minutes at most.
NEW_FEED_KEY = "new_calendar_feed"
NEW_FEED_SHOWN_SECONDS = 600


def _new_feed_token(feed: CalendarFeed | None) -> str | None:
    """The address just made, once, if it is still the steward's current one."""
    sealed = session.pop(NEW_FEED_KEY, None)
    if not isinstance(sealed, str):
        return None
    try:
        token = crypto.decrypt(sealed, ttl=NEW_FEED_SHOWN_SECONDS)
    except (crypto.InvalidToken, ValueError):
        return None
    return token if grievances.opens_calendar_feed(feed, token) else None


def webcal_url(feed_url: str) -> str:
    """The same address for calendar apps: a phone offers to subscribe to a
    webcal: link in one tap."""
    return "webcal://" + feed_url.partition("://")[2]


@blueprint.get("/calendar")
@roles(Role.STEWARD)
def calendar_settings() -> ResponseReturnValue:
    feed = grievances.calendar_feed_of(actor())
    token = _new_feed_token(feed)
    feed_url = (
        public_url("grievances.calendar_feed", feed_token=token) if token else None
    )
    return render_template(
        "grievances/calendar.html",
        feed=feed,
        feed_url=feed_url,
        webcal_url=webcal_url(feed_url) if feed_url else None,
        action_form=ActionForm(),
    )


@blueprint.post("/calendar/new")
@roles(Role.STEWARD)
def new_calendar_feed() -> ResponseReturnValue:
    if ActionForm().validate_on_submit():
        token = grievances.create_calendar_feed(actor=actor(), now=utcnow())
        db.session.commit()
        # Only the token's hash is kept: this is the one time it can be shown.
        session[NEW_FEED_KEY] = crypto.encrypt(token)
    return redirect(url_for(".calendar_settings"), code=303)


@blueprint.post("/calendar/revoke")
@roles(Role.STEWARD)
def revoke_calendar_feed() -> ResponseReturnValue:
    user = actor()
    if ActionForm().validate_on_submit():
        session.pop(NEW_FEED_KEY, None)
        done(
            lambda: grievances.revoke_calendar_feed(actor=user, now=utcnow()),
            success=_("The calendar address no longer works."),
        )
    return redirect(url_for(".calendar_settings"), code=303)


#: Calendar apps show this before the deadline day begins: 9:00 the day before.
ALARM_BEFORE = timedelta(hours=15)


@blueprint.get("/calendar/<feed_token>.ics")
@public
def calendar_feed(feed_token: str) -> ResponseReturnValue:
    now = utcnow()
    entries = grievances.calendar_entries(feed_token, now=now)
    db.session.commit()
    events = [
        AllDayEvent(
            uid=f"{entry.public_id}-{entry.step.value}@union",
            day=entry.deadline_on,
            summary=_(
                "Grievance %(number)s: %(step)s deadline",
                number=entry.number,
                step=label(entry.step),
            ),
            url=public_url("grievances.detail", public_id=entry.public_id),
            alarm_before=ALARM_BEFORE,
        )
        for entry in entries
    ]
    body = calendar(
        name=_("Grievance deadlines"),
        events=events,
        now=now,
        product=current_app.config["UNION_NAME"],
    )
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": 'inline; filename="grievance-deadlines.ics"',
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )
