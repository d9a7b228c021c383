"""Accounts tests: every request in an app context of its own, so session and sign-in state never leak
from one request to the next through `g` (the shared per-test transaction still applies)."""
from __future__ import annotations

import pytest
from tests.conftest import FormClient


class FreshContextClient(FormClient):
    """Each request in its own app context, as in production.

    With the `app_context` fixture active, Flask reuses the test's app context for every test-client
    request, so `g` (where Flask-Login caches the current user) leaks from one request to the next and
    a replayed or expired cookie could look signed in. A fresh context per request prevents that.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = FreshContextClient
    return app.test_client()
