"""Dues for members (where they stand, paying by card, waivers) and for delegates
(recording cash with receipts, the monthly remittance)."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from union import clock
from union.adapters.payments import CheckoutLink
from union.clock import first_of_month, utcnow
from union.db import db
from union.errors import ValidationFailed
from union.forms.dues import (
    CardPaymentForm,
    HandPaymentForm,
    LevelChangeForm,
    WaiverForm,
    level_choices,
)
from union.i18n import _, format_day
from union.models import PaymentMethod, Role, WaiverReason
from union.services import card_dues, dues, ledger, members, remittances, waivers
from union.services.card_dues import CardPaymentsUnavailable
from union.views.helpers import (
    actor,
    enum_value,
    month_value,
    page_number,
    payment_gateway,
    saved,
)
from union.web.access import roles, signed_in
from union.web.auth import fresh_required
from union.web.links import public_url

blueprint = Blueprint("dues", __name__)

DELEGATES = (Role.STEWARD, Role.ADMIN)


def _dues_page(**forms: object) -> str:
    user = actor()
    member = members.signed_in_member(user)
    now = utcnow()
    summary = dues.member_dues(member, now=now, quote_months=(1, 2, 3, 6, 12))
    level_form = forms.pop("level_form", None)
    if not isinstance(level_form, LevelChangeForm):
        level_form = LevelChangeForm(dues_level=str(member.dues_level_id))
    level_form.dues_level.choices = level_choices(summary.offers)
    quotes = {months: quote.total_cents for months, quote in summary.quotes.items()}
    return render_template(
        "dues/index.html",
        summary=summary,
        card_available=payment_gateway() is not None,
        card_form=forms.pop("card_form", None) or CardPaymentForm(),
        level_form=level_form,
        quotes=quotes,
        subscription_live=summary.live_subscription is not None,
        **forms,
    )


@blueprint.get("/dues")
@roles(Role.MEMBER)
def index() -> ResponseReturnValue:
    return _dues_page()


@blueprint.get("/dues/history")
@roles(Role.MEMBER)
def history() -> ResponseReturnValue:
    member = members.signed_in_member(actor())
    page = dues.payment_history(member, page=page_number(), per_page=50)
    return render_template("dues/history.html", page=page)


def _checkout(start: Callable[[], CheckoutLink]) -> ResponseReturnValue:
    """Runs a Checkout start; on success, off to Stripe's page."""
    try:
        link = start()
    except (ValidationFailed, CardPaymentsUnavailable) as error:
        db.session.rollback()
        for message in error.messages:
            flash(message, "error")
        return redirect(url_for(".index"))
    db.session.commit()
    return redirect(link.url, code=303)


def _success_url() -> str:
    return public_url("dues.card_done") + "?session_id={CHECKOUT_SESSION_ID}"


@blueprint.post("/dues/card/subscribe")
@roles(Role.MEMBER)
def card_subscribe() -> ResponseReturnValue:
    member = members.signed_in_member(actor())
    if not CardPaymentForm().validate_on_submit():
        return redirect(url_for(".index"))
    return _checkout(
        lambda: card_dues.start_card_subscription(
            member,
            gateway=payment_gateway(),
            now=utcnow(),
            success_url=_success_url(),
            cancel_url=public_url("dues.index"),
        )
    )


@blueprint.post("/dues/card/pay")
@roles(Role.MEMBER)
def card_pay() -> ResponseReturnValue:
    member = members.signed_in_member(actor())
    form = CardPaymentForm()
    if not form.validate_on_submit():
        return _dues_page(card_form=form), 400
    return _checkout(
        lambda: card_dues.start_card_payment(
            member,
            months=int(form.months.data or 1),
            gateway=payment_gateway(),
            now=utcnow(),
            success_url=_success_url(),
            cancel_url=public_url("dues.index"),
        )
    )


@blueprint.post("/dues/card/manage")
@roles(Role.MEMBER)
def card_manage() -> ResponseReturnValue:
    member = members.signed_in_member(actor())
    if CardPaymentForm().validate_on_submit():
        try:
            url = card_dues.portal_url(
                member,
                gateway=payment_gateway(),
                return_url=public_url("dues.index"),
            )
        except (ValidationFailed, CardPaymentsUnavailable) as error:
            flash(
                str(error)
                if isinstance(error, CardPaymentsUnavailable)
                else _("You have not paid by card yet."),
                "error",
            )
        else:
            return redirect(url, code=303)
    return redirect(url_for(".index"))


@blueprint.get("/dues/card/done")
@roles(Role.MEMBER)
def card_done() -> ResponseReturnValue:
    member = members.signed_in_member(actor())
    paid = card_dues.attempt_paid(member, request.args.get("session_id", ""))
    if paid is None:
        return redirect(url_for(".index"))
    return render_template(
        "dues/card_done.html", paid=paid, summary=dues.member_dues(member, now=utcnow())
    )


@blueprint.post("/dues/level")
@roles(Role.MEMBER)
@fresh_required(return_to="dues.index")
def change_level() -> ResponseReturnValue:
    user = actor()
    member = members.signed_in_member(user)
    form = LevelChangeForm()
    form.dues_level.choices = level_choices(dues.offered_levels(clock.today(utcnow())))
    if form.validate_on_submit():
        try:
            choice = card_dues.change_level(
                member,
                int(form.dues_level.data or 0),
                gateway=payment_gateway(),
                actor=user,
                now=utcnow(),
            )
        except ValidationFailed as error:
            db.session.rollback()
            form.apply_errors(error)
        except CardPaymentsUnavailable as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(
                _(
                    "Your new level starts in %(month)s.",
                    month=format_day(choice.effective_month, "MMMM y"),
                ),
                "success",
            )
            return redirect(url_for(".index"))
    return _dues_page(level_form=form), 400


@blueprint.route("/dues/waiver", methods=["GET", "POST"])
@roles(Role.MEMBER)
def waiver() -> ResponseReturnValue:
    user = actor()
    member = members.signed_in_member(user)
    form = WaiverForm()
    if request.method == "GET":
        this_month = first_of_month(clock.today(utcnow()))
        form.first_month.data = this_month.strftime("%Y-%m")
        form.last_month.data = this_month.strftime("%Y-%m")
    reason = enum_value(WaiverReason, form.reason.data)
    if (
        form.validate_on_submit()
        and reason is not None
        and form.first_month.month is not None
        and form.last_month.month is not None
    ):
        first, last = form.first_month.month, form.last_month.month
        if saved(
            form,
            lambda: waivers.request_waiver(
                member,
                reason=reason,
                first_month=first,
                last_month=last,
                actor=user,
                now=utcnow(),
            ),
        ):
            flash(
                _(
                    "Your request is in. The treasurer will decide; meanwhile you "
                    "will not be reminded about dues."
                ),
                "success",
            )
            return redirect(url_for(".index"))
    return render_template("dues/waiver.html", form=form)


@blueprint.get("/dues/receipts/<int:number>")
@signed_in
def receipt(number: int) -> ResponseReturnValue:
    payment = dues.payment_for_receipt(actor(), number)
    return render_template("dues/receipt.html", payment=payment)


@blueprint.get("/dues/payments/<int:payment_id>/receipt")
@signed_in
def card_receipt(payment_id: int) -> ResponseReturnValue:
    payment = dues.card_payment_for_receipt(actor(), payment_id)
    return render_template("dues/receipt.html", payment=payment)


@blueprint.route("/members/<public_id>/payments/new", methods=["GET", "POST"])
@roles(*DELEGATES)
def record_payment(public_id: str) -> ResponseReturnValue:
    user = actor()
    member = members.member_for(user, public_id)
    now = utcnow()
    form = HandPaymentForm()
    if request.method == "GET":
        form.paid_on.data = clock.today(now)
    method = enum_value(PaymentMethod, form.method.data)
    recorded = []
    if (
        form.validate_on_submit()
        and method is not None
        and saved(
            form,
            lambda: recorded.append(
                ledger.record_hand_payment(
                    member,
                    method=method,
                    months=int(form.months.data or 0),
                    amount_cents=form.amount.cents,
                    paid_on=form.paid_on.data,
                    reference=form.reference.data,
                    actor=user,
                    now=now,
                )
            ),
        )
    ):
        flash(_("Payment recorded. Give the member this receipt number."), "success")
        return redirect(url_for(".receipt", number=recorded[0].receipt_number))
    quotes = dues.quotes(member, (1, 2, 3, 6, 12))
    return render_template(
        "dues/record_payment.html",
        form=form,
        member=member,
        standing=dues.member_standing(member, now=now),
        quotes=quotes,
    )


@blueprint.get("/dues/remittance")
@roles(*DELEGATES)
def remittance() -> ResponseReturnValue:
    month = month_value(request.args.get("month"))
    return render_template(
        "dues/remittance.html",
        report=remittances.delegate_month(actor(), month, today=clock.today(utcnow())),
        month=month,
    )
