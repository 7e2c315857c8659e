"""The words of a notification, written when it is read, in the reader's language.

The same sentence is the line on /notifications, the email's subject and what a
steward reads out from the call list. Each is made from the row's values alone
(union.models.notifications), so it says nothing the row does not keep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from flask import url_for
from flask_babel import LazyString

from union.i18n import _, _l, format_day, format_money
from union.labels import label
from union.models import GrievanceStep, NotificationKind, PaymentMethod
from union.web.filters import month_name

#: What each kind is, for the settings page: a name and when it is sent.
CHOICES: dict[NotificationKind, tuple[LazyString, LazyString]] = {
    NotificationKind.APPLICANT_WAITING: (
        _l("Someone applies to join"),
        _l("When an application waits at a workplace you cover."),
    ),
    NotificationKind.APPLICATION_ACCEPTED: (
        _l("Your application is accepted"),
        _l("When a steward accepts your application to join."),
    ),
    NotificationKind.APPLICATION_DECLINED: (
        _l("Your application is not accepted"),
        _l("If a steward does not accept your application to join."),
    ),
    NotificationKind.GRIEVANCE_OPENED: (
        _l("A grievance is opened for you"),
        _l("Its number and the day: never what it is about."),
    ),
    NotificationKind.GRIEVANCE_MOVED: (
        _l("Your grievance moves a step"),
        _l("The number, the step and the day: never notes."),
    ),
    NotificationKind.GRIEVANCE_CLOSED: (
        _l("Your grievance is closed"),
        _l("The number and the day it closed."),
    ),
    NotificationKind.WAIVER_DECIDED: (
        _l("Your dues waiver request is decided"),
        _l("Whether it was granted, and for which months."),
    ),
    NotificationKind.SURVEY_OPENED: (
        _l("A survey opens"),
        _l("When the union asks members about their work. Answers are anonymous."),
    ),
    NotificationKind.PAYMENT_RECEIVED: (
        _l("A receipt for each payment"),
        _l("The amount, the months it covers, how and when you paid."),
    ),
}


def _day(value: Any) -> str:
    return format_day(date.fromisoformat(str(value)))


def _month(value: Any) -> str:
    return month_name(date.fromisoformat(str(value)))


def _step(value: Any) -> str:
    try:
        return label(GrievanceStep(str(value)))
    except ValueError:
        return str(value)


def _method(value: Any) -> str:
    try:
        return label(PaymentMethod(str(value)))
    except ValueError:
        return str(value)


def choice_names(kinds: Iterable[NotificationKind]) -> str:
    """Kinds by their names on the settings page, for a sentence."""
    return ", ".join(str(CHOICES[kind][0]) for kind in kinds if kind in CHOICES)


def headline(kind: str, params: Mapping[str, Any]) -> str:
    """The sentence that tells of one notification."""
    return str(_sentence(kind, params))


def _sentence(kind: str, params: Mapping[str, Any]) -> object:
    match kind:
        case NotificationKind.APPLICANT_WAITING:
            return _(
                "A new application to join is waiting (member #%(number)s).",
                number=params.get("member_number", ""),
            )
        case NotificationKind.APPLICATION_ACCEPTED:
            return _(
                "Your application to join was accepted on %(day)s. Welcome to the union!",
                day=_day(params["on"]),
            )
        case NotificationKind.APPLICATION_DECLINED:
            return _("Your application to join the union was not accepted.")
        case NotificationKind.GRIEVANCE_OPENED:
            return _(
                "Grievance %(number)s was opened on %(day)s.",
                number=params["number"],
                day=_day(params["on"]),
            )
        case NotificationKind.GRIEVANCE_MOVED:
            return _(
                "Grievance %(number)s moved to %(step)s on %(day)s.",
                number=params["number"],
                step=_step(params["step"]),
                day=_day(params["on"]),
            )
        case NotificationKind.GRIEVANCE_CLOSED:
            return _(
                "Grievance %(number)s was closed on %(day)s.",
                number=params["number"],
                day=_day(params["on"]),
            )
        case NotificationKind.WAIVER_DECIDED:
            if params.get("granted"):
                return _(
                    "Your dues waiver request %(case)s was granted: %(first)s to "
                    "%(last)s are covered.",
                    case=params["case"],
                    first=_month(params["first_month"]),
                    last=_month(params["last_month"]),
                )
            return _(
                "Your dues waiver request %(case)s was declined.", case=params["case"]
            )
        case NotificationKind.SURVEY_OPENED:
            return _("A new member survey is open. Your answers are anonymous.")
        case NotificationKind.PAYMENT_RECEIVED:
            return _payment(params)
    return _("Something new concerns you.")


def _payment(params: Mapping[str, Any]) -> object:
    amount = format_money(int(params["amount_cents"]))
    method = _method(params["method"])
    day = _day(params["paid_on"])
    first, last = params.get("first_month"), params.get("last_month")
    if first and last and first != last:
        return _(
            "Your dues payment of %(amount)s (%(method)s, %(day)s) was received. "
            "It covers %(first)s to %(last)s.",
            amount=amount,
            method=method,
            day=day,
            first=_month(first),
            last=_month(last),
        )
    if first:
        return _(
            "Your dues payment of %(amount)s (%(method)s, %(day)s) was received. "
            "It covers %(month)s.",
            amount=amount,
            method=method,
            day=day,
            month=_month(first),
        )
    return _(
        "Your dues payment of %(amount)s (%(method)s, %(day)s) was received.",
        amount=amount,
        method=method,
        day=day,
    )


#: Where each kind's line links to, for the person it was sent to.
_PAGES: dict[str, str] = {
    NotificationKind.APPLICANT_WAITING: "members.applicants",
    NotificationKind.APPLICATION_ACCEPTED: "members.profile",
    NotificationKind.GRIEVANCE_OPENED: "grievances.mine",
    NotificationKind.GRIEVANCE_MOVED: "grievances.mine",
    NotificationKind.GRIEVANCE_CLOSED: "grievances.mine",
    NotificationKind.WAIVER_DECIDED: "dues.index",
    NotificationKind.SURVEY_OPENED: "survey.answer",
    NotificationKind.PAYMENT_RECEIVED: "dues.history",
}


def page_endpoint(kind: str) -> str | None:
    return _PAGES.get(kind)


def page_url(kind: str) -> str | None:
    endpoint = page_endpoint(kind)
    return url_for(endpoint) if endpoint else None


_SUBJECTS: dict[str, LazyString] = {
    NotificationKind.APPLICANT_WAITING: _l("A new application to join is waiting"),
    NotificationKind.APPLICATION_ACCEPTED: _l("Your application to join was accepted"),
    NotificationKind.APPLICATION_DECLINED: _l("About your application to join"),
    NotificationKind.GRIEVANCE_OPENED: _l("News about your grievance"),
    NotificationKind.GRIEVANCE_MOVED: _l("News about your grievance"),
    NotificationKind.GRIEVANCE_CLOSED: _l("News about your grievance"),
    NotificationKind.WAIVER_DECIDED: _l("Your dues waiver request was decided"),
    NotificationKind.SURVEY_OPENED: _l("A member survey is open"),
    NotificationKind.PAYMENT_RECEIVED: _l("Receipt for your union dues"),
}


def email_subject(kind: str) -> str:
    """A short subject that says what kind of news it is, not the news: a subject
    line shows in lists that others may see."""
    found = _SUBJECTS.get(kind)
    return str(found) if found is not None else _("News from your union")
