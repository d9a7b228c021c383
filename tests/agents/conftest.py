"""Helpers shared by the agents and conversations tests."""
from __future__ import annotations

import pytest

from portal.extensions import db
from tests.factories import make_agent, make_user

KINDS = ("private", "protected", "public", "approved", "hidden")


def agent_of_kind(owner, kind: str, **overrides):
    """One agent of `owner` per column of the visibility matrix."""
    fields = {
        "private": {"privacy_level": "private"},
        "protected": {"privacy_level": "protected"},
        "public": {"privacy_level": "public", "is_approved": False},
        "approved": {"privacy_level": "public", "is_approved": True},
        # The strongest case: an approved public agent that an admin hid.
        "hidden": {"privacy_level": "public", "is_approved": True, "is_hidden": True},
    }[kind]
    return make_agent(owner, **fields, **overrides)


@pytest.fixture
def owner(app_context):
    return make_user()


@pytest.fixture
def count_rows():
    def count(model, *where):
        import sqlalchemy as sa

        return db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar()

    return count


@pytest.fixture
def sign_in(client, login_as):
    """Switch the client to `user` (None = signed out) within one test."""

    def _sign_in(user):
        with client.session_transaction() as sess:
            sess.clear()
        if user is not None:
            login_as(user)
        return client

    return _sign_in
