"""Signing in and out, choosing and resetting passwords."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

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

from union.adapters.throttle import (
    REQUEST_LIMITS,
    SIGN_IN_LIMITS,
    Throttle,
    sign_in_keys,
)
from union.clock import utcnow
from union.db import db
from union.forms.accounts import (
    ChangeEmailForm,
    ChangePasswordForm,
    ChoosePasswordForm,
    ConfirmPasswordForm,
    ForgotPasswordForm,
    LoginForm,
)
from union.forms.base import ActionForm
from union.i18n import _, current_language, ngettext
from union.models import TokenPurpose, User, email_digest, normalise_email
from union.services import accounts, jobs, members
from union.services.accounts import TokenInvalid
from union.views.helpers import actor, saved
from union.web.access import public, signed_in
from union.web.auth import fresh_required, is_fresh, safe_next_url, sign_in, sign_out
from union.web.devices import remember_device, trusted_device
from union.web.notifications import (
    send_email_change_link,
    send_email_changed,
    send_email_in_use,
    send_password_reset,
)

blueprint = Blueprint("auth", __name__)


@blueprint.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    next_url = safe_next_url(request.args.get("next"), url_for("main.home"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data or ""
        keys = _password_try_keys(email, accounts.user_by_email(email))
        wait = throttle().wait_seconds(keys, SIGN_IN_LIMITS)
        if wait:
            accounts.record_failed_sign_in(email, now=utcnow(), throttled=True)
            db.session.commit()
            return _too_many_tries(form, wait, known_device="device" in keys)
        now = utcnow()
        user = accounts.authenticate(email, form.password.data or "", now=now)
        if user is not None:
            _right_password(keys)
            sign_in(user, now=now)
            db.session.commit()
            return redirect(next_url)
        db.session.rollback()
        throttle().record(keys, SIGN_IN_LIMITS)
        accounts.record_failed_sign_in(email, now=now, throttled=False)
        db.session.commit()
        form.form_errors.append(_("That email and password do not match an account."))
    return render_template("auth/login.html", form=form)


def throttle() -> Throttle:
    found: Throttle = current_app.extensions["union_throttle"]
    return found


def _password_try_keys(email: str, user: User | None) -> dict[str, str]:
    """What a typed password counts against: this browser alone if it signed in to
    the account before, else the account's untrusted allowance and the address.
    An unknown email is never a known device, and is counted like any other."""
    return sign_in_keys(
        email_digest(email), request.remote_addr or "", trusted_device(user)
    )


def _right_password(keys: dict[str, str]) -> None:
    # The untrusted allowance is not given back: an attacker's failures there would
    # otherwise start afresh each time the owner signs in, and the owner's browser
    # is a known one from now on.
    throttle().forget({kind: keys[kind] for kind in ("device", "pair") if kind in keys})


def _too_many_tries(
    form: LoginForm, wait: int, *, known_device: bool
) -> ResponseReturnValue:
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
        render_template("auth/login.html", form=form, throttled=not known_device),
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
        # The same answer, at the same moment, whether or not the email has an
        # account: the request is recorded as it came, and the worker looks the
        # address up, makes the link and writes the email, so only the owner
        # learns anything, from the email.
        jobs.enqueue(RESET_LINK_JOB, {"email": form.email.data or ""}, now=utcnow())
        db.session.commit()
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


def _account_page(form: ChangePasswordForm | None = None) -> str:
    user = actor()
    sessions = accounts.open_login_sessions(user, now=utcnow())
    return render_template(
        "auth/account.html",
        form=form or ChangePasswordForm(),
        logout_form=ActionForm(),
        sessions=sessions,
        current=[accounts.is_current_session(user, s) for s in sessions],
    )


@blueprint.get("/account")
@signed_in
def account() -> ResponseReturnValue:
    return _account_page()


@blueprint.route("/account/confirm", methods=["GET", "POST"])
@signed_in
def confirm_password() -> ResponseReturnValue:
    """Typing the password again, before changing what protects the account."""
    next_url = safe_next_url(request.args.get("next"), url_for(".account"))
    form = ConfirmPasswordForm()
    user = actor()
    if form.validate_on_submit():
        keys = _password_try_keys(user.email, user)
        wait = throttle().wait_seconds(keys, SIGN_IN_LIMITS)
        if wait:
            form.form_errors.append(_("Too many tries. Wait a few minutes."))
            return render_template("auth/confirm.html", form=form), 429
        if accounts.confirm_password(user, form.password.data or "", now=utcnow()):
            db.session.commit()
            _right_password(keys)
            # A session from before device cookies, or from a browser that lost its
            # cookie, becomes a known device here too.
            remember_device(user)
            return redirect(next_url)
        db.session.rollback()
        throttle().record(keys, SIGN_IN_LIMITS)
        form.password.errors = [_("That is not your password.")]
    elif request.method == "GET" and is_fresh():
        return redirect(next_url)
    return render_template("auth/confirm.html", form=form)


@blueprint.route("/account/email", methods=["GET", "POST"])
@signed_in
@fresh_required()
def change_email() -> ResponseReturnValue:
    """Asks for a new email; the change happens when the link sent there is opened.
    The answer is the same whether or not another account has that email."""
    form = ChangeEmailForm()
    user = actor()
    if form.validate_on_submit():
        new_email = normalise_email(form.new_email.data or "")
        keys = {"email-change": email_digest(user.email)}
        if throttle().wait_seconds(keys, REQUEST_LIMITS):
            form.form_errors.append(_("Too many tries. Wait an hour and try again."))
            return render_template("auth/change_email.html", form=form), 429
        tokens: list[str | None] = []
        if saved(
            form,
            lambda: tokens.append(
                accounts.request_email_change(
                    user,
                    new_email,
                    now=utcnow(),
                    lifetime=current_app.config["EMAIL_CHANGE_TOKEN_LIFETIME"],
                )
            ),
        ):
            throttle().record(keys, REQUEST_LIMITS)
            token = tokens[0]
            if token is None:
                # The owner's language is on their account, which is not looked up
                # here; the language this person uses is the best guess.
                send_email_in_use(new_email, language=current_language())
            else:
                send_email_change_link(user, new_email, token)
            db.session.commit()
            return render_template("auth/change_email_sent.html", new_email=new_email)
    return render_template("auth/change_email.html", form=form)


@blueprint.route("/account/email/confirm/<token>", methods=["GET", "POST"])
@public
def confirm_email(token: str) -> ResponseReturnValue:
    """The link sent to a new address. Opening it shows a button (a link preview
    or a mail scanner fetching the page changes nothing); pressing it moves the
    account to the new address and tells the old one."""
    now = utcnow()
    try:
        row = accounts.valid_token(token, TokenPurpose.CHANGE_EMAIL, now=now)
    except TokenInvalid:
        db.session.rollback()
        return render_template(
            "auth/link_invalid.html", purpose=TokenPurpose.CHANGE_EMAIL
        ), 400
    form = ActionForm()
    if form.validate_on_submit():
        try:
            user, old_email = accounts.confirm_email_change(token, now=now)
        except TokenInvalid:
            db.session.rollback()
            return render_template(
                "auth/link_invalid.html", purpose=TokenPurpose.CHANGE_EMAIL
            ), 400
        send_email_changed(user, old_email)
        db.session.commit()
        flash(_("Your email is changed."), "success")
        return redirect(
            url_for(".account" if current_user.is_authenticated else ".login")
        )
    return render_template(
        "auth/confirm_email.html", form=form, new_email=row.new_email
    )


@blueprint.post("/account/sessions/end-others")
@signed_in
def end_other_sessions() -> ResponseReturnValue:
    user = actor()
    if ActionForm().validate_on_submit():
        count = accounts.end_other_login_sessions(user, now=utcnow())
        db.session.commit()
        flash(
            ngettext(
                "Signed out on %(num)d other device.",
                "Signed out on %(num)d other devices.",
                count,
            ),
            "success",
        )
    return redirect(url_for(".account"))


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
    return _account_page(form), 400


RESET_LINK_JOB = "reset-link"


@jobs.handler(RESET_LINK_JOB)
def _send_link_if_known(payload: Mapping[str, Any], now: datetime) -> None:
    reset = accounts.request_password_reset(
        str(payload["email"]),
        now=now,
        lifetime=current_app.config["RESET_TOKEN_LIFETIME"],
    )
    if reset is not None:
        user, token = reset
        send_password_reset(user, token, first_time=user.password_hash is None)
