"""Mail goes out over real SMTP when SMTP_URL is set, and to the console otherwise."""

import smtplib
import socket

import pytest
from aiosmtpd.controller import Controller

from union.adapters.mail import (
    ConsoleMailer,
    MemoryMailer,
    Message,
    SmtpMailer,
    connection,
    mailer_from_config,
)


class Inbox:
    def __init__(self):
        self.envelopes = []
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 -- aiosmtpd hook name
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd hook name
        if envelope.rcpt_tos == ["drop@example.org"]:
            server.transport.close()  # the server goes away mid-message
            return "421 closing"
        self.envelopes.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_smtp_delivers_the_message(smtp_server):
    inbox, port = smtp_server
    mailer = mailer_from_config(
        {
            "MAIL_BACKEND": "smtp",
            "SMTP_URL": f"smtp+insecure://127.0.0.1:{port}",
            "MAIL_FROM": "Union <union@example.org>",
        }
    )
    assert isinstance(mailer, SmtpMailer)
    mailer.send(
        Message(
            to="robin@example.org",
            subject="Finish joining",
            body="Open this link: https://x/y",
        )
    )
    [envelope] = inbox.envelopes
    assert envelope.mail_from == "union@example.org"
    assert envelope.rcpt_tos == ["robin@example.org"]
    text = envelope.content.decode()
    assert "Subject: Finish joining" in text
    assert "Open this link: https://x/y" in text


def test_an_unreachable_smtp_server_raises_rather_than_losing_mail_silently():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailer = SmtpMailer(
        f"smtp+insecure://127.0.0.1:{port}", "union@example.org", timeout=2
    )
    with pytest.raises(ConnectionRefusedError):
        mailer.send(Message(to="a@example.org", subject="s", body="b"))


def test_the_console_mailer_prints_to_stderr(capsys):
    ConsoleMailer().send(Message(to="a@example.org", subject="Hello", body="Body text"))
    captured = capsys.readouterr()
    assert "Hello" in captured.err and "Body text" in captured.err
    assert captured.out == ""


def test_setting_smtp_url_switches_to_smtp(tmp_path, monkeypatch):
    from union.config import build_config

    monkeypatch.setenv("SMTP_URL", "smtps://user:pw@mail.example.org:465")
    assert build_config({}, tmp_path)["MAIL_BACKEND"] == "smtp"


def test_a_long_list_unsubscribe_header_arrives_as_links(smtp_server):
    inbox, port = smtp_server
    token = (
        "WyIzZjE2ZDM5ZTQ0YTM0NTk1NjUzNmUxNzMiLCJlbWFpbCJd.GDbNR79i4uUm1iqEY3wWaaYilQM"
    )
    header = (
        f"<https://union.example.org/unsubscribe/{token}>, "
        f"<mailto:union@example.org?subject=unsubscribe%20{token}>"
    )
    SmtpMailer(f"smtp+insecure://127.0.0.1:{port}", "union@example.org").send(
        Message(
            to="robin@example.org",
            subject="Réunion jeudi",
            body="Venez.",
            headers={
                "List-Unsubscribe": header,
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
    )
    [envelope] = inbox.envelopes
    text = envelope.content.decode()
    assert f"List-Unsubscribe: {header}\r\n" in text
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in text


def test_a_run_of_emails_shares_one_connection_up_to_its_limit(smtp_server):
    inbox, port = smtp_server
    mailer = SmtpMailer(
        f"smtp+insecure://127.0.0.1:{port}", "union@example.org", per_connection=2
    )
    with connection(mailer) as send:
        assert inbox.connections == 0  # nothing sent, nothing opened
        for number in range(5):
            send(Message(to=f"m{number}@example.org", subject="Meeting", body="Come."))
    assert [e.rcpt_tos for e in inbox.envelopes] == [
        [f"m{number}@example.org"] for number in range(5)
    ]
    assert inbox.connections == 3


def test_a_connection_the_server_drops_is_replaced_for_the_next_email(smtp_server):
    inbox, port = smtp_server
    mailer = SmtpMailer(f"smtp+insecure://127.0.0.1:{port}", "union@example.org")
    with connection(mailer) as send:
        send(Message(to="a@example.org", subject="s", body="b"))
        with pytest.raises(smtplib.SMTPServerDisconnected):
            send(Message(to="drop@example.org", subject="s", body="b"))
        send(Message(to="c@example.org", subject="s", body="b"))
    assert [e.rcpt_tos for e in inbox.envelopes] == [
        ["a@example.org"],
        ["c@example.org"],
    ]
    assert inbox.connections == 2


def test_a_message_that_cannot_be_written_keeps_the_connection(smtp_server):
    inbox, port = smtp_server
    mailer = SmtpMailer(f"smtp+insecure://127.0.0.1:{port}", "union@example.org")
    with connection(mailer) as send:
        send(Message(to="a@example.org", subject="s", body="b"))
        with pytest.raises(ValueError, match="linefeed"):
            # A header that would smuggle in another recipient is refused
            # before a byte leaves.
            send(Message(to="b@example.org\nBcc: x@example.org", subject="s", body="b"))
        send(Message(to="c@example.org", subject="s", body="b"))
    assert [e.rcpt_tos for e in inbox.envelopes] == [
        ["a@example.org"],
        ["c@example.org"],
    ]
    assert inbox.connections == 1


def test_other_mailers_send_a_run_one_by_one():
    mailer = MemoryMailer()
    with connection(mailer) as send:
        send(Message(to="a@example.org", subject="s", body="b"))
    assert [m.to for m in mailer.outbox] == ["a@example.org"]
