"""Helpers for admin tests."""
from __future__ import annotations


def sign_in(client, user, fresh: bool = True) -> None:
    """Sign `user` in on `client`; `fresh` also passes Flask-Login's session protection, so
    fresh_login_required views (deleting users, making staff…) accept the session."""
    from importlib.metadata import version

    from flask_login.utils import _create_identifier

    user_agent = f"Werkzeug/{version('werkzeug')}"
    with client.application.test_request_context(
            environ_base={"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": user_agent}):
        ident = _create_identifier()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = fresh
        if fresh:
            sess["_id"] = ident
