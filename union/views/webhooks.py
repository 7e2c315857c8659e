"""Stripe's webhook: the only place money state changes after a card payment."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from union.adapters.payments import InvalidWebhook
from union.clock import utcnow
from union.db import db
from union.extensions import csrf
from union.logs import log_exception
from union.models import Member
from union.services import card_dues
from union.views.errors import database_unavailable
from union.views.helpers import payment_gateway
from union.web.access import public
from union.web.notifications import send_payment_failed

log = logging.getLogger(__name__)

blueprint = Blueprint("webhooks", __name__)


@blueprint.post("/stripe/webhook")
@public
def stripe_webhook() -> ResponseReturnValue:
    gateway = payment_gateway()
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
    except Exception as error:
        # Nothing of this event is kept, its id included, so Stripe's retry runs it again.
        try:
            db.session.rollback()
        except sa.exc.SQLAlchemyError:
            db.session.remove()
        log_exception(log, f"Stripe event {str(event.get('type'))[:60]} failed", error)
        if isinstance(error, sa.exc.DBAPIError) and database_unavailable(error):
            return {"error": "database unavailable, please retry"}, 503
        return {"error": "internal error, please retry"}, 500
    if result.outcome == card_dues.REFUSED:
        # Committed above: the event id is kept as refused, so a retry of the same
        # bytes is refused again without being looked at.
        log.warning(
            "refused a Stripe event: field %s is missing or of the wrong type",
            (result.refused_field or "")[:200],
        )
        return {"error": "malformed event", "outcome": result.outcome}, 400
    for notice in result.notices:
        member = db.session.get(Member, notice.member_id)
        if member is not None and member.user is not None:
            send_payment_failed(member.user)
    db.session.commit()
    return {"received": True, "outcome": result.outcome}


# Stripe's signature on the raw body stands in for a CSRF token; no other view is exempt.
csrf.exempt(stripe_webhook)
