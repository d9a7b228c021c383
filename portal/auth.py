"""Who is asking: the session user loader, API tokens, and the access decorators every area uses."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone
from functools import wraps

import sqlalchemy as sa
from flask import Flask, abort, g, request
from flask_login import current_user

from .extensions import db, login_manager
from .models import KhojApiUser, KhojUser

TOKEN_PREFIX = "kk-"
# accessed_at is written at most this often per token, so busy scripts don't write on every request.
ACCESS_RECORD_INTERVAL = timedelta(minutes=1)


def configure_login(app: Flask) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.refresh_view = "accounts.reauthenticate"
    login_manager.needs_refresh_message = "Please confirm your password to continue."
    login_manager.needs_refresh_message_category = "info"
    login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(session_id: str) -> KhojUser | None:
    """Session ids are "<user id>:<session version>"; a bumped version ends every older session."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(KhojUser, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user


def now() -> datetime:
    return datetime.now(timezone.utc)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def generate_token() -> str:
    """`kk-` + 43 URL-safe characters: 32 bytes (256 bits) from the OS CSPRNG."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hint(token: str) -> str:
    return f"{token[:7]}…{token[-4:]}"


def user_for_token(token: str) -> KhojUser | None:
    """The active user a live token belongs to, recording the use; None for anything else."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.execute(
        sa.select(KhojApiUser).where(KhojApiUser.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if row is None or not row.user.is_active:
        return None
    moment = now()
    if row.expires_at is not None and row.expires_at <= moment:
        return None
    if row.accessed_at is None or moment - row.accessed_at >= ACCESS_RECORD_INTERVAL:
        # A conditional UPDATE, so concurrent requests don't fight over the row.
        db.session.execute(
            sa.update(KhojApiUser)
            .where(KhojApiUser.id == row.id)
            .where(sa.or_(KhojApiUser.accessed_at.is_(None),
                          KhojApiUser.accessed_at <= moment - ACCESS_RECORD_INTERVAL))
            .values(accessed_at=moment)
        )
        db.session.commit()
    g.api_token_id = row.id
    return row.user


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def wants_json() -> bool:
    """JSON for the API and for clients that prefer it; HTML for browsers."""
    if request.path.startswith("/api/") or request.path == "/api":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def admin_required(view):
    """Staff only: anonymous users are sent to sign in, signed-in non-staff get 403."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def superuser_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not (current_user.is_admin and current_user.is_superuser):
            abort(403)
        return view(*args, **kwargs)

    return wrapped
