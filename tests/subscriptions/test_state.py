"""Subscription state, every branch of khoj-behaviour.md "Subscriptions", boundaries included."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from portal.subscriptions.state import (
    FREE_INDEX_QUOTA_BYTES, SUBSCRIBED_INDEX_QUOTA_BYTES, access_ends_at, indexing_quota_bytes, is_subscribed,
    subscription_state, trial_days_left,
)

AT = datetime(2026, 6, 15, 12, 0, 0, tzinfo=timezone.utc)
TICK = timedelta(microseconds=1)
DAY = timedelta(days=1)
BILLING_ON = {"STRIPE_SIGNING_SECRET": "whsec_x"}
BILLING_OFF: dict = {}


def sub(type="standard", recurring=False, renewal=None, created=AT - 30 * DAY):
    return SimpleNamespace(type=type, is_recurring=recurring, renewal_date=renewal, created_at=created)


STATE_TABLE = [
    # (case, subscription, expected state)
    ("no subscription row", None, "invalid"),
    ("trial, renewal in the future", sub("trial", renewal=AT + DAY), "trial"),
    ("trial, one microsecond left", sub("trial", renewal=AT + TICK), "trial"),
    ("trial, renewal exactly now", sub("trial", renewal=AT), "expired"),
    ("trial, renewal in the past", sub("trial", renewal=AT - DAY), "expired"),
    ("trial, no renewal date, created 6 days ago", sub("trial", created=AT - 6 * DAY), "trial"),
    ("trial, no renewal date, created exactly 7 days ago", sub("trial", created=AT - 7 * DAY), "expired"),
    ("trial, no renewal date, 7 days minus a tick", sub("trial", created=AT - 7 * DAY + TICK), "trial"),
    ("trial ignores is_recurring once over", sub("trial", recurring=True, renewal=AT - DAY), "expired"),
    ("recurring, renewal in the future", sub(recurring=True, renewal=AT + DAY), "subscribed"),
    ("recurring, one microsecond left", sub(recurring=True, renewal=AT + TICK), "subscribed"),
    ("recurring, renewal exactly now", sub(recurring=True, renewal=AT), "expired"),
    ("recurring, renewal in the past (Khoj: invalid)", sub(recurring=True, renewal=AT - DAY), "expired"),
    ("recurring, no renewal date (Khoj: error)", sub(recurring=True, renewal=None), "expired"),
    ("not recurring, no renewal date", sub(recurring=False, renewal=None), "expired"),
    ("not recurring, renewal in the future", sub(recurring=False, renewal=AT + DAY), "unsubscribed"),
    ("not recurring, one microsecond left", sub(recurring=False, renewal=AT + TICK), "unsubscribed"),
    ("not recurring, renewal exactly now (Khoj: invalid)", sub(recurring=False, renewal=AT), "expired"),
    ("not recurring, renewal in the past", sub(recurring=False, renewal=AT - DAY), "expired"),
]


@pytest.mark.parametrize("case, subscription, expected", STATE_TABLE, ids=[row[0] for row in STATE_TABLE])
def test_subscription_state(case, subscription, expected):
    assert subscription_state(subscription, AT) == expected


@pytest.mark.parametrize("case, subscription, expected", STATE_TABLE, ids=[row[0] for row in STATE_TABLE])
def test_gating_follows_the_state_when_billing_is_on(case, subscription, expected):
    user = SimpleNamespace(subscription=subscription)
    assert is_subscribed(user, BILLING_ON, AT) is (expected in {"trial", "subscribed", "unsubscribed"})
    expected_quota = SUBSCRIBED_INDEX_QUOTA_BYTES if expected in {"trial", "subscribed", "unsubscribed"} \
        else FREE_INDEX_QUOTA_BYTES
    assert indexing_quota_bytes(user, BILLING_ON, AT) == expected_quota


@pytest.mark.parametrize("case, subscription, expected", STATE_TABLE, ids=[row[0] for row in STATE_TABLE])
def test_everyone_counts_as_subscribed_without_billing(case, subscription, expected):
    user = SimpleNamespace(subscription=subscription)
    assert is_subscribed(user, BILLING_OFF, AT) is True
    assert indexing_quota_bytes(user, BILLING_OFF) == SUBSCRIBED_INDEX_QUOTA_BYTES


def test_billing_counts_as_configured_with_only_a_subscription_url():
    user = SimpleNamespace(subscription=sub(recurring=False, renewal=None))
    assert is_subscribed(user, {"SUBSCRIPTION_URL": "https://buy.stripe.com/x"}, AT) is False


def test_quota_sizes():
    assert FREE_INDEX_QUOTA_BYTES == 50 * 1024 * 1024
    assert SUBSCRIBED_INDEX_QUOTA_BYTES == 500 * 1024 * 1024


@pytest.mark.parametrize("remaining, days", [
    (7 * DAY, 7), (6 * DAY + timedelta(hours=1), 7), (6 * DAY, 6), (timedelta(seconds=1), 1), (TICK, 1),
    (timedelta(0), 0), (-DAY, 0),
])
def test_trial_days_left_rounds_up_and_stops_at_the_end(remaining, days):
    assert trial_days_left(sub("trial", renewal=AT + remaining), AT) == days


def test_trial_days_left_is_zero_outside_a_trial():
    assert trial_days_left(sub(recurring=True, renewal=AT + 3 * DAY), AT) == 0
    assert trial_days_left(None, AT) == 0


def test_access_ends_at():
    assert access_ends_at(sub("trial", created=AT)) == AT + 7 * DAY
    assert access_ends_at(sub(recurring=True, renewal=AT + DAY)) == AT + DAY
    assert access_ends_at(sub()) is None
    assert access_ends_at(None) is None
