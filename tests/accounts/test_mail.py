"""The mail sender against a real SMTP conversation on loopback; the development log; production refusal."""
from __future__ import annotations

import logging
import socketserver
import threading

import pytest

from portal.accounts.mail import DeliveryError, send_mail
from portal.accounts.sms import send_sms


class SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for smtplib: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self):
        self.reply("220 loopback ESMTP")
        while line := self.rfile.readline().decode().rstrip("\r\n"):
            verb = line.split(" ", 1)[0].upper()
            self.server.commands.append(line)
            if verb == "EHLO":
                self.wfile.write(b"250-loopback\r\n250 AUTH PLAIN\r\n")
            elif verb == "AUTH":
                self.reply("235 2.7.0 Authentication successful")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while (data := self.rfile.readline().decode()) not in (".\r\n", ""):
                    lines.append(data)
                self.server.messages.append("".join(lines))
                self.reply("250 OK queued")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("250 OK")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SMTPHandler)
    server.daemon_threads = True
    server.commands, server.messages = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def not_testing(app, monkeypatch):
    """Real delivery paths: TESTING only switches on the in-memory outbox."""
    monkeypatch.setitem(app.config, "TESTING", False)
    return app


def test_smtp_delivery(not_testing, smtp_server, monkeypatch, app_context):
    port = smtp_server.server_address[1]
    monkeypatch.setitem(not_testing.config, "SMTP_URL", f"smtp://mailer:s3cret@127.0.0.1:{port}")
    monkeypatch.setitem(not_testing.config, "PORTAL_ENV", "production")
    send_mail("ada@example.org", "Your code", "Your code is 123456.")
    assert any(c.startswith("AUTH PLAIN") for c in smtp_server.commands)
    assert "mail FROM:<no-reply@localhost>" in smtp_server.commands
    assert "rcpt TO:<ada@example.org>" in smtp_server.commands
    message = smtp_server.messages[0]
    assert "Subject: Your code" in message and "Your code is 123456." in message


def test_unreachable_smtp_is_a_clear_error(not_testing, monkeypatch, app_context):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setitem(not_testing.config, "SMTP_URL", f"smtp://127.0.0.1:{port}")
    with pytest.raises(DeliveryError, match="could not be sent"):
        send_mail("ada@example.org", "Hello", "Body")


def test_development_logs_the_message(not_testing, monkeypatch, caplog, app_context):
    monkeypatch.setitem(not_testing.config, "SMTP_URL", None)
    monkeypatch.setitem(not_testing.config, "PORTAL_ENV", "development")
    with caplog.at_level(logging.INFO, logger="portal.accounts.mail"):
        send_mail("ada@example.org", "Your code", "Your code is 654321.")
        send_sms("+447700900123", "SMS code 111222")
    assert "Your code is 654321." in caplog.text and "SMS code 111222" in caplog.text


def test_production_without_a_sender_refuses_and_logs_no_code(not_testing, monkeypatch, caplog, app_context):
    monkeypatch.setitem(not_testing.config, "SMTP_URL", None)
    monkeypatch.setitem(not_testing.config, "PORTAL_ENV", "production")
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(DeliveryError, match="not configured"):
            send_mail("ada@example.org", "Your code", "Your code is 987654.")
        with pytest.raises(DeliveryError):
            send_sms("+447700900123", "SMS code 333444")
    assert "987654" not in caplog.text and "333444" not in caplog.text


def test_code_request_in_production_without_smtp_shows_the_error(client, not_testing, monkeypatch, app_context):
    from portal.extensions import db
    from tests.factories import make_user

    user = make_user()
    db.session.commit()
    monkeypatch.setitem(not_testing.config, "SMTP_URL", None)
    monkeypatch.setitem(not_testing.config, "PORTAL_ENV", "production")
    monkeypatch.setitem(not_testing.config, "WTF_CSRF_ENABLED", True)
    response = client.post("/login/code", data={"email": user.email})
    assert response.status_code == 200 and "has not configured it" in response.text
    db.session.refresh(user)
    assert user.email_verification_code is None
