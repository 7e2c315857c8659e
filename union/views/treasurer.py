"""The treasurer's pages: levels, the ledger, arrears, remittances, waivers, settings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

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
from union.adapters import charts
from union.adapters.payments import GatewayError
from union.clock import utcnow
from union.db import db
from union.errors import NotFound
from union.forms.base import ActionForm, SortForm
from union.forms.dues import (
    ARREARS_ORDERS,
    LEDGER_ORDERS,
    DuesSettingsForm,
    LedgerFilterForm,
    LevelForm,
    LevelTextForm,
    RateForm,
)
from union.i18n import _, current_language, format_day, format_money, ngettext
from union.labels import label
from union.models import DuesLevel, DuesRate, PaymentMethod, Role, WaiverStatus
from union.services import (
    accounts,
    card_prices,
    dues,
    jobs,
    members,
    remittances,
    settings,
    treasury,
    waivers,
)
from union.views.helpers import (
    Question,
    actor,
    ask_first,
    csv_download,
    done,
    enum_value,
    month_value,
    optional_id,
    page_number,
    path_month,
    payment_gateway,
    saved,
)
from union.web.access import roles

blueprint = Blueprint("treasurer", __name__, url_prefix="/treasurer")

TREASURY = (Role.TREASURER, Role.ADMIN)
CHART_METHODS = (
    PaymentMethod.CARD_SUBSCRIPTION,
    PaymentMethod.CARD_ONE_OFF,
    PaymentMethod.CASH,
    PaymentMethod.ETRANSFER,
)


@blueprint.get("/")
@roles(*TREASURY)
def index() -> ResponseReturnValue:
    now = utcnow()
    totals = treasury.monthly_totals(now=now, months=12)
    chart = charts.stacked_bars(
        [format_day(line.month, "MMM yy") for line in totals],
        [
            charts.Series(
                label(method), [line.by_method.get(method, 0) for line in totals]
            )
            for method in CHART_METHODS
        ],
        title=_("Dues received each month, by method"),
        description=_(
            "Stacked bars for the last 12 months; the table below has the same numbers."
        ),
        format_value=lambda cents: format_money(cents, whole_dollars=True),
    )
    behind = treasury.arrears_page(
        now=now, page=1, per_page=1, only_behind_standing=True
    ).total
    pending = len(waivers.cases(status=WaiverStatus.PENDING, now=now))
    return render_template(
        "treasurer/index.html",
        totals=totals,
        chart=chart,
        methods=CHART_METHODS,
        behind=behind,
        pending=pending,
    )


def _card_states(
    levels: list[DuesLevel],
) -> dict[int, card_prices.LevelCardState] | None:
    """How each level's amounts stand on Stripe, or None when card payments are
    off (no Stripe)."""
    if payment_gateway() is None:
        return None
    return card_prices.card_states(levels, now=utcnow())


def _levels_page(add_form: LevelForm) -> str:
    today = clock.today(utcnow())
    levels = dues.all_levels()
    return render_template(
        "treasurer/levels.html",
        levels=levels,
        today=today,
        card_states=_card_states(levels),
        add_form=add_form,
        action_form=ActionForm(),
    )


def _set_up_on_stripe(rate: DuesRate, *, new_amount: bool) -> None:
    """Records the Stripe work a saved level or amount needs, in the same
    transaction, when card payments are on."""
    if payment_gateway() is not None:
        card_prices.set_up_later(rate, now=utcnow(), move_subscriptions=new_amount)


def _flash_saved(saved_message: str) -> None:
    if payment_gateway() is None:
        flash(saved_message, "success")
    else:
        flash(
            _(
                "%(saved)s Card payment for it is being set up on Stripe: this "
                "page says when it is ready.",
                saved=saved_message,
            ),
            "success",
        )


@blueprint.get("/levels")
@roles(*TREASURY)
def levels() -> ResponseReturnValue:
    return _levels_page(LevelForm())


@blueprint.post("/levels/card-setup")
@roles(*TREASURY)
def set_up_card_prices() -> ResponseReturnValue:
    if ActionForm().validate_on_submit():
        if payment_gateway() is None:
            flash(_("Card payments are off: no Stripe account is set up."), "info")
        else:
            recorded = card_prices.set_up_missing(dues.all_levels(), now=utcnow())
            db.session.commit()
            if recorded:
                flash(
                    _(
                        "Card payment is being set up on Stripe: this page says when it is ready."
                    ),
                    "success",
                )
            else:
                flash(_("Every amount is set up on Stripe or on its way."), "info")
    return redirect(url_for(".levels"))


@jobs.handler(card_prices.PRICE_JOB)
def _set_up_price(payload: Mapping[str, Any], now: datetime) -> None:
    """Sets up one amount's Stripe price. When Stripe cannot be reached, the rate
    keeps that the try failed (committed here, as the runner rolls back what a
    failing job did) and the error goes to the runner, which tries again later."""
    gateway = payment_gateway()
    if gateway is None:
        return
    rate_id, cents = int(payload["rate_id"]), int(payload["monthly_cents"])
    try:
        card_prices.set_up_price(gateway, rate_id, cents, now=now)
    except GatewayError:
        db.session.rollback()
        card_prices.record_failure(rate_id, now=now)
        db.session.commit()
        raise


@jobs.handler(card_prices.MOVE_JOB)
def _move_subscriptions(payload: Mapping[str, Any], now: datetime) -> None:
    """Moves a batch of a level's card subscriptions to its new amount."""
    gateway = payment_gateway()
    if gateway is None:
        return
    card_prices.move_subscriptions(
        gateway,
        int(payload["rate_id"]),
        int(payload["monthly_cents"]),
        now=now,
        after_id=int(payload.get("after", 0)),
    )


@blueprint.post("/levels")
@roles(*TREASURY)
def add_level() -> ResponseReturnValue:
    form = LevelForm()
    # Both checks run, so every problem shows at once.
    checks = [form.validate_on_submit(), form.amount_ok()]
    if all(checks) and form.effective_on.month is not None:
        start = form.effective_on.month

        def add() -> None:
            level = dues.add_level(
                code=form.code.data or "",
                wording=form.wording(),
                monthly_cents=form.monthly_amount.cents or 0,
                effective_on=start,
                actor=actor(),
                now=utcnow(),
            )
            _set_up_on_stripe(level.rates[0], new_amount=False)

        if saved(form, add):
            _flash_saved(_("Level added."))
            return redirect(url_for(".levels"))
    return _levels_page(form), 400


def _level(level_id: int) -> DuesLevel:
    found = next((level for level in dues.all_levels() if level.id == level_id), None)
    if found is None:
        raise NotFound
    return found


@blueprint.route("/levels/<int:level_id>", methods=["GET", "POST"])
@roles(*TREASURY)
def level(level_id: int) -> ResponseReturnValue:
    current = _level(level_id)
    text_form = LevelTextForm(obj=current)
    rate_form = RateForm(prefix="rate")
    if request.method == "POST" and request.form.get("form") == "text":
        if text_form.validate_on_submit() and saved(
            text_form,
            lambda: dues.update_level(
                current,
                wording=text_form.wording(),
                actor=actor(),
                now=utcnow(),
            ),
        ):
            flash(_("Saved."), "success")
            return redirect(url_for(".level", level_id=level_id))
    elif request.method == "POST" and request.form.get("form") == "rate":
        checks = [rate_form.validate_on_submit(), rate_form.amount_ok()]
        month = rate_form.effective_on.month

        def schedule(month: date) -> None:
            rate = dues.schedule_rate(
                current,
                monthly_cents=rate_form.monthly_amount.cents or 0,
                effective_on=month,
                actor=actor(),
                now=utcnow(),
            )
            _set_up_on_stripe(rate, new_amount=True)

        if (
            all(checks)
            and month is not None
            and saved(rate_form, lambda: schedule(month))
        ):
            _flash_saved(_("New amount scheduled."))
            return redirect(url_for(".level", level_id=level_id))
    today = clock.today(utcnow())
    return render_template(
        "treasurer/level.html",
        level=current,
        today=today,
        card_states=_card_states([current]),
        text_form=text_form,
        rate_form=rate_form,
        action_form=ActionForm(),
    )


@blueprint.post("/levels/<int:level_id>/retire")
@roles(*TREASURY)
def retire_level(level_id: int) -> ResponseReturnValue:
    current = _level(level_id)
    if ActionForm().validate_on_submit():
        asking = ask_first(
            Question(
                title=_(
                    "Retire %(level)s?", level=current.name_for(current_language())
                ),
                consequence=_(
                    "New members will no longer be offered it. Members on it keep "
                    "it and keep paying it, by card too, at its new amounts if you "
                    "set any, until they choose another level."
                ),
                confirm_label=_("Retire this level"),
                back_url=url_for(".level", level_id=level_id),
            )
        )
        if asking is not None:
            return asking
        done(
            lambda: dues.retire_level(current, actor=actor(), now=utcnow()),
            success=_("The level is no longer offered. Members on it keep it."),
        )
    return redirect(url_for(".level", level_id=level_id))


def _ledger_filter(form: LedgerFilterForm) -> treasury.LedgerFilter:
    return treasury.LedgerFilter(
        method=enum_value(PaymentMethod, form.method.data),
        from_month=form.from_month.month,
        to_month=form.to_month.month,
        recorded_by_id=optional_id(request.args.get("delegate")),
    )


@blueprint.get("/ledger")
@roles(*TREASURY)
def ledger_list() -> ResponseReturnValue:
    form = LedgerFilterForm(request.args)
    form.validate()
    sort = treasury.LEDGER_SORTS.read(request.args.get("sort"))
    form.sort.offer(sort, LEDGER_ORDERS)
    found = treasury.ledger_page(
        _ledger_filter(form), sort=sort, page=page_number(), per_page=50
    )
    return render_template(
        "treasurer/ledger.html",
        form=form,
        page=found.page,
        totals=found.totals,
        sort=sort,
    )


@blueprint.get("/ledger.csv")
@roles(*TREASURY)
def ledger_export() -> ResponseReturnValue:
    form = LedgerFilterForm(request.args)
    form.validate()
    lines = treasury.ledger_csv(
        _ledger_filter(form),
        sort=treasury.LEDGER_SORTS.read(request.args.get("sort")),
        actor=actor(),
        now=utcnow(),
    )
    db.session.commit()
    return csv_download(lines, f"ledger-{clock.today(utcnow()).isoformat()}")


@blueprint.get("/arrears")
@roles(*TREASURY)
def arrears() -> ResponseReturnValue:
    only_behind = request.args.get("behind") == "1"
    sort = treasury.ARREARS_SORTS.read(request.args.get("sort"))
    order_form = SortForm(request.args)
    order_form.sort.offer(sort, ARREARS_ORDERS)
    page = treasury.arrears_page(
        now=utcnow(),
        page=page_number(),
        per_page=50,
        only_behind_standing=only_behind,
        sort=sort,
    )
    return render_template(
        "treasurer/arrears.html",
        page=page,
        only_behind=only_behind,
        sort=sort,
        order_form=order_form,
    )


@blueprint.get("/arrears.csv")
@roles(*TREASURY)
def arrears_export() -> ResponseReturnValue:
    lines = treasury.arrears_csv(
        only_behind_standing=request.args.get("behind") == "1",
        sort=treasury.ARREARS_SORTS.read(request.args.get("sort")),
        actor=actor(),
        now=utcnow(),
    )
    db.session.commit()
    return csv_download(lines, f"arrears-{clock.today(utcnow()).isoformat()}")


@blueprint.get("/members/<public_id>")
@roles(*TREASURY)
def member_dues(public_id: str) -> ResponseReturnValue:
    """One member's dues as the treasurer reads them: standing and payments, no
    personal details beyond the name and number the arrears list already shows."""
    user, now = actor(), utcnow()
    members.record_member_viewed(
        treasury.member_for_treasury(public_id), actor=user, now=now
    )
    db.session.commit()
    # Read again after the commit, which expired it: reloading the expired row
    # would read (and decrypt) the legal name and phone this page never shows.
    member = treasury.member_for_treasury(public_id)
    return render_template(
        "treasurer/member.html",
        member=member,
        standing=dues.member_standing(member, now=now),
        page=dues.payment_history(member, page=page_number(), per_page=50),
    )


@blueprint.get("/remittances")
@roles(*TREASURY)
def remittance_list() -> ResponseReturnValue:
    month = month_value(request.args.get("month"))
    return render_template(
        "treasurer/remittances.html",
        month=month,
        overview=remittances.month_overview(month, today=clock.today(utcnow())),
        percent=settings.current_settings().parent_union_share_percent,
        action_form=ActionForm(),
    )


@blueprint.post("/remittances/<int:delegate_id>/<month>")
@roles(*TREASURY)
def confirm_remittance(delegate_id: int, month: str) -> ResponseReturnValue:
    when = path_month(month)
    if ActionForm().validate_on_submit():
        delegate = accounts.user_by_id(delegate_id)
        report = remittances.delegate_month(delegate, when, today=clock.today(utcnow()))
        waiting = report.waiting
        if report.ended and waiting is not None:
            asking = ask_first(
                Question(
                    title=_(
                        "Confirm you received %(total)s from %(delegate)s?",
                        total=format_money(waiting.total_cents),
                        delegate=delegate.display_name,
                    ),
                    consequence=ngettext(
                        "%(num)d receipt of %(month)s. The split is written down "
                        "as it is now: %(parent)s to the parent union, %(branch)s "
                        "kept by the branch. A confirmation cannot be undone.",
                        "%(num)d receipts of %(month)s. The split is written down "
                        "as it is now: %(parent)s to the parent union, %(branch)s "
                        "kept by the branch. A confirmation cannot be undone.",
                        len(waiting.payments),
                        month=format_day(when, "MMMM y"),
                        parent=format_money(waiting.parent_cents),
                        branch=format_money(waiting.branch_cents),
                    ),
                    confirm_label=_("Confirm received"),
                    back_url=url_for(".remittance_list", month=month),
                )
            )
            if asking is not None:
                return asking
        done(
            lambda: remittances.confirm_remittance(
                delegate, when, actor=actor(), now=utcnow()
            ),
            success=_("Remittance confirmed."),
        )
    return redirect(url_for(".remittance_list", month=when.strftime("%Y-%m")))


@blueprint.get("/remittances/<int:delegate_id>/<month>")
@roles(*TREASURY)
def remittance_detail(delegate_id: int, month: str) -> ResponseReturnValue:
    when = path_month(month)
    report = remittances.delegate_month(
        accounts.user_by_id(delegate_id), when, today=clock.today(utcnow())
    )
    return render_template(
        "dues/remittance.html", report=report, month=when, treasurer_view=True
    )


@blueprint.get("/waivers")
@roles(*TREASURY)
def waiver_list() -> ResponseReturnValue:
    status = enum_value(WaiverStatus, request.args.get("status", "pending"))
    return render_template(
        "treasurer/waivers.html",
        cases=waivers.cases(status=status, now=utcnow()),
        status=status,
        action_form=ActionForm(),
    )


@blueprint.post("/waivers/<int:case_number>/<decision>")
@roles(*TREASURY)
def decide_waiver(case_number: int, decision: str) -> ResponseReturnValue:
    waiver = waivers.waiver_by_case(case_number)
    if decision in ("grant", "decline") and ActionForm().validate_on_submit():
        done(
            lambda: waivers.decide_waiver(
                waiver, grant=decision == "grant", actor=actor(), now=utcnow()
            ),
            success=_("Case %(number)d granted.", number=case_number)
            if decision == "grant"
            else _("Case %(number)d declined.", number=case_number),
        )
    return redirect(url_for(".waiver_list"))


@blueprint.route("/settings", methods=["GET", "POST"])
@roles(*TREASURY)
def dues_settings() -> ResponseReturnValue:
    form = DuesSettingsForm(obj=settings.current_settings())
    if form.validate_on_submit() and saved(
        form,
        lambda: settings.update_settings(
            {
                "good_standing_max_arrears": form.good_standing_max_arrears.data,
                "parent_union_share_percent": form.parent_union_share_percent.data,
            },
            actor=actor(),
            now=utcnow(),
        ),
    ):
        flash(_("Settings saved."), "success")
        return redirect(url_for(".dues_settings"))
    return render_template("treasurer/settings.html", form=form)
