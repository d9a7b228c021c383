"""The Stripe webhook, driven with real signatures (HMAC-SHA256 with a test signing secret)."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from portal.accounts.services import find_user_by_email
from portal.extensions import db
from portal.models import AuditLog, ProcessedStripeEvent, Subscription
from portal.subscriptions.state import subscription_state
from tests.factories import make_subscription, make_user

from .conftest import (
    invoice_paid, post_event, stripe_event, stripe_signature, subscription_event,
)

pytestmark = pytest.mark.usefixtures("billing")


def next_month() -> datetime:
    return (datetime.now(timezone.utc) + timedelta(days=30)).replace(microsecond=0)


def reload(user) -> Subscription:
    db.session.expire_all()
    return db.session.execute(sa.select(Subscription).where(Subscription.user_id == user.id)).scalar_one()


def test_invoice_paid_subscribes_the_customer_until_the_period_end(client):
    user = make_user()
    period_end = next_month()
    response = post_event(client, invoice_paid(user.email, period_end))
    assert response.status_code == 200, response.json
    assert response.json["status"] == "applied"
    sub = reload(user)
    assert (sub.type, sub.is_recurring, sub.renewal_date) == ("standard", True, period_end)
    assert subscription_state(sub) == "subscribed"


def test_invoice_paid_turns_a_running_trial_into_a_paid_plan(client):
    user = make_user()
    make_subscription(user, type="trial", enabled_trial_at=datetime.now(timezone.utc),
                      renewal_date=datetime.now(timezone.utc) + timedelta(days=3))
    post_event(client, invoice_paid(user.email, next_month()))
    assert subscription_state(reload(user)) == "subscribed"


def test_invoice_paid_reads_customer_email_when_the_customer_is_not_expanded(client):
    user = make_user()
    response = post_event(client, invoice_paid(user.email.upper(), next_month(), expanded=False))
    assert response.json["status"] == "applied"
    assert reload(user).is_recurring is True


def test_invoice_paid_for_an_unknown_email_creates_the_user_with_a_subscription(client):
    email = f"new-payer-{time.time_ns()}@example.com"
    period_end = next_month()
    assert post_event(client, invoice_paid(email, period_end)).json["status"] == "applied"
    user = find_user_by_email(email)
    assert user is not None and user.username == email and user.password_hash is None
    assert reload(user).renewal_date == period_end
    assert db.session.execute(sa.select(sa.func.count()).select_from(Subscription)
                              .where(Subscription.user_id == user.id)).scalar_one() == 1


def test_subscription_updated_with_cancel_at_period_end_keeps_access_until_then(client):
    user = make_user()
    post_event(client, invoice_paid(user.email, next_month()))
    later = next_month() + timedelta(days=1)
    response = post_event(client, subscription_event("customer.subscription.updated", user.email, later,
                                                     cancel_at_period_end=True))
    assert response.json["status"] == "applied"
    sub = reload(user)
    assert (sub.is_recurring, sub.renewal_date) == (False, later)
    assert subscription_state(sub) == "unsubscribed"

    post_event(client, subscription_event("customer.subscription.updated", user.email, later,
                                          cancel_at_period_end=False, items_period=True))
    assert subscription_state(reload(user)) == "subscribed"


def test_subscription_updated_does_not_turn_a_trial_into_a_paid_plan(client):
    user = make_user()
    make_subscription(user, type="trial", renewal_date=datetime.now(timezone.utc) + timedelta(days=2))
    response = post_event(client, subscription_event("customer.subscription.updated", user.email, next_month()))
    assert response.status_code == 200
    assert response.json["status"] == "ignored"
    assert reload(user).type == "trial"


def test_subscription_deleted_ends_the_plan(client):
    user = make_user()
    post_event(client, invoice_paid(user.email, next_month()))
    response = post_event(client, subscription_event("customer.subscription.deleted", user.email, next_month()))
    assert response.json["status"] == "applied"
    sub = reload(user)
    assert (sub.type, sub.is_recurring, sub.renewal_date) == ("standard", False, None)
    assert subscription_state(sub) == "expired"


def test_events_for_unknown_customers_other_than_invoice_paid_are_ignored(client):
    email = f"nobody-{time.time_ns()}@example.com"
    response = post_event(client, subscription_event("customer.subscription.deleted", email, next_month()))
    assert (response.status_code, response.json["status"]) == (200, "ignored")
    assert find_user_by_email(email) is None


def test_other_event_types_are_acknowledged_and_ignored(client):
    user = make_user()
    before = reload(user).version
    response = post_event(client, stripe_event("customer.created", {"object": "customer", "email": user.email}))
    assert (response.status_code, response.json["status"]) == (200, "ignored")
    assert reload(user).version == before


def test_a_forged_signature_is_refused_and_changes_nothing(client):
    user = make_user()
    event = invoice_paid(user.email, next_month())
    response = post_event(client, event, secret="whsec_attacker_guess")
    assert response.status_code == 400
    assert "signature" in response.json["error"].lower()
    assert reload(user).is_recurring is False


def test_a_tampered_payload_is_refused(client):
    user = make_user()
    event = invoice_paid("someone-else@example.com", next_month())
    signature = stripe_signature(json.dumps(event).encode())
    event["data"]["object"]["customer"]["email"] = user.email
    assert post_event(client, event, signature=signature).status_code == 400
    assert reload(user).is_recurring is False


def test_an_old_signature_is_refused(client):
    user = make_user()
    event = invoice_paid(user.email, next_month())
    stale = stripe_signature(json.dumps(event).encode(), timestamp=int(time.time()) - 3600)
    assert post_event(client, event, signature=stale).status_code == 400


def test_missing_signature_or_secret_is_refused(client, app):
    payload = json.dumps(invoice_paid("a@example.com", next_month())).encode()
    response = client.post("/api/subscription/webhook", data=payload, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    app.config["STRIPE_SIGNING_SECRET"] = None
    response = client.post("/api/subscription/webhook", data=payload,
                           headers={"Stripe-Signature": stripe_signature(payload)})
    assert response.status_code == 400 and "not configured" in response.json["error"]


def test_a_signed_event_without_an_email_is_refused(client):
    event = stripe_event("invoice.paid", {"object": "invoice", "customer": "cus_123", "lines": {"data": []}})
    response = post_event(client, event)
    assert response.status_code == 400 and "email" in response.json["error"]


def test_replaying_an_event_changes_nothing(client):
    user = make_user()
    paid = invoice_paid(user.email, next_month())
    assert post_event(client, paid).json["status"] == "applied"
    deleted = subscription_event("customer.subscription.deleted", user.email, next_month())
    assert post_event(client, deleted).json["status"] == "applied"
    version = reload(user).version

    # Stripe delivers the old invoice.paid again (a retry, or an attacker replaying a captured request
    # within the signature tolerance): it must not resubscribe the user.
    replay = post_event(client, paid)
    assert (replay.status_code, replay.json["status"]) == (200, "duplicate")
    sub = reload(user)
    assert (sub.is_recurring, sub.renewal_date, sub.version) == (False, None, version)
    assert db.session.execute(sa.select(sa.func.count()).select_from(ProcessedStripeEvent)
                              .where(ProcessedStripeEvent.event_id == paid["id"])).scalar_one() == 1


def test_each_applied_event_leaves_an_audit_row(client):
    user = make_user()
    period_end = next_month()
    event = invoice_paid(user.email, period_end)
    post_event(client, event)
    row = db.session.execute(
        sa.select(AuditLog).where(AuditLog.action == "subscription.stripe_paid",
                                  AuditLog.object_id == str(reload(user).id))
    ).scalar_one()
    assert row.changes["stripe_event"] == event["id"]
    assert row.changes["is_recurring"] == [False, True]
    assert row.changes["renewal_date"][1] == period_end.isoformat()
    assert row.actor_id is None


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"id": "evt_1", "type": "invoice.paid", "data": []}',
                                  b'{"id": "evt_2", "type": "invoice.paid", "data": {"object": {"customer": {"email": 5}}}}'])
def test_signed_garbage_is_a_400_not_a_500(client, body):
    response = client.post("/api/subscription/webhook", data=body,
                           headers={"Stripe-Signature": stripe_signature(body), "Content-Type": "application/json"})
    assert response.status_code == 400 and "error" in response.json
