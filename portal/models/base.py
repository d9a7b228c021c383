"""Shared column helpers: every table carries id and database-set timestamps (the seed's DbBaseModel)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class TimestampedModel(db.Model):
    __abstract__ = True

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )
    # onupdate runs now() in the UPDATE itself, so the database clock sets it.
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now(), nullable=False
    )


def choice(values, name: str, length: int = 32, **kwargs) -> sa.Enum:
    """A string column restricted to `values` by a CHECK constraint named after `name`.

    Check constraints rather than PostgreSQL enum types: adding a value later is one constraint swap,
    and downgrades leave no orphan types behind.
    """
    return sa.Enum(
        *values, name=name, native_enum=False, create_constraint=True, length=length,
        validate_strings=True, **kwargs,
    )


def fk(target: str, ondelete: str, **kwargs) -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete=ondelete, **kwargs)
