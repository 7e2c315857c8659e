"""Messages to members, as they leave: the jobs that address a message and send
its batches, each copy in its reader's language with a one-click unsubscribe
(RFC 8058), and the signed unsubscribe links themselves.

Each copy is marked sent and committed before it goes (union.services.messages
.claim): a batch killed and run again skips what it sent, so nobody gets a copy
twice. The price is that a worker killed between that commit and the mail
server's answer loses that one copy; the Message-ID, derived from the delivery,
lets a mail server recognise one sent twice anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from email.utils import parseaddr
from typing import Any
from urllib.parse import quote

from flask import current_app, render_template
from itsdangerous import BadSignature, URLSafeSerializer

from union.adapters import mail, sms
from union.adapters.mail import Mailer, Message
from union.db import db
from union.i18n import speaking
from union.models import Channel, Member, MemberMessage
from union.services import jobs, messages
from union.web.links import public_url
from union.web.notifications import message_id as message_id_for

log = logging.getLogger(__name__)

_LINK_PURPOSE = "member-message-unsubscribe"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_LINK_PURPOSE)


def unsubscribe_token(member: Member, channel: Channel) -> str:
    """The token of a member's unsubscribe link for one channel. It names the
    member by their public id, not an address, so it keeps working after they
    change their email, and stops when erasure replaces that id."""
    return str(_serializer().dumps([member.public_id, channel.value]))


def read_unsubscribe_token(token: str) -> tuple[Member, Channel] | None:
    try:
        public_id, channel = _serializer().loads(token)
        found = messages.member_by_public_id(str(public_id))
        return (found, Channel(channel)) if found is not None else None
    except (BadSignature, ValueError, TypeError):
        return None


def texts_enabled() -> bool:
    return current_app.extensions.get("union_texts") is not None


def _mailer() -> Mailer:
    mailer: Mailer = current_app.extensions["union_mailer"]
    return mailer


def _unsubscribe_headers(link: str, token: str) -> dict[str, str]:
    mailbox = parseaddr(current_app.config["MAIL_FROM"])[1]
    targets = [f"<{link}>"]
    if mailbox:
        targets.append(f"<mailto:{mailbox}?subject={quote('unsubscribe ' + token)}>")
    return {
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _email(message: MemberMessage, recipient: messages.Recipient) -> Message:
    language = message.language_for(recipient.locale)
    token = unsubscribe_token(recipient.member, Channel.EMAIL)
    link = public_url("messages.unsubscribe", token=token)
    # The words around the message are the reader's, whichever version it is.
    with speaking(recipient.locale):
        body = render_template(
            "email/member_message.txt",
            body=message.body_for(language),
            unsubscribe=link,
            choices=public_url("messages.consent"),
            union_name=current_app.config["UNION_NAME"],
        )
    return Message(
        to=recipient.contact,
        subject=message.subject_for(language),
        body=body,
        message_id=message_id_for(f"message-delivery:{recipient.delivery_id}"),
        headers=_unsubscribe_headers(link, token),
    )


def _text(message: MemberMessage, recipient: messages.Recipient) -> str:
    language = message.language_for(recipient.locale)
    link = public_url(
        "messages.unsubscribe",
        token=unsubscribe_token(recipient.member, Channel.TEXT),
    )
    with speaking(recipient.locale):
        return render_template(
            "messages/text.txt",
            subject=message.subject_for(language),
            body=message.body_for(language),
            unsubscribe=link,
        )


@jobs.handler(messages.ADDRESSING_JOB)
def _address(payload: Mapping[str, Any], now: datetime) -> None:
    messages.address(int(payload["message"]), now=now, texts_enabled=texts_enabled())


@jobs.handler(messages.BATCH_JOB)
def _send_batch(payload: Mapping[str, Any], now: datetime) -> None:
    """Sends one batch: each copy committed as sent before it goes, the message's
    state checked with each claim (a pause stops the batch there)."""
    message_id = int(payload["message"])
    message = db.session.get(MemberMessage, message_id)
    if message is None:
        return
    recipients = messages.batch_recipients(
        message_id, int(payload["first"]), int(payload["last"])
    )
    # Written before the first commit, which would expire what they are made of.
    outgoing: list[tuple[int, str, Message | str]] = [
        (
            recipient.delivery_id,
            recipient.contact,
            _text(message, recipient)
            if recipient.channel is Channel.TEXT
            else _email(message, recipient),
        )
        for recipient in recipients
    ]
    # The members and accounts are not needed any more: each commit below would
    # otherwise expire all of them again.
    for recipient in recipients:
        if recipient.member.user is not None:
            db.session.expunge(recipient.member.user)
        db.session.expunge(recipient.member)
    db.session.commit()
    texts: sms.TextSender | None = current_app.extensions.get("union_texts")
    with mail.connection(_mailer()) as send_email:
        for delivery_id, contact, content in outgoing:
            if not messages.claim(delivery_id, message_id, now=now):
                db.session.rollback()
                if messages.is_sending(message_id):
                    continue  # another run sent it already
                return  # paused: resuming records new batches
            db.session.commit()
            try:
                if isinstance(content, Message):
                    send_email(content)
                elif texts is None:
                    raise RuntimeError("texts are no longer configured")
                else:
                    texts.send(contact, content)
            except sms.RecipientRefused as refusal:
                db.session.rollback()
                messages.refused(
                    delivery_id, unsubscribed=refusal.unsubscribed, now=now
                )
                db.session.commit()
            except Exception:
                # Put back for the job's retry, which goes on from here.
                db.session.rollback()
                messages.release(delivery_id)
                db.session.commit()
                raise
    messages.finish_if_done(message_id, now=now)


def install(app: Any) -> None:
    """Builds the text sender from the configuration (None: no texts)."""
    app.extensions["union_texts"] = sms.texts_from_config(app.config)


__all__ = [
    "install",
    "read_unsubscribe_token",
    "texts_enabled",
    "unsubscribe_token",
]
