"""Members' own profiles, and the roster for stewards and admins."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_template,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from union import clock
from union.clock import utcnow
from union.db import db
from union.errors import InvalidTransition, ValidationFailed
from union.forms.admin import ImportForm
from union.forms.base import ActionForm, SelectChoice, choices
from union.forms.members import (
    ROSTER_ORDERS,
    EmploymentForm,
    EndEmploymentForm,
    ProfileForm,
    RosterSearchForm,
    StatusForm,
)
from union.forms.privacy import CorrectionForm, EraseMemberForm, LeaveForm
from union.i18n import _, format_number, ngettext
from union.logs import log_exception
from union.models import MemberStatus, Role
from union.services import (
    accounts,
    dues,
    grievances,
    invitations,
    members,
    privacy,
    representatives,
    roster,
    workplaces,
)
from union.services.card_dues import CardPaymentsUnavailable
from union.views.helpers import (
    Question,
    actor,
    ask_first,
    csv_download,
    done,
    enum_value,
    optional_id,
    page_number,
    payment_gateway,
    saved,
)
from union.web.access import roles
from union.web.auth import fresh_required, sign_out
from union.web.notification_text import choice_names, headline
from union.web.notifications import send_invitation, send_membership_ended

log = logging.getLogger(__name__)

blueprint = Blueprint("members", __name__)

ROSTER_ROLES = (Role.STEWARD, Role.ADMIN)


@blueprint.get("/welcome")
@roles(Role.MEMBER)
def welcome() -> ResponseReturnValue:
    member = members.own_member(actor())
    return render_template("members/welcome.html", member=member)


@blueprint.get("/profile")
@roles(Role.MEMBER)
def profile() -> ResponseReturnValue:
    user = actor()
    member = members.own_member(user)
    return render_template(
        "members/profile.html",
        member=member,
        representatives=representatives.representatives_of(member),
        raised=grievances.raised_problems(user),
    )


@blueprint.route("/profile/edit", methods=["GET", "POST"])
@roles(Role.MEMBER)
def edit_profile() -> ResponseReturnValue:
    user = actor()
    member = members.own_member(user)
    form = ProfileForm(obj=member)
    if form.validate_on_submit() and saved(
        form,
        lambda: members.update_details(
            member, form.details(), actor=user, now=utcnow()
        ),
    ):
        flash(_("Your details are saved."), "success")
        return redirect(url_for(".profile"))
    return render_template("members/edit_profile.html", form=form, member=member)


def _own_data(kind: str) -> dict[str, object]:
    """Everything held about the signed-in member, the reading recorded and
    committed whichever form it takes (`kind`: "page" or "json")."""
    user = actor()
    member = members.own_member(user)
    config = current_app.config
    data = privacy.held_about(
        member,
        now=utcnow(),
        card_payments=payment_gateway() is not None,
        mail_provider=config["MAIL_PROVIDER"],
        host=config["HOSTING_PROVIDER"],
    )
    privacy.record_data_downloaded(member, actor=user, now=utcnow(), kind=kind)
    db.session.commit()
    return data


@blueprint.get("/profile/data")
@roles(Role.MEMBER)
def my_data() -> ResponseReturnValue:
    """Everything held about the member, to read (PIPEDA principle 4.9)."""
    return render_template(
        "members/my_data.html",
        data=_own_data("page"),
        notification_headline=headline,
        notification_choice_names=choice_names,
    )


@blueprint.get("/profile/data.json")
@roles(Role.MEMBER)
def my_data_json() -> ResponseReturnValue:
    """The same, as a JSON file to keep or take elsewhere."""
    response = current_app.json.response(privacy.downloadable(_own_data("json")))
    stamp = clock.today(utcnow()).isoformat()
    response.headers["Content-Disposition"] = (
        f'attachment; filename="my-union-data-{stamp}.json"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/profile/corrections", methods=["GET", "POST"])
@roles(Role.MEMBER)
def corrections() -> ResponseReturnValue:
    user = actor()
    member = members.own_member(user)
    form = CorrectionForm()
    if form.validate_on_submit() and saved(
        form,
        lambda: privacy.request_correction(
            member, form.details.data or "", actor=user, now=utcnow()
        ),
    ):
        flash(_("Your request is in. An admin will answer within 30 days."), "success")
        return redirect(url_for(".corrections"))
    return render_template(
        "members/corrections.html",
        form=form,
        requests=privacy.own_corrections(member),
    )


@blueprint.route("/profile/leave", methods=["GET", "POST"])
@roles(Role.MEMBER)
def leave() -> ResponseReturnValue:
    """Leaving the union: the card subscription stops and personal data is erased."""
    user = actor()
    member = members.own_member(user)
    form = LeaveForm()
    if form.validate_on_submit():
        now = utcnow()
        if not accounts.confirm_password(user, form.password.data or "", now=now):
            form.password.errors = [_("That is not your password.")]
        else:
            address, language = user.email, user.locale
            try:
                privacy.erase_member(
                    member,
                    actor=user,
                    now=now,
                    gateway=payment_gateway(),
                )
            except CardPaymentsUnavailable as error:
                db.session.rollback()
                form.form_errors.append(str(error))
            else:
                sign_out(user, now=now)
                send_membership_ended(address, language=language)
                db.session.commit()
                flash(
                    _("Your membership has ended and your information is erased."),
                    "success",
                )
                return redirect(url_for("main.home"))
    return render_template("members/leave.html", form=form, member=member)


@blueprint.get("/members/")
@roles(*ROSTER_ROLES)
def roster_list() -> ResponseReturnValue:
    user = actor()
    search = RosterSearchForm(request.args)
    search.workplace.choices = [
        SelectChoice("", _("Any workplace")),
        *[SelectChoice(str(w.id), w.name) for w in workplaces.visible_list(user)],
    ]
    sort = members.ROSTER_SORTS.read(request.args.get("sort"))
    search.sort.offer(sort, ROSTER_ORDERS)
    page = members.roster_page(
        user,
        query=search.q.data or "",
        status=enum_value(MemberStatus, request.args.get("status")),
        workplace_id=optional_id(search.workplace.data),
        sort=sort,
        page=page_number(),
        per_page=current_app.config["ROSTER_PAGE_SIZE"],
    )
    return render_template("members/roster.html", search=search, page=page, sort=sort)


@blueprint.get("/members/export.csv")
@roles(Role.ADMIN)
def export() -> ResponseReturnValue:
    lines = roster.export_csv(actor(), now=utcnow())
    db.session.commit()
    return csv_download(lines, f"roster-{clock.today(utcnow()).isoformat()}")


@blueprint.route("/members/import", methods=["GET", "POST"])
@roles(Role.ADMIN)
def import_roster() -> ResponseReturnValue:
    form = ImportForm()
    if form.validate_on_submit():
        try:
            roster_file = roster.read_roster(form.file.data.read())
        except ValidationFailed as error:
            form.apply_errors(error)
        else:
            # A big file takes a while: the page streams progress as rows are
            # checked and written, then the result.
            events = _import_events(
                roster_file, actor().id, check_only=bool(form.check_only.data)
            )
            page = stream_template(
                "members/import_progress.html",
                events=events,
                check_only=form.check_only.data,
                action_form=ActionForm(),
            )
            return Response(
                stream_with_context(page),
                headers={"X-Accel-Buffering": "no", "Cache-Control": "no-store"},
            )
    status = 400 if form.errors else 200
    latest = invitations.latest_import()
    return render_template(
        "members/import.html",
        form=form,
        columns=roster.COLUMNS,
        latest=latest,
        waiting=invitations.invitations(latest) if latest else None,
        action_form=ActionForm(),
        max_megabytes=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
    ), status


def _not_invited(skipped: invitations.Invitations) -> str:
    """Why the others were not invited, in one sentence: "3 not invited: 2
    already use their account, 1 has no email." """
    reasons = [
        text
        for count, text in (
            (
                skipped.already_set_up,
                ngettext(
                    "%(num)d already uses their account",
                    "%(num)d already use their account",
                    skipped.already_set_up,
                ),
            ),
            (
                skipped.already_invited,
                ngettext(
                    "%(num)d was invited before",
                    "%(num)d were invited before",
                    skipped.already_invited,
                ),
            ),
            (
                skipped.no_email,
                ngettext(
                    "%(num)d has no email", "%(num)d have no email", skipped.no_email
                ),
            ),
            (
                skipped.left,
                ngettext(
                    "%(num)d has left the union",
                    "%(num)d have left the union",
                    skipped.left,
                ),
            ),
        )
        if count
    ]
    sentence: str = _(
        "%(count)s not invited: %(reasons)s.",
        count=format_number(skipped.not_invited),
        reasons=", ".join(reasons),
    )
    return sentence


@blueprint.post("/members/imports/<int:import_id>/invite")
@roles(Role.ADMIN)
def invite_imported(import_id: int) -> ResponseReturnValue:
    """Emails everyone a roster file added who has an email and no account yet a
    link to set it up, after a page saying how many will get one and why the
    others will not."""
    imported = invitations.roster_import(import_id)
    back = redirect(url_for(".import_roster"))
    if not ActionForm().validate_on_submit():
        return back
    waiting = invitations.invitations(imported)
    if not waiting.to_invite:
        flash(_("Nobody was invited.") + " " + _not_invited(waiting), "info")
        return back
    lifetime = current_app.config["ACTIVATION_TOKEN_LIFETIME"]
    consequence = ngettext(
        "Each gets an email with a link to choose a password and see their "
        "membership and dues. The link works once, for %(num)d day.",
        "Each gets an email with a link to choose a password and see their "
        "membership and dues. The link works once, for %(num)d days.",
        lifetime.days,
    )
    if waiting.not_invited:
        consequence += " " + _not_invited(waiting)
    asking = ask_first(
        Question(
            title=ngettext(
                "Invite %(num)d imported member by email?",
                "Invite %(num)d imported members by email?",
                waiting.to_invite,
            ),
            consequence=consequence,
            confirm_label=_("Send the invitations"),
            back_url=url_for(".import_roster"),
        )
    )
    if asking is not None:
        return asking
    outcome = invitations.invite_imported_members(
        imported, actor=actor(), now=utcnow(), lifetime=lifetime
    )
    for user, token in outcome.sent:
        send_invitation(user, token, lifetime=lifetime)
    db.session.commit()
    if outcome.sent:
        flash(
            ngettext(
                "%(num)d member invited by email.",
                "%(num)d members invited by email.",
                len(outcome.sent),
            ),
            "success",
        )
    else:
        flash(_("Nobody was invited."), "info")
    if outcome.skipped.not_invited:
        flash(_not_invited(outcome.skipped), "info")
    return back


def _import_events(
    roster_file: roster.RosterFile, actor_id: int, *, check_only: bool
) -> Iterator[roster.Step | roster.ImportResult]:
    """Progress steps, then the result. Only a complete, clean import is committed."""
    try:
        user = accounts.user_by_id(actor_id)
        result = yield from roster.import_steps(
            roster_file, actor=user, now=utcnow(), check_only=check_only
        )
    except Exception as error:
        db.session.rollback()
        log_exception(log, "roster import failed", error)
        yield roster.ImportResult(failed=True)
        return
    if result.ok and not check_only:
        db.session.commit()
    else:
        db.session.rollback()
    yield result


def _detail_forms(
    member_status: MemberStatus, employment_form: EmploymentForm | None = None
) -> dict[str, object]:
    user = actor()
    placeable = members.placeable_workplaces(user)
    employment = employment_form or EmploymentForm()
    employment.offer(placeable, workplaces.classifications())
    status = StatusForm()
    allowed = members.STATUS_MOVES[member_status]
    status.status.choices = [c for c in choices(MemberStatus) if c.value in allowed]
    return {
        "action_form": ActionForm(),
        "status_form": status,
        "employment_form": employment,
        "end_form": EndEmploymentForm(),
        # A job elsewhere is shown, but only a steward of its workplace may end it.
        "endable_at": {workplace.id for workplace in placeable},
        "is_admin": user.has_role(Role.ADMIN),
    }


@blueprint.get("/members/<public_id>")
@roles(*ROSTER_ROLES)
def detail(public_id: str) -> ResponseReturnValue:
    user = actor()
    member = members.member_for(user, public_id)
    members.record_member_viewed(member, actor=user, now=utcnow())
    db.session.commit()
    return render_template(
        "members/detail.html",
        member=member,
        standing=dues.member_standing(member, now=utcnow()),
        **_detail_forms(member.status),
    )


@blueprint.route("/members/<public_id>/edit", methods=["GET", "POST"])
@roles(*ROSTER_ROLES)
def edit(public_id: str) -> ResponseReturnValue:
    user = actor()
    member = members.member_for(user, public_id)
    form = ProfileForm(obj=member)
    if request.method == "GET":
        members.record_member_viewed(member, actor=user, now=utcnow())
        db.session.commit()
    if form.validate_on_submit() and saved(
        form,
        lambda: members.update_details(
            member, form.details(), actor=user, now=utcnow()
        ),
    ):
        flash(_("Saved."), "success")
        return to_detail(public_id)
    return render_template("members/edit.html", form=form, member=member)


@blueprint.post("/members/<public_id>/accept")
@roles(*ROSTER_ROLES)
def accept(public_id: str) -> ResponseReturnValue:
    user = actor()
    member = members.member_for(user, public_id)
    if ActionForm().validate_on_submit():
        done(
            lambda: members.accept_application(member, actor=user, now=utcnow()),
            success=_("%(name)s is now an active member.", name=member.chosen_name),
        )
    return to_detail(public_id)


@blueprint.get("/members/applicants")
@roles(*ROSTER_ROLES)
def applicants() -> ResponseReturnValue:
    page = members.applicants_page(
        actor(),
        page=page_number(),
        per_page=current_app.config["ROSTER_PAGE_SIZE"],
    )
    return render_template(
        "members/applicants.html",
        page=page,
        today=clock.today(utcnow()),
        action_form=ActionForm(),
    )


@blueprint.post("/members/applicants/accept")
@roles(*ROSTER_ROLES)
def accept_applicants() -> ResponseReturnValue:
    """Accepts the applicants ticked on the list, each exactly as accepting them one
    at a time does, after a page that names them."""
    user = actor()
    back = redirect(url_for(".applicants"))
    if not ActionForm().validate_on_submit():
        return back
    chosen = set(request.form.getlist("member"))
    if not chosen:
        flash(_("Tick the people to accept first."), "error")
        return back
    if len(chosen) > members.MOST_ACCEPTED_AT_ONCE:
        flash(
            _(
                "Accept at most %(most)d people at a time.",
                most=members.MOST_ACCEPTED_AT_ONCE,
            ),
            "error",
        )
        return back
    waiting = members.applications_among(user, chosen)
    if not waiting:
        flash(
            _(
                "Nobody was accepted: the people ticked are not waiting to be "
                "accepted, or not at a workplace you cover."
            ),
            "info",
        )
        return back
    asking = ask_first(
        Question(
            title=ngettext(
                "Accept %(num)d applicant?", "Accept %(num)d applicants?", len(waiting)
            ),
            consequence=ngettext(
                "%(num)d person becomes an active member today. The acceptance "
                "is recorded in your name, as when you accept one person at a time.",
                "%(num)d people become active members today. Each acceptance is "
                "recorded in your name, as when you accept one person at a time.",
                len(waiting),
            ),
            confirm_label=ngettext(
                "Accept %(num)d applicant", "Accept %(num)d applicants", len(waiting)
            ),
            back_url=url_for(".applicants"),
            listed=tuple(
                f"{member.chosen_name} (#{member.member_number})" for member in waiting
            ),
        )
    )
    if asking is not None:
        return asking
    now = utcnow()
    accepted = 0
    for member in waiting:
        try:
            members.accept_application(member, actor=user, now=now)
        except InvalidTransition:
            continue  # accepted a moment ago by someone else: nothing changed
        accepted += 1
    db.session.commit()
    if accepted:
        flash(
            ngettext(
                "%(num)d applicant is now an active member.",
                "%(num)d applicants are now active members.",
                accepted,
            ),
            "success",
        )
    left_out = len(chosen) - accepted
    if left_out:
        flash(
            ngettext(
                "%(num)d person ticked was not accepted: they are not waiting to "
                "be accepted, or not at a workplace you cover.",
                "%(num)d people ticked were not accepted: they are not waiting to "
                "be accepted, or not at a workplace you cover.",
                left_out,
            ),
            "info",
        )
    return back


@blueprint.post("/members/<public_id>/decline")
@roles(*ROSTER_ROLES)
def decline(public_id: str) -> ResponseReturnValue:
    user = actor()
    member = members.member_for(user, public_id)
    if not ActionForm().validate_on_submit():
        return to_detail(public_id)
    asking = ask_first(
        Question(
            title=_("Decline %(name)s's application?", name=member.chosen_name),
            consequence=_(
                "The application and everything written in it are removed. "
                "This cannot be undone: they would have to apply again."
            ),
            confirm_label=_("Decline and remove"),
            back_url=url_for(".detail", public_id=public_id),
        )
    )
    if asking is not None:
        return asking
    if done(
        lambda: members.decline_application(member, actor=user, now=utcnow()),
        success=_("The application was declined and removed."),
    ):
        return redirect(url_for(".roster_list"))
    return to_detail(public_id)


@blueprint.post("/members/<public_id>/status")
@roles(*ROSTER_ROLES)
def change_status(public_id: str) -> ResponseReturnValue:
    user = actor()
    member = members.member_for(user, public_id)
    form = StatusForm()
    wanted = enum_value(MemberStatus, form.status.data)
    if form.validate_on_submit() and wanted is not None:
        done(
            lambda: members.change_status(member, wanted, actor=user, now=utcnow()),
            success=_("Status changed."),
        )
    return to_detail(public_id)


@blueprint.post("/members/<public_id>/employments")
@roles(*ROSTER_ROLES)
def add_employment(public_id: str) -> ResponseReturnValue:
    user = actor()
    member = members.member_for(user, public_id)
    form = EmploymentForm()
    forms = _detail_forms(member.status, employment_form=form)
    if form.validate_on_submit() and saved(
        form,
        lambda: members.add_employment(
            member,
            workplace_id=optional_id(form.workplace.data),
            classification_id=optional_id(form.classification.data),
            started_on=form.started_on.data,
            actor=user,
            now=utcnow(),
        ),
    ):
        flash(_("Workplace added."), "success")
        return to_detail(public_id)
    return render_template(
        "members/detail.html",
        member=member,
        standing=dues.member_standing(member, now=utcnow()),
        **forms,
    ), 400


@blueprint.post("/members/<public_id>/employments/<int:employment_id>/end")
@roles(*ROSTER_ROLES)
def end_employment(public_id: str, employment_id: int) -> ResponseReturnValue:
    user = actor()
    member = members.member_for(user, public_id)
    form = EndEmploymentForm()
    ended_on = form.ended_on.data
    if form.validate_on_submit() and ended_on is not None:
        done(
            lambda: members.end_employment(
                member, employment_id, ended_on=ended_on, actor=user, now=utcnow()
            ),
            success=_("Marked as no longer working there."),
        )
    else:
        flash(_("Enter the last day worked, like 2026-03-31."), "error")
    return to_detail(public_id)


@blueprint.route("/members/<public_id>/erase", methods=["GET", "POST"])
@roles(Role.ADMIN)
@fresh_required()
def erase(public_id: str) -> ResponseReturnValue:
    """An admin erasing a member's personal data at their request (for members
    without an account, or who asked in person)."""
    user = actor()
    member = members.member_for(user, public_id)
    form = EraseMemberForm()
    if form.validate_on_submit():
        address = member.email
        language = member.user.locale if member.user else None
        try:
            privacy.erase_member(
                member,
                actor=user,
                now=utcnow(),
                gateway=payment_gateway(),
            )
        except CardPaymentsUnavailable as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            if address:
                send_membership_ended(address, language=language)
            db.session.commit()
            flash(_("The member's personal information is erased."), "success")
            return redirect(url_for(".roster_list"))
    return render_template("members/erase.html", form=form, member=member)


def to_detail(public_id: str) -> ResponseReturnValue:
    return redirect(url_for(".detail", public_id=public_id))
