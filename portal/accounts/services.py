"""Accounts: creating users, checking credentials, sessions and tokens."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import KhojUser, Subscription
from .passwords import hash_password


def admin_exists() -> bool:
    return db.session.execute(
        sa.select(KhojUser.id).where(KhojUser.is_staff, KhojUser.is_active).limit(1)
    ).first() is not None


def find_user_by_email(email: str) -> KhojUser | None:
    return db.session.execute(
        sa.select(KhojUser).where(sa.func.lower(KhojUser.email) == email.strip().lower())
    ).scalar_one_or_none()


def create_user(email: str, password: str | None = None, *, is_staff: bool = False,
                is_superuser: bool = False, verified_email: bool = False, **fields) -> KhojUser:
    """A new user with its Subscription row (every sign-in path goes through here). Caller commits."""
    email = email.strip()
    user = KhojUser(
        username=email, email=email, password_hash=hash_password(password) if password else None,
        is_staff=is_staff, is_superuser=is_superuser, verified_email=verified_email, **fields,
    )
    user.subscription = Subscription()
    db.session.add(user)
    db.session.flush()
    return user
