"""Text messages: members who asked for texts get them once a provider is
configured (their consent and the unsubscribed list apply as for email), and the
Twilio adapter speaks Twilio's Messages API through the official SDK, here to a
server on the loopback."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa

from union.adapters import sms
from union.db import db
from union.models import (
    Channel,
    ConsentSource,
    ContactPreference,
    Job,
    MemberMessage,
    MessageConsent,
    MessageState,
    Role,
    SegmentKind,
)
from union.services import messages
from union.services.messages import Draft, Segment
from union.web import handoff


@dataclass
class RecordedTexts:
    sent: list[tuple[str, str]] = field(default_factory=list)

    def send(self, to: str, body: str) -> str:
        self.sent.append((to, body))
        return f"SM{len(self.sent):032d}"


@pytest.fixture
def texts(app, monkeypatch):
    recorded = RecordedTexts()
    monkeypatch.setitem(app.extensions, "union_texts", recorded)
    return recorded


def texter(make, workplace, phone, *, consent=True):
    member = make.member(workplace, email=None)
    member.contact_preference = ContactPreference.TEXT
    member.phone = phone
    if consent:
        messages.record_consent(
            member,
            Channel.TEXT,
            granted=True,
            source=ConsentSource.PROFILE,
            now=make.now,
        )
    return member


def test_members_who_asked_for_texts_get_one_with_a_stop_link(make, now, texts, outbox):
    here = make.workplace()
    organizer = make.user(roles=(Role.ORGANIZER,))
    texter(make, here, "+1 514 555 0100")
    texter(make, here, "+1 514 555 0101", consent=False)
    withdrew = texter(make, here, "+1 514 555 0102")
    messages.unsubscribe(withdrew, Channel.TEXT, now=now)

    messages.send(
        Draft(Segment(SegmentKind.WORKPLACE, str(here.id)), "Vote Friday", "Polls 9-5"),
        actor=organizer,
        now=now,
        texts_enabled=True,
    )
    handoff.commit()

    [(to, body)] = texts.sent
    assert to == "+1 514 555 0100"
    assert body.startswith(
        "Vote Friday\nPolls 9-5\nStop these texts: http://union.test/unsubscribe/"
    )
    assert outbox == []


def test_a_listed_number_is_skipped_even_with_consent(make, now, texts):
    here = make.workplace()
    organizer = make.user(roles=(Role.ORGANIZER,))
    earlier = texter(make, here, "+1 514 555 0100")
    messages.forget_contacts(earlier, now=now)  # erased, say; same phone later
    # The same number, written otherwise, with consent recorded by hand (not by
    # its owner, which would take it off the list).
    again = texter(make, here, "+1 (514) 555-0100", consent=False)
    db.session.add(
        MessageConsent(
            member_id=again.id,
            channel=Channel.TEXT,
            granted=True,
            at=now,
            source=ConsentSource.ADMIN,
        )
    )
    texter(make, here, "+1 514 555 0199")

    messages.send(
        Draft(Segment(SegmentKind.WORKPLACE, str(here.id)), "Vote Friday", "Polls"),
        actor=organizer,
        now=now,
        texts_enabled=True,
    )
    handoff.commit()

    assert [to for to, _body in texts.sent] == ["+1 514 555 0199"]


# -- The Twilio adapter, against a server speaking Twilio's Messages API --------

#: Numbers the fake Twilio refuses, with the status and error code Twilio gives.
STOPPED = "+15145550166"
NOT_A_MOBILE = "+15145550177"
TWILIO_DOWN = "+15145550188"
REFUSALS = {
    STOPPED: (400, 21610),
    NOT_A_MOBILE: (400, 21614),
    TWILIO_DOWN: (503, 20500),
}


@dataclass
class FakeTwilio:
    url: str
    requests: list[dict[str, Any]]


def _handler(requests: list[dict[str, Any]]) -> type[BaseHTTPRequestHandler]:
    class Messages(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = parse_qs(self.rfile.read(length).decode())
            user, _colon, _secret = (
                base64.b64decode(self.headers["Authorization"].split()[1])
                .decode()
                .partition(":")
            )
            requests.append({"path": self.path, "form": form, "user": user})
            account = self.path.split("/")[3]
            refusal = REFUSALS.get(form["To"][0])
            if refusal is not None:
                # As Twilio answers: the error names the number.
                status, code = refusal
                self.answer(
                    status,
                    {
                        "code": code,
                        "message": f"Cannot text {form['To'][0]}",
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status,
                    },
                )
                return
            body = json.dumps(
                {
                    "sid": "SM" + "0" * 32,
                    "account_sid": account,
                    "to": form["To"][0],
                    "from": form["From"][0],
                    "body": form["Body"][0],
                    "status": "queued",
                    "num_segments": "1",
                    "direction": "outbound-api",
                    "api_version": "2010-04-01",
                    "uri": f"/2010-04-01/Accounts/{account}/Messages/SM{'0' * 32}.json",
                }
            ).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def answer(self, status: int, content: dict[str, Any]) -> None:
            body = json.dumps(content).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Messages


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    requests: list[dict[str, Any]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(requests))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeTwilio(f"http://127.0.0.1:{server.server_port}", requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_no_texts_without_the_three_settings():
    assert sms.texts_from_config({"TWILIO_ACCOUNT_SID": "AC1"}) is None


def test_the_twilio_adapter_sends_through_the_sdk(fake_twilio):
    pytest.importorskip("twilio", reason="the twilio package is not installed")
    sender = sms.texts_from_config(
        {
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": "secret-token",
            "TWILIO_FROM": "+15145550000",
            "TWILIO_API_BASE": fake_twilio.url,
        }
    )
    assert sender is not None

    sid = sender.send("+15145550100", "Vote Friday")

    assert sid == "SM" + "0" * 32
    [request] = fake_twilio.requests
    assert request["path"] == f"/2010-04-01/Accounts/AC{'1' * 32}/Messages.json"
    assert request["form"] == {
        "To": ["+15145550100"],
        "From": ["+15145550000"],
        "Body": ["Vote Friday"],
    }
    assert request["user"] == "AC" + "1" * 32


def test_a_message_goes_out_as_texts_through_the_twilio_sdk(
    make, now, app, monkeypatch, fake_twilio
):
    pytest.importorskip("twilio", reason="the twilio package is not installed")
    monkeypatch.setitem(
        app.extensions,
        "union_texts",
        sms.texts_from_config(
            {
                "TWILIO_ACCOUNT_SID": "AC" + "2" * 32,
                "TWILIO_AUTH_TOKEN": "secret-token",
                "TWILIO_FROM": "+15145550000",
                "TWILIO_API_BASE": fake_twilio.url,
            }
        ),
    )
    here = make.workplace()
    texter(make, here, "+15145550100")
    texter(make, here, "+15145550101")

    messages.send(
        Draft(Segment(SegmentKind.WORKPLACE, str(here.id)), "Vote Friday", "Polls"),
        actor=make.user(roles=(Role.ORGANIZER,)),
        now=now,
        texts_enabled=True,
    )
    handoff.commit()

    sent = sorted(request["form"]["To"][0] for request in fake_twilio.requests)
    assert sent == ["+15145550100", "+15145550101"]
    assert all(
        request["form"]["Body"][0].startswith("Vote Friday\nPolls\n")
        for request in fake_twilio.requests
    )


def twilio_sender(url: str) -> sms.TextSender:
    sender = sms.texts_from_config(
        {
            "TWILIO_ACCOUNT_SID": "AC" + "3" * 32,
            "TWILIO_AUTH_TOKEN": "secret-token",
            "TWILIO_FROM": "+15145550000",
            "TWILIO_API_BASE": url,
        }
    )
    assert sender is not None
    return sender


def test_twilio_refusing_a_number_is_told_apart_from_an_outage(fake_twilio):
    twilio_errors = pytest.importorskip(
        "twilio.base.exceptions", reason="the twilio package is not installed"
    )
    sender = twilio_sender(fake_twilio.url)

    with pytest.raises(sms.RecipientRefused) as stopped:
        sender.send(STOPPED, "Vote Friday")
    with pytest.raises(sms.RecipientRefused) as not_a_mobile:
        sender.send(NOT_A_MOBILE, "Vote Friday")
    with pytest.raises(twilio_errors.TwilioRestException) as outage:
        sender.send(TWILIO_DOWN, "Vote Friday")

    assert (stopped.value.code, stopped.value.unsubscribed) == (21610, True)
    assert (not_a_mobile.value.code, not_a_mobile.value.unsubscribed) == (21614, False)
    assert not isinstance(outage.value, sms.RecipientRefused)
    # What reaches the job's record and the log names no number.
    assert "555" not in repr(stopped.value) + str(stopped.value)
    assert stopped.value.__cause__ is None and stopped.value.__suppress_context__


def test_a_member_who_answered_stop_is_skipped_and_the_batch_goes_on(
    make, now, app, monkeypatch, fake_twilio
):
    pytest.importorskip("twilio", reason="the twilio package is not installed")
    monkeypatch.setitem(app.extensions, "union_texts", twilio_sender(fake_twilio.url))
    here = make.workplace()
    organizer = make.user(roles=(Role.ORGANIZER,))
    texter(make, here, "+15145550100")
    stopped = texter(make, here, STOPPED)
    texter(make, here, NOT_A_MOBILE)
    texter(make, here, "+15145550101")

    def send(subject: str) -> MemberMessage:
        message = messages.send(
            Draft(Segment(SegmentKind.WORKPLACE, str(here.id)), subject, "Polls"),
            actor=organizer,
            now=now,
            texts_enabled=True,
        )
        handoff.commit()
        return message

    first = send("Vote Friday")

    texted = [request["form"]["To"][0] for request in fake_twilio.requests]
    assert sorted(texted) == sorted(
        ["+15145550100", STOPPED, NOT_A_MOBILE, "+15145550101"]
    )
    progress = messages.progress(first)
    assert (progress.sent, progress.skipped, progress.failed, progress.queued) == (
        2,
        1,
        1,
        0,
    )
    assert db.session.get(MemberMessage, first.id).state is MessageState.SENT
    assert not db.session.scalars(
        sa.select(Job).where(Job.kind == messages.BATCH_JOB, Job.attempts > 1)
    ).all()
    consent = db.session.scalar(
        sa.select(MessageConsent).where(
            MessageConsent.member_id == stopped.id,
            MessageConsent.channel == Channel.TEXT,
        )
    )
    assert (consent.granted, consent.source, consent.at) == (
        False,
        ConsentSource.TEXT_REPLY,
        now,
    )

    fake_twilio.requests.clear()
    send("Count on Monday")

    # Their number is on the unsubscribed list: Twilio is not asked again.
    assert STOPPED not in [request["form"]["To"][0] for request in fake_twilio.requests]


def test_twilio_down_puts_the_text_back_for_the_retry(
    make, now, app, monkeypatch, fake_twilio
):
    pytest.importorskip("twilio", reason="the twilio package is not installed")
    monkeypatch.setitem(app.extensions, "union_texts", twilio_sender(fake_twilio.url))
    here = make.workplace()
    texter(make, here, TWILIO_DOWN)

    message = messages.send(
        Draft(Segment(SegmentKind.WORKPLACE, str(here.id)), "Vote Friday", "Polls"),
        actor=make.user(roles=(Role.ORGANIZER,)),
        now=now,
        texts_enabled=True,
    )
    handoff.commit()

    progress = messages.progress(message)
    assert (progress.sent, progress.queued) == (0, 1)
    [job] = db.session.scalars(
        sa.select(Job).where(Job.kind == messages.BATCH_JOB)
    ).all()
    assert job.error_class == "TwilioRestException"
