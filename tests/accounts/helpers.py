"""Shared helpers for the accounts tests."""
from __future__ import annotations

import re

from tests.factories import DEFAULT_PASSWORD

CODE_RE = re.compile(r"\b(\d{6})\b")


def outbox(app) -> list:
    return app.extensions.setdefault("outbox", [])


def last_code(app, kind: str = "mail", to: str | None = None) -> str:
    for message in reversed(outbox(app)):
        if message["kind"] == kind and (to is None or message["to"] == to):
            return CODE_RE.search(message["body"]).group(1)
    raise AssertionError(f"no {kind} message captured")


def sign_in(client, email: str, password: str = DEFAULT_PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def is_signed_in(client) -> bool:
    with client.get("/profile") as response:
        return response.status_code == 200
