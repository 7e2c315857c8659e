"""Mail goes out over real SMTP when SMTP_URL is set, and to the console otherwise."""

import socket

import pytest
from aiosmtpd.controller import Controller

from union.adapters.mail import ConsoleMailer, Message, SmtpMailer, mailer_from_config


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 -- aiosmtpd hook name
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
