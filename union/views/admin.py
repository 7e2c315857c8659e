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

from union.access import roles
from union.clock import utcnow
from union.forms.admin import RoleForm, SettingsForm
from union.forms.base import ActionForm
from union.i18n import _
from union.models import Role
from union.services import accounts, settings
from union.views.helpers import actor, done, enum_value, page_number, saved

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
