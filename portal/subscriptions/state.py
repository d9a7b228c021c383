"""Subscription state, derived exactly as Khoj derives it (reference/khoj-behaviour.md, "Subscriptions").

Never stored: computed from (type, is_recurring, renewal_date) at the moment asked.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

TRIAL_DAYS = 7

TRIAL, SUBSCRIBED, UNSUBSCRIBED, EXPIRED, INVALID = "trial", "subscribed", "unsubscribed", "expired", "invalid"
# States that count as "subscribed" for feature gating.
GATING_STATES = frozenset({SUBSCRIBED, TRIAL, UNSUBSCRIBED})


def subscription_state(subscription, at: datetime | None = None) -> str:
    """trial / subscribed / unsubscribed / expired / invalid for a Subscription row (or None)."""
    if subscription is None:
        return INVALID
    at = at or datetime.now(timezone.utc)
    renewal = subscription.renewal_date
    if subscription.type == "trial":
        end = renewal or (subscription.created_at + timedelta(days=TRIAL_DAYS))
        return TRIAL if at < end else EXPIRED
    if subscription.is_recurring and renewal is not None and renewal > at:
        return SUBSCRIBED
    if not subscription.is_recurring and renewal is None:
        return EXPIRED
    if not subscription.is_recurring and renewal > at:
        return UNSUBSCRIBED
    # Past renewal date, recurring or not: expired. (Recurring with no renewal date also lands here.)
    return EXPIRED


def billing_configured(config) -> bool:
    return bool(config.get("STRIPE_SIGNING_SECRET") or config.get("SUBSCRIPTION_URL"))


def is_subscribed(user, config, at: datetime | None = None) -> bool:
    """Khoj's gate: subscribed, on trial or paid-up-but-cancelled — or billing not configured at all."""
    if not billing_configured(config):
        return True
    return subscription_state(getattr(user, "subscription", None), at) in GATING_STATES


# Indexing quota by plan (Khoj: 50 MB free, 500 MB subscribed).
FREE_INDEX_QUOTA_BYTES = 50 * 1024 * 1024
SUBSCRIBED_INDEX_QUOTA_BYTES = 500 * 1024 * 1024


def indexing_quota_bytes(user, config) -> int:
    return SUBSCRIBED_INDEX_QUOTA_BYTES if is_subscribed(user, config) else FREE_INDEX_QUOTA_BYTES
