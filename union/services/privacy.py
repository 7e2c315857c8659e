"""Members' privacy rights (PIPEDA principle 4.9 and 4.5) and the breach register.

* `personal_data`: everything held about a member, for them to read or download;
* correction requests: a member asks, an admin corrects or explains why not;
* `erase_member`: a member leaves and their personal information goes, while the
  union's books and published figures stay as they were;
* the breach register every organization must keep (PIPEDA s. 10.3).
"""

from __future__ import annotations

import enum
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from union import clock
from union.adapters.payments import GatewayError, StripeGateway
from union.db import db
from union.errors import NotFound, ValidationFailed
from union.i18n import _
from union.models import (
    AccountToken,
    Breach,
    CalendarFeed,
    CheckoutAttempt,
    ContactPreference,
    CorrectionRequest,
    CorrectionStatus,
    DuesLevel,
    DuesLevelChoice,
    DuesNotice,
    DuesPayment,
    DuesSubscription,
    DuesWaiver,
    Employment,
    Grievance,
    LoginSession,
    Member,
    MemberStatus,
    Notification,
    NotificationChoice,
    RoleGrant,
    StewardAssignment,
    SurveyReceipt,
    User,
    WaiverReason,
    grievance_grievants,
)
from union.models.members import new_public_id
from union.services import audit, grievances, messages, survey
from union.services.card_dues import CardPaymentsUnavailable
from union.services.paging import Page, paginate

#: What an erased member's record is called from then on.
ERASED_NAME = "Former member"
#: PIPEDA gives an organization 30 days to answer a request for access or correction.
RESPONSE_DAYS = 30


# Everything held about a member ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThirdParty:
    name: str
    purpose: str
    data_shared: str
    #: Whether this member's information has actually gone there.
    used: bool


def third_parties(
    member: Member, *, card_payments: bool, mail_provider: str | None, host: str | None
) -> list[ThirdParty]:
    """Who else holds or handles the member's information, in plain words."""
    parties = [
        ThirdParty(
            name=mail_provider or _("Our email provider"),
            purpose=_("Delivering the emails the union sends you."),
            data_shared=_("Your email address and the emails themselves."),
            used=member.user_id is not None,
        ),
        ThirdParty(
            name=host or _("Our hosting provider"),
            purpose=_("Running this website and its database."),
            data_shared=_("Everything on this page, stored encrypted where sensitive."),
            used=True,
        ),
    ]
    if card_payments or member.stripe_customer_id:
        parties.insert(
            0,
            ThirdParty(
                name="Stripe",
                purpose=_("Taking card payments for dues."),
                data_shared=_(
                    "Your email address, a random reference number (never your name, "
                    "workplace or dues level) and the card details you type on "
                    "Stripe's page."
                ),
                used=member.stripe_customer_id is not None,
            ),
        )
    return parties


#: Fields that hold a month (its first day), written "2026-11" in the download.
_MONTH_FIELDS = frozenset({"from_month", "months_covered", "first_month", "last_month"})


def personal_data(
    member: Member,
    *,
    now: datetime,
    card_payments: bool = False,
    mail_provider: str | None = None,
    host: str | None = None,
) -> dict[str, Any]:
    """Everything the union holds about this member, as the download's plain values
    (see `downloadable`)."""
    return downloadable(
        held_about(
            member,
            now=now,
            card_payments=card_payments,
            mail_provider=mail_provider,
            host=host,
        )
    )


def downloadable(held: dict[str, Any]) -> dict[str, Any]:
    """What `held_about` returns, in plain values for a file to keep or take
    elsewhere: times and days in ISO 8601, months as "2026-11", each choice by its
    code, a dues level by its name."""
    plain: dict[str, Any] = _plain(held)
    return plain


def _plain(value: object, *, month: bool = False) -> Any:
    if isinstance(value, dict):
        return {
            key: _plain(item, month=key in _MONTH_FIELDS) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_plain(item, month=month) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.strftime("%Y-%m") if month else value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, DuesLevel):
        return value.name
    return value


def held_about(
    member: Member,
    *,
    now: datetime,
    card_payments: bool = False,
    mail_provider: str | None = None,
    host: str | None = None,
) -> dict[str, Any]:
    """Everything the union holds about this member, in a bounded number of
    queries, as values to show: aware times, days (a month is its first day),
    enum members, cents. Grievances show what the member may see of them: never
    stewards' notes, documents or the other people named.

    One helper a section, in the download's order (tests pin it): a new place that
    holds personal information is one more helper and one more line here."""
    return {
        "generated_at": now,
        "account": _account(member.user, now=now),
        "member": _member(member),
        "employment": _employment(member),
        "dues": _dues(member),
        "waivers": _waivers(member),
        "grievances": _grievances(member.user, now=now),
        # Only that they answered: the answers themselves cannot be found again.
        "survey_rounds_answered": _survey_rounds(member),
        "correction_requests": _corrections(member),
        "notifications": _notifications(member.user),
        "message_consent": _message_consent(member),
        "record_of_access": _record_of_access(member),
        "third_parties": _third_parties(
            member, card_payments=card_payments, mail_provider=mail_provider, host=host
        ),
    }


def _account(user: User | None, *, now: datetime) -> dict[str, Any] | None:
    if user is None:
        return None
    sessions = db.session.scalars(
        sa.select(LoginSession)
        .where(LoginSession.user_id == user.id)
        .order_by(LoginSession.created_at.desc())
    ).all()
    return {
        "email": user.email,
        "email_confirmed_at": user.email_confirmed_at,
        "created_at": user.created_at,
        "invited_at": user.invited_at,
        "roles": sorted(user.roles),
        "language": user.locale,
        "sign_ins": [
            {
                "started_at": login.created_at,
                "last_seen_at": login.last_seen_at,
                "ended_at": login.revoked_at
                or (login.expires_at if login.expires_at <= now else None),
            }
            for login in sessions
        ],
    }


def _member(member: Member) -> dict[str, Any]:
    return {
        "member_number": member.member_number,
        "chosen_name": member.chosen_name,
        "legal_name": member.legal_name,
        "pronouns": member.pronouns,
        "phone": member.phone,
        "contact_preference": member.contact_preference,
        "membership_class": member.membership_class,
        "status": member.status,
        "dues_level": member.dues_level,
        "joined_on": member.joined_on,
        "accepted_on": member.accepted_on,
        "left_on": member.left_on,
        "pays_by_card_through_stripe": member.stripe_customer_id is not None,
    }


def _employment(member: Member) -> list[dict[str, Any]]:
    employments = db.session.scalars(
        sa.select(Employment)
        .where(Employment.member_id == member.id)
        .options(
            joinedload(Employment.workplace), joinedload(Employment.classification)
        )
        .order_by(Employment.id)
    ).all()
    return [
        {
            "workplace": job.workplace.name,
            "job": job.classification.name if job.classification else None,
            "started_on": job.started_on,
            "ended_on": job.ended_on,
        }
        for job in employments
    ]


def _dues(member: Member) -> dict[str, Any]:
    return {
        "levels": _dues_levels(member),
        "payments": _dues_payments(member),
        "card_subscriptions": _card_subscriptions(member),
        "emails_sent": _dues_emails(member),
    }


def _dues_levels(member: Member) -> list[dict[str, Any]]:
    choices = db.session.scalars(
        sa.select(DuesLevelChoice)
        .where(DuesLevelChoice.member_id == member.id)
        .options(joinedload(DuesLevelChoice.level))
        .order_by(DuesLevelChoice.effective_month)
    ).all()
    return [
        {
            "level": choice.level,
            "from_month": choice.effective_month,
            "chosen_at": choice.chosen_at,
        }
        for choice in choices
    ]


def _dues_payments(member: Member) -> list[dict[str, Any]]:
    payments = db.session.scalars(
        sa.select(DuesPayment)
        .where(DuesPayment.member_id == member.id)
        .options(selectinload(DuesPayment.coverage))
        .order_by(DuesPayment.paid_on, DuesPayment.id)
    ).all()
    return [
        {
            "paid_on": payment.paid_on,
            "method": payment.method,
            "amount_cents": payment.amount_cents,
            "initiation_cents": payment.initiation_cents,
            "currency": payment.currency,
            "months_covered": [row.month for row in payment.coverage],
            "receipt_number": payment.receipt_number,
            "reference": payment.reference,
            "refunded_cents": payment.refunded_cents,
            "disputed_cents": payment.disputed_cents,
        }
        for payment in payments
    ]


def _card_subscriptions(member: Member) -> list[dict[str, Any]]:
    subscriptions = db.session.scalars(
        sa.select(DuesSubscription).where(DuesSubscription.member_id == member.id)
    ).all()
    return [
        {
            "status": row.status,
            "cancel_at_period_end": row.cancel_at_period_end,
            "current_period_end": row.current_period_end,
        }
        for row in subscriptions
    ]


def _dues_emails(member: Member) -> list[dict[str, Any]]:
    notices = db.session.scalars(
        sa.select(DuesNotice)
        .where(DuesNotice.member_id == member.id)
        .order_by(DuesNotice.sent_at)
    ).all()
    return [
        {
            "kind": notice.kind,
            "about": notice.key,
            "sent_at": notice.sent_at,
        }
        for notice in notices
    ]


def _waivers(member: Member) -> list[dict[str, Any]]:
    waivers = db.session.scalars(
        sa.select(DuesWaiver)
        .where(DuesWaiver.member_id == member.id)
        .order_by(DuesWaiver.requested_at)
    ).all()
    return [
        {
            "case_number": waiver.case_number,
            "reason": waiver.reason,
            "first_month": waiver.first_month,
            "last_month": waiver.last_month,
            "status": waiver.status,
            "requested_at": waiver.requested_at,
            "decided_at": waiver.decided_at,
        }
        for waiver in waivers
    ]


def _grievances(user: User | None, *, now: datetime) -> list[dict[str, Any]]:
    if user is None:
        return []
    return [
        {
            "number": case.number,
            "title": case.title,
            "category": case.category,
            "step": case.step,
            "opened_on": case.opened_on,
            "deadline_on": case.deadline_on,
            "closed_on": case.closed_on,
            "outcome": case.outcome,
            "money_recovered_cents": case.money_recovered_cents,
            "remedy_obtained": case.remedy_obtained,
            "raised_online": case.is_raised_online,
            "contact_preference": case.contact_preference,
        }
        for case in grievances.own_grievances(user, today=clock.today(now))
    ]


def _survey_rounds(member: Member) -> list[dict[str, Any]]:
    return [
        {"round": answered.name, "opened_on": answered.opened_on}
        for answered in survey.receipts_of(member)
    ]


def _corrections(member: Member) -> list[dict[str, Any]]:
    return [
        {
            "requested_at": request.requested_at,
            "details": request.details,
            "status": request.status,
            "response": request.response,
            "resolved_at": request.resolved_at,
        }
        for request in own_corrections(member)
    ]


def _notifications(user: User | None) -> dict[str, Any]:
    """What the member was told in the app (each by its kind and values, never
    more), and the kinds they chose not to get by email."""
    if user is None:
        return {"told": [], "emails_turned_off": []}
    told = db.session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at, Notification.id)
    )
    turned_off = db.session.scalars(
        sa.select(NotificationChoice.kind)
        .where(
            NotificationChoice.user_id == user.id,
            NotificationChoice.email.is_(False),
        )
        .order_by(NotificationChoice.kind)
    )
    return {
        "told": [
            {
                "kind": row.kind,
                "about": json.loads(row.params),
                "told_at": row.created_at,
                "read_at": row.read_at,
            }
            for row in told
        ],
        "emails_turned_off": list(turned_off),
    }


def _message_consent(member: Member) -> list[dict[str, Any]]:
    """How the member agreed or declined to be written to, by channel."""
    return [
        {
            "channel": consent.channel,
            "granted": consent.granted,
            "at": consent.at,
            "source": consent.source,
        }
        for _channel, consent in sorted(messages.consents(member).items())
    ]


def _record_of_access(member: Member) -> list[dict[str, Any]]:
    return [
        {
            "at": entry.at,
            "by": _who(entry, member),
            "action": entry.action,
            "detail": entry.detail,
        }
        for entry in audit.entries_about(member)
    ]


def _third_parties(
    member: Member, *, card_payments: bool, mail_provider: str | None, host: str | None
) -> list[dict[str, Any]]:
    return [
        {
            "name": str(party.name),
            "purpose": str(party.purpose),
            "data_shared": str(party.data_shared),
            "used_for_you": party.used,
        }
        for party in third_parties(
            member,
            card_payments=card_payments,
            mail_provider=mail_provider,
            host=host,
        )
    ]


def _who(entry: audit.AuditRow, member: Member) -> str:
    if entry.actor_id is None:
        return str(_("the system"))
    if entry.actor_id == member.user_id:
        return str(_("you"))
    return entry.actor_name or str(_("a removed account"))


def record_data_downloaded(
    member: Member, *, actor: User, now: datetime, kind: str
) -> None:
    audit.record(
        "member.data_downloaded",
        actor=actor,
        now=now,
        subject=member,
        detail=f"format={kind}",
    )
    db.session.flush()


# Correction requests --------------------------------------------------------------


def request_correction(
    member: Member, details: str, *, actor: User, now: datetime
) -> CorrectionRequest:
    text = details.strip()
    if not text:
        raise ValidationFailed(
            {"details": _("Tell us what is wrong and what it should say.")}
        )
    request = CorrectionRequest(
        member_id=member.id,
        details=text,
        status=CorrectionStatus.OPEN,
        requested_at=now,
    )
    db.session.add(request)
    db.session.flush()
    audit.record("correction.requested", actor=actor, now=now, subject=member)
    db.session.flush()
    return request


def own_corrections(member: Member) -> list[CorrectionRequest]:
    return list(
        db.session.scalars(
            sa.select(CorrectionRequest)
            .where(CorrectionRequest.member_id == member.id)
            .order_by(
                CorrectionRequest.requested_at.desc(), CorrectionRequest.id.desc()
            )
        )
    )


def answer_due_on(request: CorrectionRequest) -> date:
    return clock.today(request.requested_at) + timedelta(days=RESPONSE_DAYS)


def corrections_page(
    *, open_only: bool, page: int, per_page: int
) -> Page[CorrectionRequest]:
    """Correction requests for admins: open ones first, oldest first among them."""
    statement = sa.select(CorrectionRequest).options(
        joinedload(CorrectionRequest.member)
    )
    if open_only:
        statement = statement.where(CorrectionRequest.status == CorrectionStatus.OPEN)
    statement = statement.order_by(
        (CorrectionRequest.status != CorrectionStatus.OPEN),
        CorrectionRequest.requested_at,
        CorrectionRequest.id,
    )
    return paginate(statement, page=page, per_page=per_page)


def correction_by_id(request_id: int) -> CorrectionRequest:
    request = db.session.scalar(
        sa.select(CorrectionRequest)
        .where(CorrectionRequest.id == request_id)
        .options(joinedload(CorrectionRequest.member).joinedload(Member.user))
    )
    if request is None:
        raise NotFound
    return request


def resolve_correction(
    request: CorrectionRequest,
    status: CorrectionStatus,
    response: str,
    *,
    actor: User,
    now: datetime,
) -> None:
    """Closes a request as corrected or declined, with an answer for the member.
    Declining needs a reason."""
    if status is CorrectionStatus.OPEN:
        raise ValidationFailed({"status": _("Choose corrected or declined.")})
    if status is CorrectionStatus.DECLINED and not response.strip():
        raise ValidationFailed({"response": _("Say why the record stays as it is.")})
    request.status = status
    request.response = response.strip() or None
    request.resolved_at = now
    request.resolved_by_id = actor.id
    audit.record(
        "correction.resolved",
        actor=actor,
        now=now,
        subject=request.member,
        detail=f"status={status}",
    )
    db.session.flush()


# Leaving: erasure -----------------------------------------------------------------


def _cancel_at_stripe(
    member: Member, gateway: StripeGateway | None, now: datetime
) -> None:
    live = db.session.scalars(
        sa.select(DuesSubscription).where(DuesSubscription.member_id == member.id)
    ).all()
    live = [row for row in live if row.is_live]
    if not live and member.stripe_customer_id is None:
        return
    if gateway is None:
        raise CardPaymentsUnavailable(
            _(
                "Your card payments can't be stopped right now, so nothing was "
                "erased. Try again later, or ask an admin."
            )
        )
    try:
        for row in live:
            gateway.cancel_subscription(row.stripe_subscription_id)
        if member.stripe_customer_id is not None:
            gateway.delete_customer(member.stripe_customer_id)
    except GatewayError as error:
        raise CardPaymentsUnavailable(
            _(
                "Stripe, which takes card payments, can't be reached right now, so "
                "nothing was erased. Try again in a few minutes."
            )
        ) from error
    for row in live:
        row.status = "canceled"
        row.cancel_at_period_end = False
        row.last_event_created = max(row.last_event_created, now)


def erase_member(
    member: Member,
    *,
    actor: User,
    now: datetime,
    gateway: StripeGateway | None,
) -> None:
    """A member leaves and their personal information is erased.

    Stripe first: the card subscription is cancelled and the Stripe customer (with
    its email and card) deleted; if Stripe cannot be reached, nothing changes and
    CardPaymentsUnavailable says so. Then, in the caller's transaction:

    * the member record keeps only what the union's books and published figures
      need (member number, dues level history, payments and months covered,
      workplace of past employment, grievance links): names, pronouns, phone,
      contact preference (also the one given on problems they raised online),
      job, employment dates and the Stripe link are cleared,
      the public id is replaced, and the status becomes resigned;
    * the account can no longer sign in: email replaced by a meaningless address,
      password, name and language cleared, disabled, roles, steward assignments,
      calendar feed, sessions, emailed links, notifications and their email
      choices removed;
      calendar feed, sessions and emailed links removed;
    * the email and phone join the unsubscribed list as keyed hashes, so no
      message goes to them again, and the member's consent rows are deleted;
    * hardship waiver reasons become "other"; correction requests, card checkout
      attempts, the record of emails sent and survey receipts are deleted
      (the anonymous answers stay: nothing links them to anyone).

    Grievances stay in the union's files (their text is the steward's) until the
    retention job anonymizes them; audit rows stay, as they hold no values.
    """
    _cancel_at_stripe(member, gateway, now)
    today = clock.today(now)
    user = member.user
    # While the email and phone are still known: their hashes keep every later
    # message away from them, and consent given to the union goes with them.
    messages.forget_contacts(member, now=now)

    member.chosen_name = ERASED_NAME
    member.legal_name = None
    member.pronouns = None
    member.phone = None
    member.contact_preference = ContactPreference.IN_PERSON
    member.stripe_customer_id = None
    member.public_id = new_public_id()
    member.status = MemberStatus.RESIGNED
    member.left_on = member.left_on or today
    member.updated_at = now
    for job in member.employments:
        job.classification_id = None
        job.started_on = None
        job.ended_on = job.ended_on or today

    db.session.execute(
        sa.update(DuesWaiver)
        .where(DuesWaiver.member_id == member.id)
        .values(reason=WaiverReason.OTHER)
    )
    for model in (CorrectionRequest, CheckoutAttempt, DuesNotice, SurveyReceipt):
        db.session.execute(sa.delete(model).where(model.member_id == member.id))
    # How they asked to be reached about the problems they raised is theirs.
    db.session.execute(
        sa.update(Grievance)
        .where(
            Grievance.id.in_(
                sa.select(grievance_grievants.c.grievance_id).where(
                    grievance_grievants.c.member_id == member.id
                )
            )
        )
        .values(contact_preference=None)
    )

    if user is not None:
        _erase_account(user, now=now)
        member.user_id = None
    audit.record("member.erased", actor=actor, now=now, subject=member)
    db.session.flush()


def _erase_account(user: User, *, now: datetime) -> None:
    for model in (
        LoginSession,
        AccountToken,
        CalendarFeed,
        StewardAssignment,
        RoleGrant,
        Notification,
        NotificationChoice,
    ):
        db.session.execute(sa.delete(model).where(model.user_id == user.id))
    db.session.expire(user, ["role_grants", "steward_assignments"])
    user.email = f"erased-{secrets.token_hex(12)}@erased.invalid"
    user.name = None
    user.password_hash = None
    user.email_confirmed_at = None
    user.locale = None
    user.disabled_at = user.disabled_at or now


# The breach register --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BreachDetails:
    discovered_on: date
    description: str
    data_affected: str
    people_affected: int
    real_risk_of_significant_harm: bool
    occurred_on: date | None = None
    individuals_notified_on: date | None = None
    commissioner_reported_on: date | None = None
    measures: str = ""


def _check_breach(details: BreachDetails, today: date) -> None:
    errors: dict[str, str] = {}
    if not details.description.strip():
        errors["description"] = _("Describe what happened.")
    if not details.data_affected.strip():
        errors["data_affected"] = _(
            "Say which kinds of personal information were involved."
        )
    if details.people_affected < 0:
        errors["people_affected"] = _("Enter 0 or more.")
    if details.discovered_on > today:
        errors["discovered_on"] = _("This date is in the future.")
    if details.occurred_on and details.occurred_on > details.discovered_on:
        errors["occurred_on"] = _("It cannot have happened after it was found.")
    for name in ("individuals_notified_on", "commissioner_reported_on"):
        value = getattr(details, name)
        if value is not None and value < details.discovered_on:
            errors[name] = _("This is before the breach was found.")
    if errors:
        raise ValidationFailed(errors)


def _apply_breach(breach: Breach, details: BreachDetails) -> None:
    breach.occurred_on = details.occurred_on
    breach.discovered_on = details.discovered_on
    breach.description = details.description.strip()
    breach.data_affected = details.data_affected.strip()
    breach.people_affected = details.people_affected
    breach.real_risk_of_significant_harm = details.real_risk_of_significant_harm
    breach.individuals_notified_on = details.individuals_notified_on
    breach.commissioner_reported_on = details.commissioner_reported_on
    breach.measures = details.measures.strip()


def record_breach(details: BreachDetails, *, actor: User, now: datetime) -> Breach:
    _check_breach(details, clock.today(now))
    breach = Breach(recorded_at=now, recorded_by_id=actor.id, updated_at=now)
    _apply_breach(breach, details)
    db.session.add(breach)
    db.session.flush()
    audit.record("breach.recorded", actor=actor, now=now, subject=breach)
    db.session.flush()
    return breach


def update_breach(
    breach: Breach, details: BreachDetails, *, actor: User, now: datetime
) -> None:
    _check_breach(details, clock.today(now))
    _apply_breach(breach, details)
    breach.updated_at = now
    audit.record("breach.updated", actor=actor, now=now, subject=breach)
    db.session.flush()


def breaches() -> list[Breach]:
    return list(
        db.session.scalars(
            sa.select(Breach).order_by(Breach.discovered_on.desc(), Breach.id.desc())
        )
    )


def breach_by_id(breach_id: int) -> Breach:
    breach = db.session.get(Breach, breach_id)
    if breach is None:
        raise NotFound
    return breach
