"""The signed-in user over the API: GET /api/v1/user (Khoj's shape)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, g, jsonify

from ..extensions import db
from ..models import Entry
from ..subscriptions.state import access_ends_at, is_subscribed, subscription_state
from . import bp, token_required


@bp.get("/v1/user")
@token_required
def v1_user():
    """Khoj's fields (its `is_active` means "has the premium scope", i.e. subscribed) plus the plan."""
    user = g.api_user
    has_documents = db.session.execute(
        sa.select(sa.exists().where(Entry.user_id == user.id))
    ).scalar_one()
    subscription = user.subscription
    renewal = access_ends_at(subscription)
    return jsonify({
        "email": user.email,
        "username": user.username,
        "photo": user.google_user.picture if user.google_user else None,
        "is_active": is_subscribed(user, current_app.config),
        "has_documents": bool(has_documents),
        "subscription_state": subscription_state(subscription),
        "subscription_renewal_date": renewal.isoformat() if renewal else None,
        "subscription_enabled_trial_at": (
            subscription.enabled_trial_at.isoformat() if subscription and subscription.enabled_trial_at else None
        ),
    })
