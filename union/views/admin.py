"""Accounts, roles and settings, for admins."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from union import clock
from union.clock import utcnow
from union.db import db
from union.errors import NotFound
from union.forms.admin import RoleForm, SettingsForm
from union.forms.base import ActionForm
from union.forms.privacy import AuditFilterForm, BreachForm, ResolveCorrectionForm
from union.i18n import _, ngettext
from union.models import Breach, CorrectionStatus, Role
from union.services import accounts, audit, jobs, members, privacy, settings
from union.services.privacy import BreachDetails
from union.views.helpers import (
    actor,
    csv_download,
    done,
    enum_value,
    page_number,
    saved,
)
from union.web import audit_text, handoff
from union.web.access import roles
from union.web.job_kinds import job_kind_label
from union.web.notifications import send_correction_answered

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.get("/users")
@roles(Role.ADMIN)
def users() -> ResponseReturnValue:
    query = request.args.get("q", "")
    page = accounts.accounts_page(
        query, page=page_number(), per_page=current_app.config["ROSTER_PAGE_SIZE"]
    )
    return render_template("admin/users.html", page=page, query=query)


@blueprint.get("/users/<int:user_id>")
@roles(Role.ADMIN)
def user(user_id: int) -> ResponseReturnValue:
    return render_template(
        "admin/user.html",
        user=accounts.user_by_id(user_id),
        role_form=RoleForm(),
        action_form=ActionForm(),
    )


@blueprint.post("/users/<int:user_id>/roles")
@roles(Role.ADMIN)
def grant_role(user_id: int) -> ResponseReturnValue:
    target = accounts.user_by_id(user_id)
    form = RoleForm()
    role = enum_value(Role, form.role.data)
    if form.validate_on_submit() and role is not None:
        done(
            lambda: accounts.grant_role(target, role, actor=actor(), now=utcnow()),
            success=_("Role granted."),
        )
    return redirect(url_for(".user", user_id=user_id))


@blueprint.post("/users/<int:user_id>/roles/<role>/revoke")
@roles(Role.ADMIN)
def revoke_role(user_id: int, role: str) -> ResponseReturnValue:
    target = accounts.user_by_id(user_id)
    wanted = enum_value(Role, role)
    if wanted is None or not ActionForm().validate_on_submit():
        return redirect(url_for(".user", user_id=user_id))
    done(
        lambda: accounts.revoke_role(target, wanted, actor=actor(), now=utcnow()),
        success=_("Role removed. It stopped working at once."),
    )
    return redirect(url_for(".user", user_id=user_id))


@blueprint.post("/users/<int:user_id>/disable")
@roles(Role.ADMIN)
def disable(user_id: int) -> ResponseReturnValue:
    return _set_disabled(user_id, disabled=True)


@blueprint.post("/users/<int:user_id>/enable")
@roles(Role.ADMIN)
def enable(user_id: int) -> ResponseReturnValue:
    return _set_disabled(user_id, disabled=False)


def _set_disabled(user_id: int, *, disabled: bool) -> ResponseReturnValue:
    target = accounts.user_by_id(user_id)
    if ActionForm().validate_on_submit():
        done(
            lambda: accounts.set_disabled(
                target, disabled, actor=actor(), now=utcnow()
            ),
            success=_("Account disabled and signed out everywhere.")
            if disabled
            else _("Account enabled."),
        )
    return redirect(url_for(".user", user_id=user_id))


@blueprint.route("/settings", methods=["GET", "POST"])
@roles(Role.ADMIN)
def union_settings() -> ResponseReturnValue:
    current = settings.current_settings()
    form = SettingsForm(obj=current)
    if form.validate_on_submit() and saved(
        form,
        lambda: settings.update_settings(
            {"auto_accept_applicants": bool(form.auto_accept_applicants.data)},
            actor=actor(),
            now=utcnow(),
        ),
    ):
        flash(_("Settings saved."), "success")
        return redirect(url_for(".union_settings"))
    return render_template("admin/settings.html", form=form)


# The audit log ---------------------------------------------------------------------


def _audit_filter(form: AuditFilterForm) -> audit.AuditFilter:
    """The filters that validated; a malformed one is ignored (and named on the
    form, or above it for the filters a link sets)."""
    # Choices under None stand outside any group; WTForms' stubs lack that key.
    form.action.choices = audit_text.action_choices()  # type: ignore[assignment]
    form.validate()

    def valid(name: str) -> bool:
        return not form[name].errors

    # Half of what a line is about would match lines about something else.
    subject_valid = valid("subject_type") and valid("subject_id")
    about = None
    if valid("member") and form.member.data is not None:
        about = members.member_by_number(actor(), form.member.data)
        if about is None:
            form.member.errors = [
                _("No member has number %(number)d.", number=form.member.data)
            ]
    return audit.AuditFilter(
        action=(form.action.data or "") if valid("action") else "",
        actor_id=form.actor.data if valid("actor") else None,
        subject_type=(form.subject_type.data or "") if subject_valid else "",
        subject_id=(form.subject_id.data or "") if subject_valid else "",
        member_id=about.id if about is not None else None,
        member_user_id=about.user_id if about is not None else None,
        from_day=form.from_day.data if valid("from_day") else None,
        to_day=form.to_day.data if valid("to_day") else None,
    )


@blueprint.get("/audit")
@roles(Role.ADMIN)
def audit_log() -> ResponseReturnValue:
    form = AuditFilterForm(request.args)
    filters = _audit_filter(form)
    page = audit.audit_page(
        filters,
        page=page_number(),
        per_page=current_app.config["ROSTER_PAGE_SIZE"],
    )
    subject = (filters.subject_type, filters.subject_id)
    names = audit.audit_names(
        page.items,
        user_ids=[filters.actor_id],
        subjects=[subject] if all(subject) else [],
    )
    return render_template(
        "admin/audit.html", form=form, filters=filters, page=page, names=names
    )


@blueprint.get("/audit.csv")
@roles(Role.ADMIN)
def audit_export() -> ResponseReturnValue:
    form = AuditFilterForm(request.args)
    lines = audit.audit_csv(_audit_filter(form), actor=actor(), now=utcnow())
    db.session.commit()
    return csv_download(lines, f"audit-{clock.today(utcnow()).isoformat()}")


# Correction requests ---------------------------------------------------------------


@blueprint.get("/jobs")
@roles(Role.ADMIN)
def background_work() -> ResponseReturnValue:
    """What the worker has still to do, and what it gave up on: each parked job
    by its kind and error class only, never what it was about."""
    return render_template(
        "admin/jobs.html",
        backlog=jobs.backlog(),
        parked=jobs.parked(),
        kind_label=job_kind_label,
        retry_form=ActionForm(),
        now=utcnow(),
    )


@blueprint.post("/jobs/retry")
@roles(Role.ADMIN)
def retry_jobs() -> ResponseReturnValue:
    form = ActionForm()
    chosen = [int(value) for value in request.form.getlist("job") if value.isdigit()]
    if form.validate_on_submit():
        try:
            retried = jobs.retry(actor(), chosen, now=utcnow())
        except NotFound:
            db.session.rollback()
            flash(_("Those jobs are no longer parked."), "info")
        else:
            handoff.commit()
            flash(
                ngettext(
                    "%(num)d job is back in line.",
                    "%(num)d jobs are back in line.",
                    retried,
                ),
                "success",
            )
    return redirect(url_for(".background_work"))


@blueprint.get("/corrections")
@roles(Role.ADMIN)
def corrections() -> ResponseReturnValue:
    show_all = request.args.get("all") == "1"
    page = privacy.corrections_page(
        open_only=not show_all, page=page_number(), per_page=50
    )
    return render_template(
        "admin/corrections.html",
        page=page,
        show_all=show_all,
        due_on=privacy.answer_due_on,
        today=clock.today(utcnow()),
    )


@blueprint.route("/corrections/<int:request_id>", methods=["GET", "POST"])
@roles(Role.ADMIN)
def correction(request_id: int) -> ResponseReturnValue:
    correction = privacy.correction_by_id(request_id)
    form = ResolveCorrectionForm()
    status = enum_value(CorrectionStatus, form.status.data)
    if (
        correction.status is CorrectionStatus.OPEN
        and form.validate_on_submit()
        and status is not None
        and saved(
            form,
            lambda: privacy.resolve_correction(
                correction,
                status,
                form.response.data or "",
                actor=actor(),
                now=utcnow(),
            ),
        )
    ):
        user = correction.member.user
        if user is not None:
            send_correction_answered(user)
            db.session.commit()
        flash(_("Answered. The member can see your answer."), "success")
        return redirect(url_for(".corrections"))
    return render_template(
        "admin/correction.html",
        correction=correction,
        form=form,
        due_on=privacy.answer_due_on(correction),
    )


# The breach register ----------------------------------------------------------------


def _breach_details(form: BreachForm) -> BreachDetails:
    return BreachDetails(
        # Required by the form, so the fallback is never used.
        discovered_on=form.discovered_on.data or clock.today(utcnow()),
        occurred_on=form.occurred_on.data,
        description=form.description.data or "",
        data_affected=form.data_affected.data or "",
        people_affected=int(form.people_affected.data or 0),
        real_risk_of_significant_harm=bool(form.real_risk_of_significant_harm.data),
        individuals_notified_on=form.individuals_notified_on.data,
        commissioner_reported_on=form.commissioner_reported_on.data,
        measures=form.measures.data or "",
    )


@blueprint.get("/breaches")
@roles(Role.ADMIN)
def breaches() -> ResponseReturnValue:
    return render_template("admin/breaches.html", breaches=privacy.breaches())


@blueprint.route("/breaches/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def new_breach() -> ResponseReturnValue:
    form = BreachForm()
    if request.method == "GET":
        form.discovered_on.data = clock.today(utcnow())
    if form.validate_on_submit() and saved(
        form,
        lambda: privacy.record_breach(
            _breach_details(form), actor=actor(), now=utcnow()
        ),
    ):
        flash(_("Breach recorded."), "success")
        return redirect(url_for(".breaches"))
    return render_template("admin/breach_form.html", form=form, breach=None)


@blueprint.route("/breaches/<int:breach_id>", methods=["GET", "POST"])
@roles(Role.ADMIN)
def breach(breach_id: int) -> ResponseReturnValue:
    found: Breach = privacy.breach_by_id(breach_id)
    form = BreachForm(obj=found)
    if form.validate_on_submit() and saved(
        form,
        lambda: privacy.update_breach(
            found, _breach_details(form), actor=actor(), now=utcnow()
        ),
    ):
        flash(_("Saved."), "success")
        return redirect(url_for(".breaches"))
    return render_template("admin/breach_form.html", form=form, breach=found)
