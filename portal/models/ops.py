"""Operational tables: process locks, the audit log and rate-limit records."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import TimestampedModel, choice, fk
from .choices import PROCESS_LOCK_NAMES


class ProcessLock(TimestampedModel):
    """Held while its row exists; a lock older than max_duration_in_seconds counts as free."""

    __tablename__ = "process_lock"
    __table_args__ = (
        sa.CheckConstraint("max_duration_in_seconds > 0", name="max_duration_positive"),
    )

    name: Mapped[str] = mapped_column(choice(PROCESS_LOCK_NAMES, "process_lock_name"), unique=True)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    max_duration_in_seconds: Mapped[int] = mapped_column(server_default="43200", default=43200)


class AuditLog(TimestampedModel):
    """One row per admin or security-relevant change. Secrets appear as "changed", never as values."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_object", "object_type", "object_id"),
        sa.Index("ix_audit_log_created_at", "created_at"),
        sa.Index("ix_audit_log_actor_id", "actor_id"),
        sa.Index("ix_audit_log_action", "action"),
    )

    actor_id: Mapped[int | None] = mapped_column(fk("khoj_user.id", "SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(100))
    object_type: Mapped[str | None] = mapped_column(sa.String(100))
    object_id: Mapped[str | None] = mapped_column(sa.String(100))
    changes: Mapped[dict] = mapped_column(JSONB, server_default=sa.text("'{}'::jsonb"), default=dict)
    ip: Mapped[str | None] = mapped_column(sa.String(45))

    actor: Mapped["KhojUser | None"] = relationship()  # noqa: F821


class RateLimitRecord(TimestampedModel):
    """One attempt at a limited action; counted over a window. Shared by every worker."""

    __tablename__ = "rate_limit_record"
    __table_args__ = (sa.Index("ix_rate_limit_record_lookup", "slug", "identifier", "created_at"),)

    identifier: Mapped[str] = mapped_column(sa.String(255))
    slug: Mapped[str] = mapped_column(sa.String(100))
