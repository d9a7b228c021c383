"""Sending SMS: a pluggable sender; in development the message is written to the log.

`send_sms(to, body)` calls the function in `current_app.extensions["sms_sender"]` when one is installed
(a provider integration registers itself there); otherwise it behaves like mail without SMTP: captured in
TESTING, logged in development, refused in production.
"""
from __future__ import annotations

from flask import current_app

from .mail import capture, log_for_development


def send_sms(to: str, body: str) -> None:
    if capture("sms", to=to, body=body):
        return
    sender = current_app.extensions.get("sms_sender")
    if sender is not None:
        sender(to, body)
        return
    log_for_development("text messages", to, body)
