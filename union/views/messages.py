"""Messages to members: organizers and admins write to a group and follow the
sending; members choose how they may be written to; anyone with a message's
link unsubscribes with one click."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from union.clock import utcnow
from union.db import db
from union.errors import ValidationFailed
from union.extensions import csrf
from union.forms.base import ActionForm
from union.forms.messages import ComposeForm, ConsentForm
from union.i18n import _, ngettext
from union.labels import label
from union.models import (
    Channel,
    ConsentSource,
    MemberMessage,
    MessageState,
    Role,
    Sector,
    SegmentKind,
    Workplace,
)
from union.services import members, messages
from union.views.helpers import Question, actor, ask_first, done, going_back
from union.web.access import public, roles
from union.web.member_messages import read_unsubscribe_token, texts_enabled

blueprint = Blueprint("messages", __name__)

AUTHORS = messages.AUTHORS
#: What a mail client posts for a one-click unsubscribe (RFC 8058).
ONE_CLICK = "One-Click"


def draft_from(form: ComposeForm) -> messages.Draft:
    return messages.Draft(
        segment=messages.Segment.parse(form.segment.data),
        subject_en=form.subject_en.data or "",
        body_en=form.body_en.data or "",
        subject_fr=form.subject_fr.data or "",
        body_fr=form.body_fr.data or "",
        key=(form.draft_key.data or "")[:64] or None,
    )


def segment_names(found: list[MemberMessage]) -> dict[int, str]:
    """Each message's group in words (the workplaces read in one query)."""
    workplace_ids = {
        int(message.segment_value)
        for message in found
        if message.segment_kind is SegmentKind.WORKPLACE
        and message.segment_value.isdigit()
    }
    workplaces = (
        {
            workplace.id: workplace.name
            for workplace in db.session.scalars(
                sa.select(Workplace).where(Workplace.id.in_(workplace_ids))
            )
        }
        if workplace_ids
        else {}
    )
    names = {}
    for message in found:
        kind, value = message.segment_kind, message.segment_value
        if kind is SegmentKind.WORKPLACE:
            names[message.id] = workplaces.get(
                int(value) if value.isdigit() else 0, _("A workplace")
            )
        elif kind is SegmentKind.SECTOR and value in set(Sector):
            names[message.id] = _("Sector: %(name)s", name=label(Sector(value)))
        elif kind is SegmentKind.GOOD_STANDING:
            names[message.id] = _("Members in good standing")
        else:
            names[message.id] = _("Every member")
    return names


@blueprint.get("/messages/")
@roles(*AUTHORS)
def index() -> ResponseReturnValue:
    found = messages.messages_for(actor())
    return render_template(
        "messages/index.html", messages=found, groups=segment_names(found)
    )


@blueprint.route("/messages/new", methods=["GET", "POST"])
@roles(*AUTHORS)
def compose() -> ResponseReturnValue:
    user = actor()
    now = utcnow()
    form = ComposeForm()
    form.offer(messages.addressable_workplaces(user), admin=user.has_role(Role.ADMIN))
    reach = None
    if form.validate_on_submit():
        draft = draft_from(form)
        try:
            reach = messages.check_draft(
                draft, actor=user, now=now, texts_enabled=texts_enabled()
            )
        except ValidationFailed as error:
            db.session.rollback()
            form.apply_errors(error)
        else:
            if "preview" not in request.form and not going_back():
                asking = ask_first(
                    Question(
                        title=ngettext(
                            "Send this message to %(num)d person?",
                            "Send this message to %(num)d people?",
                            reach.total,
                        ),
                        consequence=_(
                            "It goes out at once. You can pause it while it is "
                            "being sent, but not take back what has gone."
                        ),
                        confirm_label=_("Send now"),
                        back_url=url_for(".compose"),
                        listed=reach_lines(reach),
                        keeps_answers=True,
                    )
                )
                if asking is not None:
                    return asking
                try:
                    message = messages.send(
                        draft, actor=user, now=now, texts_enabled=texts_enabled()
                    )
                except ValidationFailed as error:
                    db.session.rollback()
                    form.apply_errors(error)
                    reach = None
                else:
                    db.session.commit()
                    flash(_("Sending. This page shows how far it has got."), "success")
                    return redirect(url_for(".detail", message_id=message.id))
    return render_template(
        "messages/compose.html",
        form=form,
        reach=reach,
        reach_lines=reach_lines(reach) if reach else (),
    )


def reach_lines(reach: messages.Reach) -> tuple[str, ...]:
    lines = []
    if reach.email:
        lines.append(ngettext("%(num)d by email", "%(num)d by email", reach.email))
    if reach.text:
        lines.append(
            ngettext("%(num)d by text message", "%(num)d by text message", reach.text)
        )
    if reach.in_person:
        lines.append(
            ngettext(
                "%(num)d in person, on their delegate's call list",
                "%(num)d in person, on their delegates' call lists",
                reach.in_person,
            )
        )
    return tuple(lines)


@blueprint.get("/messages/<int:message_id>")
@roles(*AUTHORS)
def detail(message_id: int) -> ResponseReturnValue:
    message = messages.message_for(actor(), message_id)
    return render_template(
        "messages/detail.html",
        message=message,
        group=segment_names([message])[message.id],
        progress=messages.progress(message),
        action_form=ActionForm(),
        sending=message.state is MessageState.SENDING,
    )


@blueprint.post("/messages/<int:message_id>/pause")
@roles(*AUTHORS)
def pause(message_id: int) -> ResponseReturnValue:
    user = actor()
    message = messages.message_for(user, message_id)
    if ActionForm().validate_on_submit():
        done(
            lambda: messages.pause(message, actor=user, now=utcnow()),
            success=_("Paused. Nobody else gets it until you resume."),
        )
    return redirect(url_for(".detail", message_id=message_id))


@blueprint.post("/messages/<int:message_id>/resume")
@roles(*AUTHORS)
def resume(message_id: int) -> ResponseReturnValue:
    user = actor()
    message = messages.message_for(user, message_id)
    if ActionForm().validate_on_submit():
        done(
            lambda: messages.resume(message, actor=user, now=utcnow()),
            success=_("Sending again, from where it stopped."),
        )
    return redirect(url_for(".detail", message_id=message_id))


@blueprint.route("/messages/my-choices", methods=["GET", "POST"])
@roles(Role.MEMBER)
def consent() -> ResponseReturnValue:
    member = members.own_member(actor())
    given = messages.consents(member)
    form = ConsentForm()
    if request.method == "GET":
        form.email.data = bool(
            given.get(Channel.EMAIL) and given[Channel.EMAIL].granted
        )
        form.text.data = bool(given.get(Channel.TEXT) and given[Channel.TEXT].granted)
    if form.validate_on_submit():
        now = utcnow()
        for channel, field in ((Channel.EMAIL, form.email), (Channel.TEXT, form.text)):
            before = given.get(channel)
            wanted = bool(field.data)
            if (before is not None and before.granted) != wanted:
                messages.record_consent(
                    member,
                    channel,
                    granted=wanted,
                    source=ConsentSource.PROFILE,
                    now=now,
                )
        db.session.commit()
        flash(_("Your choices are saved."), "success")
        return redirect(url_for(".consent"))
    return render_template(
        "messages/consent.html",
        form=form,
        given=given,
        has_phone=bool(member.phone),
        Channel=Channel,
    )


@blueprint.route("/unsubscribe/<token>", methods=["GET", "POST"])
@public
def unsubscribe(token: str) -> ResponseReturnValue:
    """GET asks (link scanners open links and must not unsubscribe anyone); a POST
    unsubscribes at once: the page's own form, with its CSRF token, or a mail
    client's one-click POST (RFC 8058), whose body is exactly
    List-Unsubscribe=One-Click and which carries no token by design."""
    one_click = (
        request.method == "POST"
        and request.form.get("List-Unsubscribe") == ONE_CLICK
        and "csrf_token" not in request.form
    )
    if request.method == "POST" and not one_click:
        csrf.protect()
    found = read_unsubscribe_token(token)
    if found is None:
        return render_template("messages/unsubscribe.html", found=False), 400
    member, channel = found
    if request.method == "GET":
        return render_template(
            "messages/unsubscribe.html",
            found=True,
            channel=channel,
            Channel=Channel,
            action_form=ActionForm(),
            done=False,
        )
    messages.unsubscribe(member, channel, now=utcnow())
    db.session.commit()
    if one_click:
        return Response(status=204)
    return render_template(
        "messages/unsubscribe.html",
        found=True,
        channel=channel,
        Channel=Channel,
        done=True,
    )


csrf.exempt(unsubscribe)
