"""Subscriptions: one per user; its state is derived, never stored (portal/subscriptions/state.py)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import TimestampedModel, choice, fk
from .choices import SUBSCRIPTION_TYPES


class Subscription(TimestampedModel):
    __tablename__ = "subscription"

    user_id: Mapped[int] = mapped_column(fk("khoj_user.id", "CASCADE"), unique=True)
    type: Mapped[str] = mapped_column(
        choice(SUBSCRIPTION_TYPES, "subscription_type"), server_default="standard", default="standard"
    )
    is_recurring: Mapped[bool] = mapped_column(server_default=sa.false(), default=False)
    renewal_date: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    enabled_trial_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Optimistic locking: concurrent edits of one subscription conflict instead of losing an update.
    version: Mapped[int] = mapped_column(server_default="1", default=1)

    user: Mapped["KhojUser"] = relationship(back_populates="subscription")  # noqa: F821

    __mapper_args__ = {"version_id_col": version}


class ProcessedStripeEvent(TimestampedModel):
    """A Stripe webhook event already applied: a replayed delivery is recognised and changes nothing."""

    __tablename__ = "processed_stripe_event"

    event_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    event_type: Mapped[str] = mapped_column(sa.String(100))
