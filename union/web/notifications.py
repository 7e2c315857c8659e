"""Emails, rendered from templates/email/ and recorded as jobs: they go out from
the worker once the change they tell of has committed."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from flask import current_app, render_template

from union.adapters.mail import Mailer, Message
from union.clock import utcnow
from union.i18n import _, speaking
from union.labels import label
from union.models import Job, NotificationKind, User
from union.services import jobs, notifications_feed
from union.services.grievances import DeadlineReminder
from union.web.links import public_url
from union.web.notification_text import email_subject, headline, page_endpoint

log = logging.getLogger(__name__)


def mailer() -> Mailer:
    sender: Mailer = current_app.extensions["union_mailer"]
    return sender


def _send(
    user: User | None,
    subject: str,
    template: str,
    *,
    to: str | None = None,
    key: str | None = None,
    headers: Mapping[str, str] | None = None,
    **context: object,
) -> bool:
    """Records one email to send, in the caller's transaction: it goes out once
    that commits, from the worker, and is retried there if the mail server is
    away. The body is written now, in the language in force, and kept encrypted
    until sent. `key` makes it idempotent (one email per key). True when
    recorded."""
    body = render_template(
        f"email/{template}.txt",
        user=user,
        union_name=current_app.config["UNION_NAME"],
        **context,
    )
    address = to or (user.email if user is not None else None)
    if not address:
        return False
    return (
        queue_email(
            Message(to=address, subject=subject, body=body, headers=headers or {}),
            template=template,
            key=key,
        )
        is not None
    )


def queue_email(
    message: Message, *, template: str, key: str | None = None
) -> Job | None:
    """Records `message` as an email job (flushed); None if `key` was used already."""
    return jobs.enqueue(
        EMAIL_JOB,
        {
            "to": message.to,
            "subject": message.subject,
            "body": message.body,
            "headers": dict(message.headers),
            "template": template,
        },
        now=utcnow(),
        key=key,
    )


EMAIL_JOB = "email"


def message_id(job_key: str) -> str:
    """The Message-ID of the email a job sends: derived from its key, so every
    attempt at that email carries the same one, and nothing about the person."""
    domain = parseaddr(current_app.config["MAIL_FROM"])[1].partition("@")[2]
    digest = hashlib.sha256(job_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain or 'union.invalid'}>"


@jobs.handler(EMAIL_JOB)
def _deliver(payload: Mapping[str, Any], now: datetime) -> None:
    """Sends one recorded email. A failure is raised to the job runner, which
    retries later (the error's class is kept, never the address)."""
    job_key = str(payload.get(jobs.KEY_FIELD) or "")
    mailer().send(
        Message(
            to=str(payload["to"]),
            subject=str(payload["subject"]),
            body=str(payload["body"]),
            message_id=message_id(job_key) if job_key else None,
            headers=dict(payload.get("headers") or {}),
        )
    )


def send_join_link(user: User, token: str) -> bool:
    with speaking(user.locale):
        link = public_url("auth.activate", token=token)
        return _send(user, _("Finish joining the union"), "join_link", link=link)


def send_invitation(user: User, token: str, *, lifetime: timedelta) -> bool:
    """To a member added from a roster file: the link to choose a password."""
    with speaking(user.locale):
        link = public_url("auth.activate", token=token)
        return _send(
            user,
            _("Your union membership is now online"),
            "invitation",
            link=link,
            days=lifetime.days,
        )


def send_already_registered(user: User, token: str | None) -> bool:
    with speaking(user.locale):
        link = public_url("auth.activate", token=token) if token else None
        return _send(
            user,
            _("Someone tried to join with your email"),
            "already_registered",
            link=link,
            sign_in=public_url("auth.login"),
            reset=public_url("auth.forgot_password"),
        )


def send_password_reset(user: User, token: str, *, first_time: bool) -> bool:
    with speaking(user.locale):
        link = public_url("auth.reset_password", token=token)
        subject = (
            _("Set up your union account") if first_time else _("Reset your password")
        )
        return _send(user, subject, "password_reset", link=link, first_time=first_time)


def send_payment_failed(user: User) -> bool:
    with speaking(user.locale):
        return _send(
            user,
            _("Your card payment didn't go through"),
            "payment_failed",
            dues_page=public_url("dues.index"),
        )


def send_dues_reminder(user: User, *, arrears: int) -> bool:
    with speaking(user.locale):
        return _send(
            user,
            _("A reminder about your union dues"),
            "dues_reminder",
            arrears=arrears,
            dues_page=public_url("dues.index"),
            waiver_page=public_url("dues.waiver"),
        )


def send_grievance_reminder(reminder: DeadlineReminder) -> bool:
    """Reminds the steward of a deadline. It names the case number and step only:
    an email can be read over a shoulder or forwarded."""
    with speaking(reminder.recipient.locale):
        link = public_url("grievances.detail", public_id=reminder.public_id)
        step = label(reminder.step)
        if reminder.days_before == 0:
            subject = _(
                "Grievance %(number)s: the %(step)s deadline is today",
                number=reminder.number,
                step=step,
            )
        elif reminder.days_before == 1:
            subject = _(
                "Grievance %(number)s: the %(step)s deadline is tomorrow",
                number=reminder.number,
                step=step,
            )
        else:
            subject = _(
                "Grievance %(number)s: the %(step)s deadline is in %(days)d days",
                number=reminder.number,
                step=step,
                days=reminder.days_before,
            )
        return _send(
            reminder.recipient,
            subject,
            "grievance_reminder",
            reminder=reminder,
            step=step,
            link=link,
        )


def send_email_change_link(user: User, new_email: str, token: str) -> bool:
    """To the new address: the link that moves the account there."""
    with speaking(user.locale):
        link = public_url("auth.confirm_email", token=token)
        return _send(
            user,
            _("Confirm your new email"),
            "email_change_link",
            to=new_email,
            link=link,
        )


def send_email_in_use(address: str, *, language: str | None) -> bool:
    """To an address someone tried to move their account to, which already has an
    account: its owner learns of it, the person asking learns nothing."""
    with speaking(language):
        return _send(
            None,
            _("Someone tried to use your email"),
            "email_in_use",
            to=address,
            sign_in=public_url("auth.login"),
        )


def masked(address: str) -> str:
    """n…@example.org: enough for the owner to recognise, little for anyone else."""
    local, _at, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


def send_email_changed(user: User, old_email: str) -> bool:
    """To the old address, after the change: if it was not the owner, they know."""
    with speaking(user.locale):
        return _send(
            user,
            _("Your union account's email was changed"),
            "email_changed",
            to=old_email,
            new_email=masked(user.email),
        )


def send_membership_ended(address: str, *, language: str | None) -> bool:
    """To the address a member had, after they left and their data was erased."""
    with speaking(language):
        return _send(
            None, _("Your membership has ended"), "membership_ended", to=address
        )


def send_correction_answered(user: User) -> bool:
    with speaking(user.locale):
        return _send(
            user,
            _("Your correction request was answered"),
            "correction_answered",
            link=public_url("members.corrections"),
        )


def send_notification(
    address: str,
    *,
    language: str | None,
    kind: str,
    params: Mapping[str, Any],
    key: str,
) -> bool:
    """The email of one notification, in its reader's language: the same words as
    in the app, under a subject that names only the kind of news. One per key."""
    with speaking(language):
        endpoint = page_endpoint(kind)
        return _send(
            None,
            email_subject(kind),
            "notification",
            to=address,
            key=f"email:{key}",
            words=headline(kind, params),
            link=public_url(endpoint) if endpoint else None,
            settings=public_url("notifications.settings"),
        )


@jobs.handler(notifications_feed.EMAIL_JOB)
def _notification_emails(payload: Mapping[str, Any], now: datetime) -> None:
    """Writes the emails one `notify` decided on, to those who still want them.
    Run twice, it writes none twice: each email's key is its notification's."""
    kind = NotificationKind(payload["kind"])
    for recipient in notifications_feed.still_to_email(kind, payload["to"]):
        send_notification(
            recipient.address,
            language=recipient.language,
            kind=str(kind),
            params=payload["params"],
            key=recipient.key,
        )
