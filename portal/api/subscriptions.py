"""Subscription JSON: the caller's plan, and the Stripe webhook (signed by Stripe, not by a token)."""
from __future__ import annotations

import logging

from flask import current_app, g, jsonify, request

from ..subscriptions.services import plan_summary
from ..subscriptions.webhook import WebhookConflict, WebhookRejected, handle_event, verify
from . import ApiError, bp, token_required
from .openapi import describe

log = logging.getLogger(__name__)


@bp.get("/subscription")
@token_required
def subscription():
    return jsonify(plan_summary(g.api_user, current_app.config).as_json())


@bp.post("/subscription/webhook")
@describe(summary="Stripe webhook (signed with STRIPE_SIGNING_SECRET)", raw_body="application/json", auth=False)
def stripe_webhook():
    try:
        event = verify(request.get_data(), request.headers.get("Stripe-Signature"),
                       current_app.config.get("STRIPE_SIGNING_SECRET"))
        result = handle_event(event)
    except WebhookRejected as exc:
        log.warning("stripe webhook refused: %s", exc)
        raise ApiError(str(exc), 400) from exc
    except WebhookConflict as exc:
        raise ApiError("The subscription is being changed; retry later.", 409) from exc
    return jsonify(result.as_json())
