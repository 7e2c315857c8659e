"""Signing in and out, choosing and resetting passwords."""

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
from flask_login import current_user

from union.access import public, signed_in
from union.auth import safe_next_url, sign_in, sign_out
from union.clock import utcnow
from union.db import db
from union.forms.accounts import (
    ChangePasswordForm,
    ChoosePasswordForm,
    ForgotPasswordForm,
    LoginForm,
)
from union.forms.base import ActionForm
from union.i18n import _, ngettext
from union.models import TokenPurpose, User, email_digest
from union.notifications import send_password_reset
from union.services import accounts, members
from union.services.accounts import TokenInvalid
from union.throttle import REQUEST_LIMITS, SIGN_IN_LIMITS, Throttle, sign_in_keys
from union.views.helpers import actor, saved

blueprint = Blueprint("auth", __name__)


@blueprint.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    next_url = safe_next_url(request.args.get("next"), url_for("main.home"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    if form.validate_on_submit():
        keys = sign_in_keys(
            email_digest(form.email.data or ""), request.remote_addr or ""
        )
        wait = throttle().wait_seconds(keys, SIGN_IN_LIMITS)
        if wait:
            return _too_many_tries(form, wait)
        now = utcnow()
        user = accounts.authenticate(
            form.email.data or "", form.password.data or "", now=now
        )
        if user is not None:
            throttle().forget({kind: keys[kind] for kind in ("pair", "account")})
            sign_in(user, now=now)
            db.session.commit()
            return redirect(next_url)
        db.session.rollback()
        throttle().record(keys, SIGN_IN_LIMITS)
        form.form_errors.append(_("That email and password do not match an account."))
    return render_template("auth/login.html", form=form)


def throttle() -> Throttle:
    found: Throttle = current_app.extensions["union_throttle"]
    return found


def _too_many_tries(form: LoginForm, wait: int) -> ResponseReturnValue:
    minutes = max(1, -(-wait // 60))
    form.form_errors.append(
        ngettext(
            "Too many tries. Wait %(num)d minute and try again, or get a link to choose a "
            "new password.",
            "Too many tries. Wait %(num)d minutes and try again, or get a link to choose "
            "a new password.",
            minutes,
        )
    )
    return (
        render_template("auth/login.html", form=form),
        429,
        {"Retry-After": str(wait)},
    )


@blueprint.post("/logout")
@signed_in
def logout() -> ResponseReturnValue:
    sign_out(actor(), now=utcnow())
    db.session.commit()
    flash(_("You are signed out."), "info")
    return redirect(url_for("main.home"))


@blueprint.route("/password/forgot", methods=["GET", "POST"])
@public
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        keys = {
            "reset-address": request.remote_addr or "",
            "reset-account": email_digest(form.email.data or ""),
        }
        if throttle().wait_seconds(keys, REQUEST_LIMITS):
            # The same answer as ever; only no more emails for a while.
            return redirect(url_for(".forgot_password_sent"))
        throttle().record(keys, REQUEST_LIMITS)
        reset = accounts.request_password_reset(
            form.email.data or "",
            now=utcnow(),
            lifetime=current_app.config["RESET_TOKEN_LIFETIME"],
        )
        # The same answer whether or not the email has an account: only its owner
        # learns anything, from the email.
        if reset is not None:
            user, token = reset
            db.session.commit()
            send_password_reset(user, token, first_time=user.password_hash is None)
        return redirect(url_for(".forgot_password_sent"))
    return render_template("auth/forgot.html", form=form)


@blueprint.get("/password/forgot/sent")
@public
def forgot_password_sent() -> ResponseReturnValue:
    return render_template("auth/forgot_sent.html")


@blueprint.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str) -> ResponseReturnValue:
    return _choose_password(token, TokenPurpose.RESET)


@blueprint.route("/account/activate/<token>", methods=["GET", "POST"])
@public
def activate(token: str) -> ResponseReturnValue:
    return _choose_password(token, TokenPurpose.ACTIVATE)


def _choose_password(token: str, purpose: TokenPurpose) -> ResponseReturnValue:
    now = utcnow()
    try:
        accounts.valid_token(token, purpose, now=now)
    except TokenInvalid:
        db.session.rollback()
        return render_template("auth/link_invalid.html", purpose=purpose), 400
    form = ChoosePasswordForm()
    chosen: list[User] = []

    def choose() -> None:
        password = form.password.data or ""
        if purpose is TokenPurpose.ACTIVATE:
            user = members.finish_joining(token, password, now=now)
        else:
            user = accounts.set_password_with_token(token, purpose, password, now=now)
        sign_in(user, now=now)
        chosen.append(user)

    if form.validate_on_submit() and saved(form, choose):
        user = chosen[0]
        if purpose is TokenPurpose.ACTIVATE and user.member is not None:
            return redirect(url_for("members.welcome"))
        flash(_("Your new password is saved and you are signed in."), "success")
        return redirect(url_for("main.home"))
    return render_template("auth/choose_password.html", form=form, purpose=purpose)


@blueprint.get("/account")
@signed_in
def account() -> ResponseReturnValue:
    return render_template(
        "auth/account.html", form=ChangePasswordForm(), logout_form=ActionForm()
    )


@blueprint.post("/account/password")
@signed_in
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    user = actor()

    def change() -> None:
        now = utcnow()
        accounts.change_password(
            user,
            form.current_password.data or "",
            form.new_password.data or "",
            now=now,
        )
        sign_in(user, now=now)

    if form.validate_on_submit() and saved(form, change):
        flash(_("Your password is changed. Other devices were signed out."), "success")
        return redirect(url_for(".account"))
    return render_template(
        "auth/account.html", form=form, logout_form=ActionForm()
    ), 400
