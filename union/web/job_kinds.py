"""What each kind of background job is, in words an admin reads."""

from __future__ import annotations

from flask_babel import LazyString

from union.i18n import _, _l

JOB_KINDS: dict[str, LazyString] = {
    "email": _l("An email"),
    "join": _l("A join application"),
    "reset-link": _l("A password reset request"),
    "grievance-reminders": _l("Grievance deadline reminders"),
    "dues-reminders": _l("Dues reminders"),
    "retention": _l("Clearing old records"),
    "stripe-reconcile": _l("Comparing the ledger with Stripe"),
    "backup": _l("The daily backup"),
    "notification-emails": _l("Notification emails"),
    "survey-opened-notifications": _l("Telling members a survey is open"),
    "stripe-price": _l("Setting up a dues amount on Stripe"),
    "stripe-price-move": _l("Moving card subscriptions to a new amount"),
    "message-addressing": _l("Working out who gets a message"),
    "message-batch": _l("Sending a message to a batch of members"),
}


def job_kind_label(kind: str) -> str:
    """A kind with no words yet (added by a later version) reads as its code."""
    words = JOB_KINDS.get(kind)
    return str(words) if words is not None else _("Other work (%(kind)s)", kind=kind)
