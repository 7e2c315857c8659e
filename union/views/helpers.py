"""Small things every view needs: the acting user, query values, units of work."""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar, cast

from flask import (
    Response,
    current_app,
    flash,
    render_template,
    request,
    stream_with_context,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from union import clock
from union.adapters.payments import StripeGateway
from union.clock import first_of_month, utcnow
from union.db import database_integer, db
from union.errors import InvalidTransition, NotFound, ValidationFailed
from union.forms.base import ActionForm, BaseForm
from union.models import User
from union.rules.disclosure import Rules

log = logging.getLogger(__name__)

#: Anything but these in a download's name becomes "_", so a name built from data
#: can never carry a quote, angle bracket or path into the header.
_NOT_SAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def disclosure_rules() -> Rules:
    """The disclosure thresholds configured for this union (checked at start-up)."""
    return Rules.from_settings(current_app.config.get("DISCLOSURE_RULES", {}))


def payment_gateway() -> StripeGateway | None:
    """Stripe, or None when card payments are not configured."""
    found: StripeGateway | None = current_app.extensions["union_payments"]
    return found


def actor() -> User:
    """The signed-in user as a real object (services must not get the proxy)."""
    return cast(User, current_user._get_current_object())


def page_number() -> int:
    number = database_integer(request.args.get("page"))
    return number if number is not None and 0 < number < 1_000_000 else 1


def optional_id(value: str | None) -> int | None:
    """An id from a select box, or None for the empty choice or anything tampered."""
    return database_integer(value)


def month_value(value: str | None) -> date:
    """The month in a YYYY-MM query or path value, or this month for anything else."""
    try:
        return date.fromisoformat(f"{value}-01")
    except (TypeError, ValueError):
        return first_of_month(clock.today(utcnow()))


def path_month(value: str) -> date:
    """The month a URL names, as YYYY-MM. Anything else is no such page: unlike a
    query's filter, a month in the path says what an action acts on, so it must
    never quietly become this month."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}", value):
        raise NotFound
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError:
        raise NotFound from None


EnumT = TypeVar("EnumT", bound=enum.Enum)


def enum_value(enum_class: type[EnumT], value: str | None) -> EnumT | None:
    """The enum member for a query or path value, or None for anything else."""
    try:
        return enum_class(value)
    except ValueError:
        return None


def saved(form: BaseForm, action: Callable[[], object]) -> bool:
    """Runs a service for a submitted form as one unit of work.

    On success it commits. When the service refuses the input, everything is rolled
    back and its messages are shown on the form's fields, so nothing is half-saved
    and nothing typed is lost.
    """
    try:
        action()
    except ValidationFailed as error:
        db.session.rollback()
        form.apply_errors(error)
        return False
    db.session.commit()
    return True


def done(action: Callable[[], object], *, success: str) -> bool:
    """Runs a service for a button (accept, remove ...), flashing what happened."""
    try:
        action()
    except (ValidationFailed, InvalidTransition) as error:
        db.session.rollback()
        for message in error.messages:
            flash(message, "error")
        return False
    db.session.commit()
    flash(success, "success")
    return True


#: The field the page that asks first adds, so the second post does the action.
CONFIRMED = "confirmed"
#: The field of its "Cancel and go back" button when the form's words go back
#: with it (Question.keeps_answers).
GOING_BACK = "going_back"


@dataclass(frozen=True, slots=True)
class Question:
    """What the page that asks before a destructive action says."""

    #: "Decline Robin's application?"
    title: str
    #: What will happen, and whether it can be undone.
    consequence: str
    #: The button that does it: "Decline and remove".
    confirm_label: str
    #: Where "Cancel" goes: the page the button was on.
    back_url: str
    #: What a bulk action will act on, one line each ("Robin H. (#1042)").
    listed: tuple[str, ...] = ()
    #: "Cancel and go back" posts the form back as it was sent, for a form whose
    #: words would be lost by going back to it empty (a message being written).
    #: The view shows its form again when `going_back()`.
    keeps_answers: bool = False


def going_back() -> bool:
    """Whether the person pressed "Cancel and go back" on a page that asked first
    and keeps their answers: show them the form again, as they filled it."""
    return request.form.get(GOING_BACK) == "yes"


def ask_first(question: Question) -> ResponseReturnValue | None:
    """None once the person has confirmed; until then, the page that asks them.

    For a POST whose CSRF token has been checked. The page posts the same form
    again, with every field it was sent, plus `confirmed=yes`: no JavaScript,
    and nothing is done until that second post. The action itself must be safe
    to confirm twice (its service refuses what is already done)."""
    if request.form.get(CONFIRMED) == "yes" and not going_back():
        return None
    carried = [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name not in ("csrf_token", CONFIRMED, GOING_BACK)
    ]
    return render_template(
        "confirm.html",
        question=question,
        action=request.path,
        carried=carried,
        action_form=ActionForm(),
        going_back_field=GOING_BACK,
    )


def csv_download(lines: Iterable[str], stem: str) -> Response:
    """A CSV file to save, named `<stem>.csv`, never cached.

    `lines` is CSV text, such as a service's `..._csv` generator; it is streamed in
    this request's context, so whatever the export records is committed before
    this is called. `stem` is the whole name without ".csv", e.g. f"ledger-{day}";
    characters other than letters, digits, ".", "-" and "_" become "_".
    """
    filename = _NOT_SAFE_IN_FILE_NAME.sub("_", stem) + ".csv"
    return Response(
        stream_with_context(iter(lines)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
