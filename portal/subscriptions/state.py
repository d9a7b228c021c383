"""Subscription state, derived exactly as Khoj derives it (reference/khoj-behaviour.md, "Subscriptions").

Never stored: computed from (type, is_recurring, renewal_date) at the moment asked.

Edge cases Khoj leaves open, settled here (Khoj: `subscription_to_state` in
src/khoj/database/adapters/__init__.py):

- The renewal instant itself. Khoj keeps a trial alive at `now == renewal_date` (it expires only when
  `now > renewal_date`) but treats a paid plan at that instant as neither future nor past, so it falls
  through to `invalid`. Here access is the half-open interval [start, renewal_date) for every type:
  at `renewal_date` exactly, the state is `expired`. One rule, no gap, no "invalid" for a real row.
- Recurring with a renewal date in the past (Stripe has not yet reported the next payment): Khoj falls
  through to `invalid`; here it is `expired`. Neither counts for gating, so access is the same; the
  word shown to the user is the honest one ("your plan ended"), and `invalid` keeps meaning "no row".
- Recurring with no renewal date (only an admin edit can produce it): Khoj raises a TypeError; here
  `expired`.
- A trial with no renewal date ends at created_at + 7 days, as in Khoj, but the date is computed,
  not written back on read (Khoj saves it during the read).
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

TRIAL_DAYS = 7

TRIAL, SUBSCRIBED, UNSUBSCRIBED, EXPIRED, INVALID = "trial", "subscribed", "unsubscribed", "expired", "invalid"
# States that count as "subscribed" for feature gating.
GATING_STATES = frozenset({SUBSCRIBED, TRIAL, UNSUBSCRIBED})


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def access_ends_at(subscription) -> datetime | None:
    """The first instant without access: the trial's end, or the paid period's end (None when unset)."""
    if subscription is None:
        return None
    if subscription.type == "trial" and subscription.renewal_date is None:
        return subscription.created_at + timedelta(days=TRIAL_DAYS)
    return subscription.renewal_date


def subscription_state(subscription, at: datetime | None = None) -> str:
    """trial / subscribed / unsubscribed / expired / invalid for a Subscription row (or None)."""
    if subscription is None:
        return INVALID
    at = at or utcnow()
    end = access_ends_at(subscription)
    if subscription.type == "trial":
        return TRIAL if at < end else EXPIRED
    if end is None or end <= at:
        # Not recurring with no date, or any plan whose period is over (see the module docstring).
        return EXPIRED
    return SUBSCRIBED if subscription.is_recurring else UNSUBSCRIBED


def trial_days_left(subscription, at: datetime | None = None) -> int:
    """Whole days of trial left, rounded up (6.2 days left shows as 7); 0 outside a running trial."""
    at = at or utcnow()
    if subscription_state(subscription, at) != TRIAL:
        return 0
    return math.ceil((access_ends_at(subscription) - at) / timedelta(days=1))


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


def indexing_quota_bytes(user, config, at: datetime | None = None) -> int:
    return SUBSCRIBED_INDEX_QUOTA_BYTES if is_subscribed(user, config, at) else FREE_INDEX_QUOTA_BYTES
