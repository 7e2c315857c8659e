"""Workplaces: the list with density and precarity, details, funding, stewards, jobs."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from union import clock
from union.clock import utcnow
from union.forms.base import ActionForm, SortForm
from union.forms.workplaces import (
    WORKPLACE_ORDERS,
    ClassificationForm,
    FundingForm,
    MergeForm,
    StewardForm,
    WorkplaceForm,
)
from union.i18n import _
from union.models import BargainingStatus, Role, Sector, WorkplaceStatus
from union.services import accounts, workplaces
from union.services.workplaces import FundingDetails, WorkplaceDetails
from union.views.helpers import (
    Question,
    actor,
    ask_first,
    done,
    optional_id,
    saved,
)
from union.web.access import roles

blueprint = Blueprint("workplaces", __name__, url_prefix="/workplaces")

VIEWERS = (Role.STEWARD, Role.ORGANIZER, Role.ADMIN)
EDITORS = (Role.ORGANIZER, Role.ADMIN)


def workplace_details(form: WorkplaceForm) -> WorkplaceDetails:
    return WorkplaceDetails(
        employer=form.employer.data or "",
        site=form.site.data or "",
        sector=Sector(form.sector.data),
        bargaining_status=BargainingStatus(form.bargaining_status.data),
        contract_expires_on=form.contract_expires_on.data,
        estimated_headcount=form.estimated_headcount.data,
        listed_on_join=bool(form.listed_on_join.data),
        classification_ids=tuple(int(i) for i in form.classification_ids.data or ()),
    )


def funding_details(form: FundingForm) -> FundingDetails:
    return FundingDetails(
        funder=form.funder.data or "",
        program=form.program.data or "",
        amount_cents=form.amount.cents,
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        positions_funded=form.positions_funded.data or 0,
    )


def to_detail(workplace_id: int) -> ResponseReturnValue:
    return redirect(url_for(".detail", workplace_id=workplace_id))


@blueprint.get("/")
@roles(*VIEWERS)
def index() -> ResponseReturnValue:
    user = actor()
    pending_only = request.args.get("status") == WorkplaceStatus.PENDING.value
    sort = workplaces.WORKPLACE_SORTS.read(request.args.get("sort"))
    order_form = SortForm(request.args)
    order_form.sort.offer(sort, WORKPLACE_ORDERS)
    return render_template(
        "workplaces/index.html",
        summaries=workplaces.summaries(
            user,
            today=clock.today(utcnow()),
            status=WorkplaceStatus.PENDING if pending_only else None,
            sort=sort,
        ),
        pending_only=pending_only,
        can_edit=user.has_role(*EDITORS),
        sort=sort,
        order_form=order_form,
    )


@blueprint.route("/new", methods=["GET", "POST"])
@roles(*EDITORS)
def create() -> ResponseReturnValue:
    form = WorkplaceForm()
    form.offer(workplaces.classifications())
    created = []
    if form.validate_on_submit() and saved(
        form,
        lambda: created.append(
            workplaces.create_workplace(
                workplace_details(form), actor=actor(), now=utcnow()
            )
        ),
    ):
        flash(_("Workplace added."), "success")
        return to_detail(created[0].id)
    return render_template("workplaces/form.html", form=form, workplace=None)


@blueprint.get("/<int:workplace_id>")
@roles(*VIEWERS)
def detail(workplace_id: int) -> ResponseReturnValue:
    user = actor()
    workplace = workplaces.workplace_for(user, workplace_id)
    today = clock.today(utcnow())
    merge_form = MergeForm()
    steward_form = StewardForm()
    if workplace.status is WorkplaceStatus.PENDING:
        merge_form.offer(
            [
                w
                for w in workplaces.visible_list(user)
                if w.status is WorkplaceStatus.CONFIRMED
            ]
        )
    if user.has_role(Role.ADMIN):
        steward_form.offer(workplaces.stewards())
    return render_template(
        "workplaces/detail.html",
        workplace=workplace,
        summary=workplaces.summary_for(workplace, today=today),
        today=today,
        is_precarious=workplaces.is_precarious,
        can_edit=user.has_role(*EDITORS),
        can_assign=user.has_role(Role.ADMIN),
        can_see_members=user.has_role(Role.STEWARD, Role.ADMIN),
        action_form=ActionForm(),
        merge_form=merge_form,
        steward_form=steward_form,
    )


@blueprint.route("/<int:workplace_id>/edit", methods=["GET", "POST"])
@roles(*EDITORS)
def edit(workplace_id: int) -> ResponseReturnValue:
    workplace = workplaces.workplace_for(actor(), workplace_id)
    form = WorkplaceForm(obj=workplace)
    form.offer(workplaces.classifications())
    if request.method == "GET":
        form.classification_ids.data = [c.id for c in workplace.classifications]
    if form.validate_on_submit() and saved(
        form,
        lambda: workplaces.update_workplace(
            workplace, workplace_details(form), actor=actor(), now=utcnow()
        ),
    ):
        flash(_("Saved."), "success")
        return to_detail(workplace_id)
    return render_template("workplaces/form.html", form=form, workplace=workplace)


@blueprint.post("/<int:workplace_id>/confirm")
@roles(*EDITORS)
def confirm(workplace_id: int) -> ResponseReturnValue:
    workplace = workplaces.workplace_for(actor(), workplace_id)
    if ActionForm().validate_on_submit():
        done(
            lambda: workplaces.confirm_workplace(
                workplace, actor=actor(), now=utcnow()
            ),
            success=_("Workplace confirmed. Check its details."),
        )
    return to_detail(workplace_id)


@blueprint.post("/<int:workplace_id>/merge")
@roles(*EDITORS)
def merge(workplace_id: int) -> ResponseReturnValue:
    user = actor()
    workplace = workplaces.workplace_for(user, workplace_id)
    form = MergeForm()
    into_id = optional_id(form.into.data)
    if not form.validate_on_submit() or into_id is None:
        flash(_("Choose the workplace it is the same as."), "error")
        return to_detail(workplace_id)
    into = workplaces.workplace_for(user, into_id)
    asking = ask_first(
        Question(
            title=_(
                "Merge %(pending)s into %(into)s?",
                pending=workplace.name,
                into=into.name,
            ),
            consequence=_(
                "Its members move to %(into)s and %(pending)s is removed. This "
                "cannot be undone.",
                pending=workplace.name,
                into=into.name,
            ),
            confirm_label=_("Merge them"),
            back_url=url_for(".detail", workplace_id=workplace_id),
        )
    )
    if asking is not None:
        return asking
    if done(
        lambda: workplaces.merge_workplace(workplace, into, actor=user, now=utcnow()),
        success=_("Merged. Its members now show under this workplace."),
    ):
        return to_detail(into_id)
    return to_detail(workplace_id)


@blueprint.route("/<int:workplace_id>/funding/new", methods=["GET", "POST"])
@roles(*EDITORS)
def add_funding(workplace_id: int) -> ResponseReturnValue:
    workplace = workplaces.workplace_for(actor(), workplace_id)
    form = FundingForm()
    if form.validate_on_submit() and saved(
        form,
        lambda: workplaces.add_funding(
            workplace, funding_details(form), actor=actor(), now=utcnow()
        ),
    ):
        flash(_("Funding added."), "success")
        return to_detail(workplace_id)
    return render_template(
        "workplaces/funding_form.html", form=form, workplace=workplace, funding=None
    )


@blueprint.route(
    "/<int:workplace_id>/funding/<int:funding_id>/edit", methods=["GET", "POST"]
)
@roles(*EDITORS)
def edit_funding(workplace_id: int, funding_id: int) -> ResponseReturnValue:
    workplace = workplaces.workplace_for(actor(), workplace_id)
    funding = workplaces.funding_for(workplace, funding_id)
    form = FundingForm(obj=funding)
    if request.method == "GET" and funding.amount_cents is not None:
        form.amount.data = f"{funding.amount_cents / 100:.2f}"
    if form.validate_on_submit() and saved(
        form,
        lambda: workplaces.update_funding(
            funding, funding_details(form), actor=actor(), now=utcnow()
        ),
    ):
        flash(_("Saved."), "success")
        return to_detail(workplace_id)
    return render_template(
        "workplaces/funding_form.html", form=form, workplace=workplace, funding=funding
    )


@blueprint.post("/<int:workplace_id>/funding/<int:funding_id>/delete")
@roles(*EDITORS)
def delete_funding(workplace_id: int, funding_id: int) -> ResponseReturnValue:
    workplace = workplaces.workplace_for(actor(), workplace_id)
    funding = workplaces.funding_for(workplace, funding_id)
    if ActionForm().validate_on_submit():
        asking = ask_first(
            Question(
                title=_("Remove the funding from %(funder)s?", funder=funding.funder),
                consequence=_(
                    "It is removed from %(workplace)s and from the precarity "
                    "figures. This cannot be undone.",
                    workplace=workplace.name,
                ),
                confirm_label=_("Remove the funding"),
                back_url=url_for(".detail", workplace_id=workplace_id),
            )
        )
        if asking is not None:
            return asking
        done(
            lambda: workplaces.remove_funding(funding, actor=actor(), now=utcnow()),
            success=_("Funding removed."),
        )
    return to_detail(workplace_id)


@blueprint.post("/<int:workplace_id>/stewards")
@roles(Role.ADMIN)
def assign_steward(workplace_id: int) -> ResponseReturnValue:
    workplace = workplaces.workplace_for(actor(), workplace_id)
    form = StewardForm()
    steward_id = optional_id(form.steward.data)
    if form.validate_on_submit() and steward_id is not None:
        steward = accounts.user_by_id(steward_id)
        done(
            lambda: workplaces.assign_steward(
                workplace, steward, actor=actor(), now=utcnow()
            ),
            success=_("Steward assigned."),
        )
    else:
        flash(_("Choose a steward."), "error")
    return to_detail(workplace_id)


@blueprint.post("/<int:workplace_id>/stewards/<int:user_id>/remove")
@roles(Role.ADMIN)
def unassign_steward(workplace_id: int, user_id: int) -> ResponseReturnValue:
    workplace = workplaces.workplace_for(actor(), workplace_id)
    if ActionForm().validate_on_submit():
        done(
            lambda: workplaces.unassign_steward(
                workplace, user_id, actor=actor(), now=utcnow()
            ),
            success=_("Steward no longer covers this workplace."),
        )
    return to_detail(workplace_id)


@blueprint.route("/jobs", methods=["GET", "POST"])
@roles(*EDITORS)
def jobs() -> ResponseReturnValue:
    form = ClassificationForm()
    if form.validate_on_submit() and saved(
        form,
        lambda: workplaces.add_classification(
            form.name.data or "",
            name_fr=form.name_fr.data or "",
            actor=actor(),
            now=utcnow(),
        ),
    ):
        flash(_("Job added."), "success")
        return redirect(url_for(".jobs"))
    return render_template(
        "workplaces/jobs.html", form=form, classifications=workplaces.classifications()
    )
