"""Stripe webhook events → subscription changes (reference/khoj-behaviour.md, "Subscriptions").

- The signature is checked with the `stripe` library against STRIPE_SIGNING_SECRET, offline.
- The customer's email comes from the event itself (an expanded `customer` object, or the invoice's
  `customer_email`); nothing calls Stripe's API.
- `invoice.paid` → standard plan, renewing, renewal_date = the paid period's end; an unknown email gets
  a new user (through accounts' create_user, so it has its Subscription row).
- `customer.subscription.updated` → is_recurring = not cancel_at_period_end, renewal_date = period end;
  like Khoj, only for a user who already has a paid plan (a standard row with a renewal date), so an
  update cannot turn a trial or a free account into a paid plan before any invoice is paid.
- `customer.subscription.deleted` → not renewing, renewal_date cleared, type standard.
- Each applied event id is stored (ProcessedStripeEvent) in the same transaction as its change, so a
  replayed delivery is recognised and changes nothing; an event that changed nothing is not stored.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

import stripe
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm.exc import StaleDataError

from .. import audit
from ..accounts.services import create_user, find_user_by_email
from ..extensions import db
from ..models import ProcessedStripeEvent
from .services import AUDITED_FIELDS, subscription_of

log = logging.getLogger(__name__)

HANDLED_EVENTS = ("invoice.paid", "customer.subscription.updated", "customer.subscription.deleted")
STALE_RETRIES = 3


class WebhookRejected(Exception):
    """The request is not a usable Stripe event (bad signature, malformed payload): answer 400."""


class WebhookConflict(Exception):
    """The subscription kept changing under us; Stripe will deliver the event again."""


@dataclass(frozen=True)
class WebhookResult:
    status: str  # applied / ignored / duplicate
    event_type: str
    reason: str = ""

    def as_json(self) -> dict:
        body = {"status": self.status, "event": self.event_type}
        if self.reason:
            body["reason"] = self.reason
        return body


def verify(payload: bytes, signature_header: str | None, secret: str | None) -> dict:
    """The event as a plain dict, once its signature is proven; WebhookRejected otherwise."""
    if not secret:
        raise WebhookRejected("Stripe webhooks are not configured on this server.")
    if not signature_header:
        raise WebhookRejected("The Stripe-Signature header is missing.")
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise WebhookRejected("The payload is not a Stripe event.") from exc
    data = event.get("data") if isinstance(event, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        # Checked before the stripe library sees it: it assumes a JSON object.
        raise WebhookRejected("The payload is not a Stripe event.")
    try:
        stripe.Webhook.construct_event(payload, signature_header, secret)
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected("The Stripe signature is not valid.") from exc
    return event


def customer_email(obj: dict) -> str | None:
    customer = obj.get("customer")
    email = customer.get("email") if isinstance(customer, dict) else None
    email = email or obj.get("customer_email")
    return email.strip() if isinstance(email, str) and email.strip() else None


def _timestamp(value) -> datetime | None:
    return datetime.fromtimestamp(value, tz=timezone.utc) if isinstance(value, (int, float)) else None


def invoice_period_end(invoice: dict) -> datetime | None:
    """The end of the period an invoice paid for: its subscription lines' period end (latest one)."""
    ends = [
        line.get("period", {}).get("end")
        for line in (invoice.get("lines") or {}).get("data") or []
        if isinstance(line, dict)
    ]
    ends = [e for e in ends if isinstance(e, (int, float))]
    if ends:
        return _timestamp(max(ends))
    subscription = invoice.get("subscription")
    return subscription_period_end(subscription) if isinstance(subscription, dict) else None


def subscription_period_end(subscription: dict) -> datetime | None:
    """current_period_end: on the subscription (older API versions) or on its items (2025 and later)."""
    if isinstance(subscription.get("current_period_end"), (int, float)):
        return _timestamp(subscription["current_period_end"])
    ends = [
        item.get("current_period_end")
        for item in (subscription.get("items") or {}).get("data") or []
        if isinstance(item, dict) and isinstance(item.get("current_period_end"), (int, float))
    ]
    return _timestamp(max(ends)) if ends else None


def handle_event(event: dict) -> WebhookResult:
    """Apply a verified event and commit. Retries a few times when a concurrent edit wins the row.
    Refusals (WebhookRejected) are raised before anything is written."""
    for attempt in range(1, STALE_RETRIES + 1):
        try:
            result = _apply(event)
            if result.status == "applied":
                db.session.commit()
            return result
        except StaleDataError:
            db.session.rollback()
            log.info("stripe event %s lost a race for the subscription row (attempt %s)", event.get("id"), attempt)
    raise WebhookConflict()


def _claim(event_id: str, event_type: str) -> bool:
    """Record the event id; False when it was already processed (a replay)."""
    inserted = db.session.execute(
        insert(ProcessedStripeEvent)
        .values(event_id=event_id, event_type=event_type)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(ProcessedStripeEvent.id)
    ).first()
    return inserted is not None


def _apply(event: dict) -> WebhookResult:
    """Decide first (nothing written for ignored or refused events), then claim the id, then change."""
    event_type = str(event.get("type") or "")
    if event_type not in HANDLED_EVENTS:
        return WebhookResult("ignored", event_type, "event type not handled")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise WebhookRejected("The event has no id.")
    obj = event["data"]["object"]
    email = customer_email(obj)
    if not email:
        raise WebhookRejected("The event names no customer email (expand the customer object).")
    user = find_user_by_email(email)
    period_end = None
    if event_type == "invoice.paid":
        period_end = invoice_period_end(obj)
        if period_end is None:
            raise WebhookRejected("The invoice has no period end.")
    elif user is None:
        return WebhookResult("ignored", event_type, "no user with this email")
    elif event_type == "customer.subscription.updated":
        current = subscription_of(user)
        if current.type != "standard" or current.renewal_date is None:
            return WebhookResult("ignored", event_type, "the user has no paid plan to update")
        period_end = subscription_period_end(obj) or current.renewal_date

    if not _claim(event_id, event_type):
        return WebhookResult("duplicate", event_type, "event already processed")
    created = user is None
    if created:
        user = create_user(email)
    subscription = subscription_of(user)
    if event_type == "invoice.paid":
        subscription.type, subscription.is_recurring, subscription.renewal_date = "standard", True, period_end
    elif event_type == "customer.subscription.updated":
        subscription.is_recurring = not bool(obj.get("cancel_at_period_end"))
        subscription.renewal_date = period_end
    else:  # customer.subscription.deleted
        subscription.type, subscription.is_recurring, subscription.renewal_date = "standard", False, None

    changes = audit.diff(subscription, AUDITED_FIELDS)
    changes.update({"stripe_event": event_id, "stripe_event_type": event_type})
    if created:
        changes["user_created"] = True
    audit.record("subscription.stripe_" + event_type.rsplit(".", 1)[-1], obj=subscription, changes=changes)
    db.session.flush()
    log.info("stripe %s applied to user %s", event_type, user.id)
    return WebhookResult("applied", event_type)
