"""Billing switched on for a test, and Stripe events signed the way Stripe signs them."""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from datetime import datetime

import pytest

TEST_SIGNING_SECRET = "whsec_test_portal_signing_secret"
SUBSCRIPTION_URL = "https://buy.stripe.com/test_portal"
_ids = itertools.count(1)


@pytest.fixture
def billing(app):
    """Billing "configured" (Stripe secret and payment link set) for one test, restored afterwards."""
    saved = {k: app.config.get(k) for k in ("STRIPE_SIGNING_SECRET", "SUBSCRIPTION_URL")}
    app.config.update(STRIPE_SIGNING_SECRET=TEST_SIGNING_SECRET, SUBSCRIPTION_URL=SUBSCRIPTION_URL)
    yield app.config
    app.config.update(saved)


def stripe_signature(payload: bytes, secret: str = TEST_SIGNING_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<payload>")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def stripe_event(event_type: str, obj: dict, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_test_{next(_ids):06d}_{int(time.time() * 1000)}",
        "object": "event", "api_version": "2024-06-20", "created": int(time.time()),
        "type": event_type, "livemode": False, "data": {"object": obj},
    }


def customer(email: str) -> dict:
    return {"id": "cus_test_" + hashlib.md5(email.encode()).hexdigest()[:10], "object": "customer", "email": email}


def invoice_paid(email: str, period_end: datetime, *, expanded: bool = True, **kw) -> dict:
    """An invoice.paid event; the customer expanded, or only `customer_email` like Stripe's default."""
    obj = {
        "id": "in_test", "object": "invoice", "status": "paid",
        "customer": customer(email) if expanded else customer(email)["id"],
        "customer_email": None if expanded else email,
        "subscription": "sub_test",
        "lines": {"object": "list", "data": [
            {"id": "il_test", "object": "line_item", "period": {"start": int(period_end.timestamp()) - 2592000,
                                                                  "end": int(period_end.timestamp())}},
        ]},
    }
    return stripe_event("invoice.paid", obj, **kw)


def subscription_event(event_type: str, email: str, period_end: datetime, cancel_at_period_end: bool = False,
                       *, items_period: bool = False, **kw) -> dict:
    """customer.subscription.updated/deleted; period end on the subscription or (newer API) on its items."""
    obj = {"id": "sub_test", "object": "subscription", "customer": customer(email),
           "cancel_at_period_end": cancel_at_period_end, "status": "active"}
    if items_period:
        obj["items"] = {"object": "list", "data": [{"id": "si_test", "current_period_end": int(period_end.timestamp())}]}
    else:
        obj["current_period_end"] = int(period_end.timestamp())
    return stripe_event(event_type, obj, **kw)


def post_event(client, event: dict, secret: str = TEST_SIGNING_SECRET, signature: str | None = None):
    payload = json.dumps(event).encode()
    headers = {"Stripe-Signature": signature or stripe_signature(payload, secret), "Content-Type": "application/json"}
    return client.post("/api/subscription/webhook", data=payload, headers=headers)
