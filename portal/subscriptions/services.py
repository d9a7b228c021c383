"""The user's plan: what it is in words, and the changes a user may make to it (trial, cancel, resubscribe).

Every change is audited in the caller's transaction. Subscription rows carry an optimistic-lock
`version`: a change made against a version the user no longer sees raises SubscriptionConflict, and
so does a concurrent write caught at commit (SQLAlchemy's StaleDataError) — see `save()`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.orm.exc import StaleDataError

from .. import audit
from ..extensions import db
from ..models import Subscription
from .state import (
    EXPIRED, INVALID, SUBSCRIBED, TRIAL, TRIAL_DAYS, UNSUBSCRIBED, access_ends_at, billing_configured,
    is_subscribed, subscription_state, trial_days_left, utcnow,
)

AUDITED_FIELDS = ("type", "is_recurring", "renewal_date", "enabled_trial_at")
CONFLICT_MESSAGE = "Your plan was changed elsewhere at the same time. Review it below and try again."


class SubscriptionError(Exception):
    """A change the rules refuse; the message is meant for the user."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SubscriptionConflict(SubscriptionError):
    status = 409

    def __init__(self, message: str = CONFLICT_MESSAGE):
        super().__init__(message)


def subscription_of(user) -> Subscription:
    """The user's row; a user created before subscriptions existed gets one now (expired, free plan)."""
    if user.subscription is None:
        user.subscription = Subscription()
        db.session.flush()
    return user.subscription


def _check_version(subscription: Subscription, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != subscription.version:
        raise SubscriptionConflict()


def _audit(action: str, actor, subscription: Subscription, **extra) -> None:
    changes = audit.diff(subscription, AUDITED_FIELDS)
    changes.update(extra)
    audit.record(action, actor=actor, obj=subscription, changes=changes)


def start_trial(user, expected_version: int | None = None, at: datetime | None = None) -> Subscription:
    """Start the 7-day trial. Once per user, ever; not on top of a plan that still gives access."""
    subscription = subscription_of(user)
    _check_version(subscription, expected_version)
    at = at or utcnow()
    state = subscription_state(subscription, at)
    if state == TRIAL:
        raise SubscriptionError("Your free trial is already running.")
    if subscription.enabled_trial_at is not None:
        raise SubscriptionError(
            f"You already used your free trial (started {format_moment(subscription.enabled_trial_at)}). "
            "Subscribe to keep using the standard models."
        )
    if state in (SUBSCRIBED, UNSUBSCRIBED):
        raise SubscriptionError("You already have a paid plan; a trial would add nothing.")
    subscription.type = "trial"
    subscription.enabled_trial_at = at
    subscription.renewal_date = at + timedelta(days=TRIAL_DAYS)
    subscription.is_recurring = False
    _audit("subscription.trial_start", user, subscription)
    return subscription


def _set_renewal(user, expected_version, at, *, from_state: str, recurring: bool, refusal: str, action: str):
    subscription = subscription_of(user)
    _check_version(subscription, expected_version)
    if subscription_state(subscription, at) != from_state:
        raise SubscriptionError(refusal)
    subscription.is_recurring = recurring
    _audit(action, user, subscription)
    return subscription


def cancel(user, expected_version: int | None = None, at: datetime | None = None) -> Subscription:
    """Stop renewal; access continues until renewal_date."""
    return _set_renewal(user, expected_version, at, from_state=SUBSCRIBED, recurring=False,
                        refusal="There is no renewing plan to cancel.", action="subscription.cancel")


def resubscribe(user, expected_version: int | None = None, at: datetime | None = None) -> Subscription:
    """Undo a cancellation while the paid period is still running."""
    return _set_renewal(user, expected_version, at, from_state=UNSUBSCRIBED, recurring=True,
                        refusal="Only a cancelled plan that is still running can be resumed.",
                        action="subscription.resubscribe")


def save() -> None:
    """Commit a subscription change; a concurrent write becomes SubscriptionConflict, not a 500."""
    try:
        db.session.commit()
    except StaleDataError as exc:
        db.session.rollback()
        raise SubscriptionConflict() from exc


# --------------------------------------------------------------------------- presenting the plan


def format_moment(moment: datetime | None) -> str:
    return moment.strftime("%-d %B %Y, %H:%M UTC") if moment else ""


def subscribe_url(user, config) -> str | None:
    """SUBSCRIPTION_URL with the user's email prefilled (Stripe payment links read prefilled_email)."""
    base = config.get("SUBSCRIPTION_URL")
    if not base or not billing_configured(config):
        return None
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "prefilled_email"]
    query.append(("prefilled_email", user.email))
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class PlanSummary:
    state: str
    title: str
    sentence: str
    ends_at: datetime | None
    trial_days_left: int
    subscribed: bool
    billing: bool
    version: int | None
    can_start_trial: bool
    can_cancel: bool
    can_resubscribe: bool
    subscribe_url: str | None

    def as_json(self) -> dict:
        return {
            "state": self.state, "subscribed": self.subscribed, "billing_configured": self.billing,
            "renewal_date": self.ends_at.isoformat() if self.ends_at else None,
            "is_recurring": self.state == SUBSCRIBED, "trial_days_left": self.trial_days_left,
            "can_start_trial": self.can_start_trial, "summary": self.sentence,
        }


def _describe(subscription, state: str, ends_at: datetime | None, days_left: int) -> tuple[str, str]:
    when = format_moment(ends_at)
    if state == TRIAL:
        plural = "day" if days_left == 1 else "days"
        return "Free trial", f"Your free trial ends on {when} ({days_left} {plural} left)."
    if state == SUBSCRIBED:
        return "Subscribed", f"Your plan renews on {when}."
    if state == UNSUBSCRIBED:
        return "Cancelled", f"You cancelled your plan. You keep access until {when}; it will not renew."
    if state == EXPIRED and ends_at is not None:
        if subscription.type == "trial":
            return "Free plan", f"Your free trial ended on {when}."
        return "Free plan", f"Your plan ended on {when}."
    if state == INVALID:
        return "No plan", "You have no plan yet."
    return "Free plan", "You are on the free plan."


def plan_summary(user, config, at: datetime | None = None) -> PlanSummary:
    at = at or utcnow()
    subscription = user.subscription
    state = subscription_state(subscription, at)
    ends_at = access_ends_at(subscription)
    days_left = trial_days_left(subscription, at)
    billing = billing_configured(config)
    if billing:
        title, sentence = _describe(subscription, state, ends_at, days_left)
    else:
        title, sentence = "Everything included", (
            "Billing is not set up on this server, so every feature and model is open to everyone.")
    trial_used = subscription is not None and subscription.enabled_trial_at is not None
    return PlanSummary(
        state=state, title=title, sentence=sentence, ends_at=ends_at, trial_days_left=days_left,
        subscribed=is_subscribed(user, config, at), billing=billing,
        version=subscription.version if subscription is not None else None,
        can_start_trial=billing and not trial_used and state not in (SUBSCRIBED, UNSUBSCRIBED, TRIAL),
        can_cancel=state == SUBSCRIBED, can_resubscribe=state == UNSUBSCRIBED,
        subscribe_url=subscribe_url(user, config) if state not in (SUBSCRIBED, UNSUBSCRIBED) else None,
    )
