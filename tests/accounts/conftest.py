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
