"""Users, their Google identities and their API tokens."""
from __future__ import annotations

import uuid as uuid_lib
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import TimestampedModel, fk


class KhojUser(UserMixin, TimestampedModel):
    """Django's AbstractUser fields plus the seed's. Usernames equal emails on every sign-in path."""

    __tablename__ = "khoj_user"
    __table_args__ = (
        # Khoj allows duplicate emails; we do not, and compare them case-insensitively.
        sa.Index("uq_khoj_user_email_lower", sa.func.lower(sa.text("email")), unique=True),
        sa.CheckConstraint(r"phone_number ~ '^\+[1-9][0-9]{6,14}$'", name="phone_e164"),
        sa.CheckConstraint("session_version > 0", name="session_version_positive"),
        # Trigram indexes: the admin's substring search (ILIKE '%…%') stays fast with many users.
        sa.Index("ix_khoj_user_email_trgm", "email", postgresql_using="gin", postgresql_ops={"email": "gin_trgm_ops"}),
        sa.Index("ix_khoj_user_username_trgm", "username", postgresql_using="gin",
                 postgresql_ops={"username": "gin_trgm_ops"}),
        sa.Index("ix_khoj_user_phone_number_trgm", "phone_number", postgresql_using="gin",
                 postgresql_ops={"phone_number": "gin_trgm_ops"}),
        # The admin's "joined in the last N days" filter and sign-ups per day.
        sa.Index("ix_khoj_user_date_joined", "date_joined"),
    )

    username: Mapped[str] = mapped_column(sa.String(150), unique=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    # Null for users who only ever signed in with Google or a one-time code.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    first_name: Mapped[str] = mapped_column(sa.String(150), server_default="", default="")
    last_name: Mapped[str] = mapped_column(sa.String(150), server_default="", default="")
    is_active: Mapped[bool] = mapped_column(server_default=sa.true(), default=True)
    is_staff: Mapped[bool] = mapped_column(server_default=sa.false(), default=False)
    is_superuser: Mapped[bool] = mapped_column(server_default=sa.false(), default=False)
    date_joined: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    last_login: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    uuid: Mapped[uuid_lib.UUID] = mapped_column(
        UUID(as_uuid=True), unique=True, default=uuid_lib.uuid4, server_default=sa.text("gen_random_uuid()")
    )
    phone_number: Mapped[str | None] = mapped_column(sa.String(16))
    verified_phone_number: Mapped[bool] = mapped_column(server_default=sa.false(), default=False)
    verified_email: Mapped[bool] = mapped_column(server_default=sa.false(), default=False)
    # One-time codes are stored as hashes, never in clear (Khoj stores them in plain text).
    email_verification_code: Mapped[str | None] = mapped_column(sa.String(128))
    email_verification_code_expiry: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    phone_verification_code: Mapped[str | None] = mapped_column(sa.String(128))
    phone_verification_code_expiry: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Bumped by sign-out, password change and deactivation: every session cookie carries the version
    # it was issued under, and the user loader refuses older ones (security.md #7).
    session_version: Mapped[int] = mapped_column(server_default="1", default=1)

    google_user: Mapped[GoogleUser | None] = relationship(
        back_populates="user", uselist=False, cascade="all, delete-orphan", passive_deletes=True
    )
    api_tokens: Mapped[list[KhojApiUser]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True,
        order_by="KhojApiUser.id.desc()",
    )
    subscription: Mapped["Subscription | None"] = relationship(  # noqa: F821
        back_populates="user", uselist=False, cascade="all, delete-orphan", passive_deletes=True
    )

    def get_id(self) -> str:
        # Flask-Login stores this in the session and the remember cookie.
        return f"{self.id}:{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return bool(self.is_active and self.is_staff)

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email

    def __repr__(self) -> str:
        return f"<KhojUser {self.id} {self.email}>"


class GoogleUser(TimestampedModel):
    """A Google identity, keyed on (issuer, sub) — never on an email address."""

    __tablename__ = "google_user"
    __table_args__ = (sa.UniqueConstraint("issuer", "sub"),)

    user_id: Mapped[int] = mapped_column(fk("khoj_user.id", "CASCADE"), unique=True)
    issuer: Mapped[str] = mapped_column(sa.String(255))
    sub: Mapped[str] = mapped_column(sa.String(255))
    azp: Mapped[str | None] = mapped_column(sa.String(255))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    name: Mapped[str | None] = mapped_column(sa.String(255))
    given_name: Mapped[str | None] = mapped_column(sa.String(255))
    family_name: Mapped[str | None] = mapped_column(sa.String(255))
    picture: Mapped[str | None] = mapped_column(sa.String(2048))
    locale: Mapped[str | None] = mapped_column(sa.String(35))

    user: Mapped[KhojUser] = relationship(back_populates="google_user")


class KhojApiUser(TimestampedModel):
    """An API token. Only its SHA-256 is stored; the token itself is shown once at creation."""

    __tablename__ = "khoj_api_user"
    __table_args__ = (sa.Index("ix_khoj_api_user_user_id", "user_id"),)

    user_id: Mapped[int] = mapped_column(fk("khoj_user.id", "CASCADE"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # What the token list shows: "kk-abcd…wxyz".
    token_hint: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(100), server_default="", default="")
    accessed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    user: Mapped[KhojUser] = relationship(back_populates="api_tokens")
