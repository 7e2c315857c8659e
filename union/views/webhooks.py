"""Stripe's webhook: the only place money state changes after a card payment."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue

from union.access import public
from union.clock import utcnow
from union.db import db
from union.extensions import csrf
from union.models import Member
from union.notifications import send_payment_failed
from union.payments import InvalidWebhook, StripeGateway
from union.services import card_dues

log = logging.getLogger(__name__)

blueprint = Blueprint("webhooks", __name__)


@blueprint.post("/stripe/webhook")
@public
def stripe_webhook() -> ResponseReturnValue:
    gateway: StripeGateway | None = current_app.extensions["union_payments"]
    if gateway is None:
        return {"error": "card payments are not configured"}, 400
    try:
        event = gateway.verify_event(
            request.get_data(), request.headers.get("Stripe-Signature")
        )
    except InvalidWebhook as error:
        log.warning("refused a Stripe webhook: %s", error)
        return {"error": "invalid signature"}, 400
    try:
        result = card_dues.handle_event(event, now=utcnow())
        db.session.commit()
    except Exception:
        # Nothing of this event is kept, its id included, so Stripe's retry runs it again.
        db.session.rollback()
        log.exception("Stripe event %s failed", event.get("type"))
        return {"error": "internal error, please retry"}, 500
    for notice in result.notices:
        member = db.session.get(Member, notice.member_id)
        if member is not None and member.user is not None:
            send_payment_failed(member.user)
    return {"received": True, "outcome": result.outcome}


# Stripe's signature on the raw body stands in for a CSRF token; no other view is exempt.
csrf.exempt(stripe_webhook)
