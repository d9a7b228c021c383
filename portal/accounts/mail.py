"""Sending mail: SMTP when SMTP_URL is set, otherwise the log (development only).

    send_mail("a@example.com", "Your code", "Your code is 123456")

- TESTING: the message is appended to `current_app.extensions["outbox"]` (a list) and nothing is sent.
- SMTP_URL = smtp://user:pass@host:port (STARTTLS when the server offers it) or smtps://… (TLS).
- No SMTP_URL: in development the message body is logged — the log is the delivery channel there.
  In production that would put one-time codes in the log, so sending is refused with a clear error.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app

log = logging.getLogger(__name__)


class DeliveryError(RuntimeError):
    """The message could not be sent. The text is safe to show to the user."""


def capture(kind: str, **message) -> bool:
    """In TESTING, keep the message in the app's outbox instead of sending it."""
    if not current_app.config.get("TESTING"):
        return False
    current_app.extensions.setdefault("outbox", []).append({"kind": kind, **message})
    return True


def log_for_development(kind: str, to: str, text: str) -> None:
    if current_app.config.get("PORTAL_ENV") == "production":
        log.error("cannot send %s to a user: no sender is configured in production", kind)
        raise DeliveryError(f"The portal cannot send {kind} yet: the administrator has not configured it.")
    log.info("%s to %s (development: not sent, logged instead):\n%s", kind, to, text)


def send_mail(to: str, subject: str, body: str) -> None:
    if capture("mail", to=to, subject=subject, body=body):
        return
    url = current_app.config.get("SMTP_URL")
    if not url:
        log_for_development("email", to, f"Subject: {subject}\n\n{body}")
        return
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        smtp_send(url, message)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("sending email failed: %s", type(exc).__name__)
        raise DeliveryError("The email could not be sent. Please try again in a moment.") from exc


def smtp_send(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"}:
        raise DeliveryError("SMTP_URL must start with smtp:// or smtps://.")
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        server = smtplib.SMTP_SSL(host, parts.port or 465, timeout=10, context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(host, parts.port or 25, timeout=10)
    with server:
        if parts.scheme == "smtp":
            server.ehlo()
            if server.has_extn("starttls"):
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
        if parts.username:
            server.login(unquote(parts.username), unquote(parts.password or ""))
        server.send_message(message)
