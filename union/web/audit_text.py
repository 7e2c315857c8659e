"""The audit log in plain words: what each recorded action means, what its detail
says and what a line is about.

The log stores short codes ("member.viewed", "role=steward"); admins reading the
log and members reading who looked at their record see these sentences instead.
The codes themselves stay as they are in the CSV export and the JSON download.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import date

from flask_babel import LazyString

from union.i18n import _, _l, format_day, format_number, ngettext
from union.labels import label
from union.models import (
    CorrectionStatus,
    GrievanceOutcome,
    GrievanceStep,
    MemberStatus,
    PaymentMethod,
    Role,
    Sector,
    TokenPurpose,
)
from union.services.audit import row_id
from union.services.reports.catalogue import entry

#: Each area of the log, in the order the filter offers them.
AREAS: dict[str, LazyString] = {
    "account": _l("Accounts and sign-ins"),
    "role": _l("Roles"),
    "member": _l("Members"),
    "correction": _l("Correction requests"),
    "dues": _l("Dues"),
    "ledger": _l("Dues ledger"),
    "arrears": _l("Arrears"),
    "grievance": _l("Grievances"),
    "calendar_feed": _l("Deadline calendars"),
    "workplace": _l("Workplaces"),
    "classification": _l("Jobs"),
    "roster": _l("Roster"),
    "survey": _l("Survey"),
    "report": _l("Reports"),
    "breach": _l("Breach register"),
    "setting": _l("Union settings"),
    "access": _l("Refused pages"),
    "audit": _l("Audit log"),
    "retention": _l("Clearing old records"),
    "keys": _l("Encryption keys"),
    "documents": _l("Document storage"),
    "job": _l("Background work"),
    "message": _l("Messages to members"),
}

#: What every action the app records means, as a short phrase that reads the same
#: whoever did it ("Member record viewed", never "You viewed").
ACTIONS: dict[str, LazyString] = {
    "job.retried": _l("Background work retried"),
    "message.sent": _l("Message to members sent"),
    "message.paused": _l("Message to members paused"),
    "message.resumed": _l("Message to members resumed"),
    "account.created": _l("Account created"),
    "account.signed_in": _l("Signed in"),
    "account.signed_out": _l("Signed out"),
    "account.sign_in_failed": _l("Sign-in failed (wrong password)"),
    "account.sign_in_throttled": _l("Sign-in paused after too many tries"),
    "account.password_confirmed": _l("Password typed again to confirm"),
    "account.password_changed": _l("Password changed"),
    f"account.password_set.{TokenPurpose.ACTIVATE}": _l(
        "Password chosen after joining"
    ),
    f"account.password_set.{TokenPurpose.RESET}": _l(
        "Password chosen from a reset link"
    ),
    f"account.password_set.{TokenPurpose.CHANGE_EMAIL}": _l(
        "Password chosen from an email link"
    ),
    "account.email_changed": _l("Email address changed"),
    "account.other_sessions_ended": _l("Signed out on other devices"),
    "account.disabled": _l("Account disabled"),
    "account.enabled": _l("Account enabled again"),
    "role.granted": _l("Role given"),
    "role.revoked": _l("Role removed"),
    "member.joined": _l("Applied to join"),
    "member.accepted": _l("Membership accepted"),
    "member.application_declined": _l("Application declined"),
    "member.status_changed": _l("Membership status changed"),
    "member.updated": _l("Member details changed"),
    "member.viewed": _l("Member record viewed"),
    "member.employment_added": _l("Job at a workplace added"),
    "member.employment_ended": _l("Job at a workplace ended"),
    "member.data_downloaded": _l("Personal information read or downloaded"),
    "member.erased": _l("Personal information erased"),
    "member.told_in_person": _l("Told in person what the call list showed"),
    "correction.requested": _l("Correction asked for"),
    "correction.resolved": _l("Correction request answered"),
    "dues.level_changed": _l("Dues level changed"),
    "dues.payment_recorded": _l("Payment recorded"),
    "dues.payment_refunded": _l("Payment refunded"),
    "dues.payment_disputed": _l("Card payment disputed at the bank"),
    "dues.card_checkout_started": _l("Card payment started"),
    "dues.waiver_requested": _l("Hardship waiver asked for"),
    "dues.waiver_granted": _l("Hardship waiver granted"),
    "dues.waiver_declined": _l("Hardship waiver declined"),
    "dues.level_added": _l("Dues level added"),
    "dues.level_updated": _l("Dues level edited"),
    "dues.rate_scheduled": _l("New dues amount scheduled"),
    "dues.level_retired": _l("Dues level retired"),
    "dues.remittance_confirmed": _l("Remittance confirmed"),
    "dues.reconciled": _l("Card payments checked against Stripe"),
    "ledger.exported": _l("Dues ledger downloaded"),
    "arrears.exported": _l("Arrears list downloaded"),
    "grievance.opened": _l("Case opened"),
    "grievance.raised": _l("Problem raised online by the member"),
    "grievance.viewed": _l("Case viewed"),
    "grievance.case_file_viewed": _l("Case file opened to print"),
    "grievance.case_file_downloaded": _l("Case file downloaded as a PDF"),
    "grievance.details_changed": _l("Case details changed"),
    "grievance.moved": _l("Case moved to another step"),
    "grievance.closed": _l("Case closed"),
    "grievance.note_added": _l("Note added to a case"),
    "grievance.document_added": _l("Document added to a case"),
    "grievance.document_viewed": _l("Case document opened"),
    "grievance.steward_reassigned": _l("Case given to another steward"),
    "grievance.grievant_added": _l("Grievant added to a case"),
    "grievance.step_days_changed": _l("Days allowed for each step changed"),
    "grievance.counts_viewed": _l("Grievance numbers viewed"),
    "grievance.counts_exported": _l("Grievance numbers downloaded"),
    "calendar_feed.created": _l("Deadline calendar link made"),
    "calendar_feed.revoked": _l("Deadline calendar link turned off"),
    "workplace.created": _l("Workplace added"),
    "workplace.updated": _l("Workplace details changed"),
    "workplace.confirmed": _l("Workplace confirmed"),
    "workplace.merged": _l("Workplaces merged"),
    "workplace.funding_added": _l("Funding added"),
    "workplace.funding_updated": _l("Funding changed"),
    "workplace.funding_removed": _l("Funding removed"),
    "workplace.steward_assigned": _l("Steward assigned to the workplace"),
    "workplace.steward_unassigned": _l("Steward taken off the workplace"),
    "classification.added": _l("Job added"),
    "roster.imported": _l("Roster imported"),
    "roster.invited": _l("Imported members invited to set up their accounts"),
    "roster.exported": _l("Roster downloaded"),
    "survey.round_opened": _l("Survey round opened"),
    "survey.round_closed": _l("Survey round closed"),
    "report.pulled": _l("Report viewed"),
    "report.exported": _l("Report downloaded"),
    "breach.recorded": _l("Breach recorded"),
    "breach.updated": _l("Breach record updated"),
    "setting.changed": _l("Union setting changed"),
    "access.refused": _l("Page refused"),
    "audit.exported": _l("Audit log downloaded"),
    "retention.applied": _l("Old records cleared on schedule"),
    "keys.rotated": _l("Encryption keys changed"),
    "documents.moved": _l("Grievance documents moved to another store"),
}

#: Each kind of thing a line can be about (`audit.SUBJECT_TYPES`), named when the
#: thing itself has no name to show (a payment) or is gone (a merged workplace).
SUBJECT_KINDS: dict[str, LazyString] = {
    "member": _l("A member"),
    "user": _l("An account"),
    "grievance": _l("A case"),
    "dueswaiver": _l("A hardship waiver"),
    "duespayment": _l("A payment"),
    "dueslevel": _l("A dues level"),
    "remittance": _l("A remittance"),
    "workplace": _l("A workplace"),
    "jobclassification": _l("A job"),
    "surveyround": _l("A survey round"),
    "report": _l("A report"),
    "breach": _l("An entry in the breach register"),
    "rosterimport": _l("A roster import"),
    "job": _l("A piece of background work"),
    "membermessage": _l("A message to members"),
}

#: Settings by the name the settings page gives them.
SETTINGS: dict[str, LazyString] = {
    "auto_accept_applicants": _l("Accept applicants automatically"),
}


def action_label(action: str) -> str:
    """A recorded action in plain words. A code with no words (written by a later
    version of the app, say) is shown as it is rather than hidden."""
    found = ACTIONS.get(action)
    return str(found) if found is not None else action


def action_choices() -> dict[str | None, list[tuple[str, str]]]:
    """The audit filter's choices: anything, then each area (the start of its
    codes) followed by each action in it."""
    grouped: dict[str | None, list[tuple[str, str]]] = {None: [("", _("Anything"))]}
    for area, area_name in AREAS.items():
        actions = [
            (code, str(name))
            for code, name in ACTIONS.items()
            if code.split(".", 1)[0] == area
        ]
        if len(actions) > 1:
            actions.insert(
                0, (f"{area}.", str(_("Everything under %(area)s", area=area_name)))
            )
        grouped[str(area_name)] = actions
    return grouped


def subject_text(kind: str | None, name: str | None) -> str:
    """What a line is about, the way the rest of the app names it: members by
    member number, accounts by the name shown for them, cases by case number.
    Never an internal id."""
    if kind is None:
        return ""
    if name is not None:
        match kind:
            case "member":
                return str(_("Member %(number)s", number=name))
            case "user":
                return str(_("Account: %(name)s", name=name))
            case "grievance":
                return str(_("Case %(number)s", number=name))
            case "dueswaiver":
                return str(_("Hardship waiver, case %(number)s", number=name))
            case "workplace":
                return str(_("Workplace: %(name)s", name=name))
            case "dueslevel":
                return str(_("Dues level: %(name)s", name=name))
            case "jobclassification":
                return str(_("Job: %(name)s", name=name))
            case "surveyround":
                return str(_("Survey round: %(name)s", name=name))
    found = SUBJECT_KINDS.get(kind)
    return str(found) if found is not None else str(_("Something else"))


# Details ------------------------------------------------------------------------------

#: Turns a detail's fields into words; None when they are not in the expected form.
Describe = Callable[[Mapping[str, str], Mapping[int, str]], str | None]


def detail_text(
    action: str, detail: str | None, user_names: Mapping[int, str] | None = None
) -> str:
    """A line's detail in plain words; empty when all it holds is an internal id.
    `user_names` names the accounts a detail may point at (a steward assigned).
    A detail in a form not known here is shown as stored, so nothing is lost."""
    if not detail:
        return ""
    describe = _DETAILS.get(action)
    if describe is None:
        return detail
    described = describe(_fields(detail), user_names or {})
    return detail if described is None else described


def _fields(detail: str) -> dict[str, str]:
    """ "method=cash,months=2" or "endpoint=x status=403" as a mapping; a bare word
    is kept under the empty name."""
    if detail.startswith("report="):
        # A report's address may hold spaces ("wages/union/-/round 3").
        return {"report": detail.removeprefix("report=")}
    fields: dict[str, str] = {}
    for part in detail.replace(",", " ").split():
        name, _equals, value = part.rpartition("=")
        fields[name] = value
    return fields


def _number(value: str | None) -> int | None:
    return row_id(value)


def _enum_label(kind: type[enum.Enum], value: str | None) -> str | None:
    try:
        return label(kind(value))
    except ValueError:
        return None


def _day(value: str | None) -> str | None:
    try:
        return format_day(date.fromisoformat(value or ""))
    except ValueError:
        return None


def _role(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    return _enum_label(Role, fields.get("role"))


def _member_status(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    found = _enum_label(MemberStatus, fields.get("status"))
    return None if found is None else _("Now %(status)s", status=found)


def _correction(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    return _enum_label(CorrectionStatus, fields.get("status"))


def _declined(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    number = _number(fields.get("member_number"))
    return None if number is None else _("Member %(number)s", number=number)


def _data_read(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    match fields.get("format"):
        case "page":
            return str(_("Read on the page"))
        case "json":
            return str(_("Downloaded as a file"))
    return None


def _payment(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    method = _enum_label(PaymentMethod, fields.get("method"))
    months = _number(fields.get("months"))
    if method is None or months is None:
        return None
    return str(
        ngettext(
            "%(method)s, %(num)d month",
            "%(method)s, %(num)d months",
            months,
            method=method,
        )
    )


def _dispute(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    match fields.get(""):
        case "withdrawn":
            return str(_("The bank took the money back while it decides"))
        case "reinstated":
            return str(_("The money came back to the union"))
    return None


def _repaired(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    count = _number(fields.get("repaired"))
    if count is None:
        return None
    return str(
        ngettext("%(num)d payment put right", "%(num)d payments put right", count)
    )


def _from_day(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    day = _day(fields.get("from"))
    return None if day is None else _("From %(day)s", day=day)


def _quarter(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    day = _day(fields.get("quarter"))
    return None if day is None else _("The quarter starting %(day)s", day=day)


def _imported(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    count = _number(fields.get("rows"))
    if count is None:
        return None
    return str(ngettext("%(num)d member imported", "%(num)d members imported", count))


def _invited(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    count = _number(fields.get("invited"))
    if count is None:
        return None
    return str(ngettext("%(num)d member invited", "%(num)d members invited", count))


def _case_file(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    notes = fields.get("notes")
    if notes == "included":
        return str(_("With the confidential notes"))
    if notes == "omitted":
        return str(_("Without the confidential notes"))
    return None


def _steward(fields: Mapping[str, str], users: Mapping[int, str]) -> str | None:
    user_id = _number(fields.get("user"))
    if user_id is None:
        return None
    return str(
        _("Steward: %(name)s", name=users.get(user_id) or _("a removed account"))
    )


def _grievants(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    count = _number(fields.get("grievants"))
    if count is None:
        return None
    if count == 0:
        return str(_("A group or policy grievance"))
    return str(ngettext("%(num)d grievant named", "%(num)d grievants named", count))


def _step(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    step = _enum_label(GrievanceStep, fields.get("step"))
    return None if step is None else _("To %(step)s", step=step)


def _outcome(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    return _enum_label(GrievanceOutcome, fields.get("outcome"))


def _internal_id_only(_fields: Mapping[str, str], _users: Mapping[int, str]) -> str:
    return ""


def _report(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    name, _slash, rest = fields.get("report", "").partition("/")
    report = entry(name)
    if report is None:
        return None
    level, _slash, scope = rest.partition("/")
    scope = scope.partition("/")[0]
    match level:
        case "union":
            where = _("union-wide")
        case "sector":
            where = _enum_label(Sector, scope) or _("one sector")
        case "workplace":
            where = _("one workplace")
        case _:
            return str(report.title)
    return str(_("%(report)s, %(where)s", report=report.title, where=where))


def _setting(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    found = SETTINGS.get(fields.get("setting", ""))
    return None if found is None else str(found)


def _refused(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    page = fields.get("endpoint")
    match fields.get("status"):
        case "403":
            return str(_("Not allowed for this person: %(page)s", page=page))
        case "404":
            return str(_("Outside what this person may see: %(page)s", page=page))
    return None


def _cleared(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    counts = [_number(value) for value in fields.values()]
    if any(count is None for count in counts):
        return None
    total = sum(count or 0 for count in counts)
    return str(
        ngettext("%(num)d old record removed", "%(num)d old records removed", total)
    )


def _rotated(fields: Mapping[str, str], _users: Mapping[int, str]) -> str | None:
    count = _number(fields.get("values"))
    if count is None:
        return None
    return str(
        ngettext(
            "%(num)s value encrypted again",
            "%(num)s values encrypted again",
            count,
            num=format_number(count),
        )
    )


_DETAILS: dict[str, Describe] = {
    "role.granted": _role,
    "role.revoked": _role,
    "member.status_changed": _member_status,
    "member.application_declined": _declined,
    "member.data_downloaded": _data_read,
    "correction.resolved": _correction,
    "dues.payment_recorded": _payment,
    "dues.payment_disputed": _dispute,
    "dues.reconciled": _repaired,
    "dues.rate_scheduled": _from_day,
    "grievance.counts_viewed": _quarter,
    "grievance.counts_exported": _quarter,
    "grievance.opened": _grievants,
    "grievance.moved": _step,
    "grievance.case_file_viewed": _case_file,
    "grievance.case_file_downloaded": _case_file,
    "grievance.closed": _outcome,
    "grievance.steward_reassigned": _steward,
    "grievance.document_viewed": _internal_id_only,
    "workplace.steward_assigned": _steward,
    "workplace.steward_unassigned": _steward,
    "workplace.merged": _internal_id_only,
    "roster.imported": _imported,
    "roster.invited": _invited,
    "report.pulled": _report,
    "report.exported": _report,
    "setting.changed": _setting,
    "access.refused": _refused,
    "retention.applied": _cleared,
    "keys.rotated": _rotated,
}
