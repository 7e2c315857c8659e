"""What is new for the signed-in person, their email choices, and the call list."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from union.clock import utcnow
from union.db import db
from union.forms.base import ActionForm
from union.forms.notifications import EmailChoicesForm, ToldForm
from union.i18n import _
from union.models import Role
from union.services import call_list, notifications_feed
from union.views.helpers import actor, page_number
from union.web.access import roles, signed_in
from union.web.notification_text import CHOICES, headline, page_url

blueprint = Blueprint("notifications", __name__)


@blueprint.get("/notifications")
@signed_in
def index() -> ResponseReturnValue:
    user = actor()
    page = notifications_feed.page_for(user, page=page_number())
    return render_template(
        "notifications/index.html",
        page=page,
        lines=[
            (
                row,
                headline(row.kind, notifications_feed.params_of(row)),
                page_url(row.kind),
            )
            for row in page.items
        ],
        action_form=ActionForm(),
        unread=notifications_feed.unread_count(user),
        in_person=notifications_feed.reached_in_person(user),
    )


@blueprint.post("/notifications/read")
@signed_in
def mark_all_read() -> ResponseReturnValue:
    form = ActionForm()
    if form.validate_on_submit():
        notifications_feed.mark_all_read(actor(), now=utcnow())
        db.session.commit()
        flash(_("Everything is marked as read."), "success")
    return redirect(url_for(".index"))


@blueprint.route("/notifications/settings", methods=["GET", "POST"])
@signed_in
def settings() -> ResponseReturnValue:
    user = actor()
    kinds = notifications_feed.kinds_for(user)
    form = EmailChoicesForm.for_kinds(
        kinds, notifications_feed.email_choices(user), CHOICES
    )
    if form.validate_on_submit():
        notifications_feed.set_email_choices(user, form.wanted(), now=utcnow())
        db.session.commit()
        flash(_("Your choices are saved."), "success")
        return redirect(url_for(".settings"))
    return render_template(
        "notifications/settings.html",
        form=form,
        in_person=notifications_feed.reached_in_person(user),
    )


@blueprint.get("/call-list")
@roles(Role.STEWARD, Role.ADMIN)
def call_list_page() -> ResponseReturnValue:
    page = call_list.call_list_page(actor(), page=page_number())
    return render_template(
        "notifications/call_list.html",
        page=page,
        headline=headline,
        shown_at=utcnow().isoformat(),
        told_form=ToldForm(),
    )


@blueprint.post("/call-list/<public_id>/told")
@roles(Role.STEWARD, Role.ADMIN)
def told(public_id: str) -> ResponseReturnValue:
    user = actor()
    member = call_list.member_to_tell(user, public_id)
    form = ToldForm()
    if not form.validate_on_submit():
        return redirect(url_for(".call_list_page"))
    shown_at = _moment(form.shown_at.data)
    if shown_at is None:
        flash(
            _("The list has changed. Look again before pressing the button."), "error"
        )
        return redirect(url_for(".call_list_page"))
    call_list.told_in_person(member, shown_at=shown_at, actor=user, now=utcnow())
    db.session.commit()
    flash(
        _("Noted: %(name)s has been told in person.", name=member.chosen_name),
        "success",
    )
    return redirect(url_for(".call_list_page"))


def _moment(value: str | None) -> datetime | None:
    """The moment the call list was shown, as its form carried it: an aware time
    not in the future, or None for anything else."""
    try:
        moment = datetime.fromisoformat(value or "")
    except ValueError:
        return None
    if moment.tzinfo is None or moment > utcnow():
        return None
    return moment
