"""Accounts tests: the per-test transaction, with the session really bound to the test's connection.

The shared `_transaction` fixture passes `bind=connection`, but Flask-SQLAlchemy's Session.get_bind
ignores the session's bind and returns the app's engine, so a view's commit escapes the rollback.
This override (same name, so it replaces the shared autouse fixture for this folder) makes get_bind
return the connection; every commit then only releases a savepoint of the outer, rolled-back transaction.
"""
from __future__ import annotations

import pytest
from flask_sqlalchemy.session import Session

from portal.extensions import db
from tests.conftest import FormClient


class ConnectionBoundSession(Session):
    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return self.bind


@pytest.fixture(autouse=True)
def _transaction(request):
    if request.node.get_closest_marker("browser") or "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        session = db._make_scoped_session({
            "bind": connection, "join_transaction_mode": "create_savepoint", "class_": ConnectionBoundSession,
        })
        original, db.session = db.session, session
        try:
            yield
        finally:
            session.remove()
            db.session = original
            outer.rollback()
            connection.close()


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
