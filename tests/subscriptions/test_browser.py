"""In Chromium: start the trial, pick a standard model, pay, cancel, and read until when access lasts."""
from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Subscription
from portal.subscriptions.services import format_moment
from tests.conftest import browser_sign_in, keep_screenshot
from tests.factories import make_chat_model, make_user

from .conftest import SUBSCRIPTION_URL, TEST_SIGNING_SECRET, invoice_paid, stripe_signature

pytestmark = pytest.mark.browser


@pytest.fixture
def live_billing(live_app):
    """Billing "configured" in the live app for this test only, so the tier gate matters."""
    saved = {k: live_app.config.get(k) for k in ("STRIPE_SIGNING_SECRET", "SUBSCRIPTION_URL")}
    live_app.config.update(STRIPE_SIGNING_SECRET=TEST_SIGNING_SECRET, SUBSCRIPTION_URL=SUBSCRIPTION_URL)
    yield
    live_app.config.update(saved)


def shot(page, name: str) -> None:
    keep_screenshot(page, f"subscriptions-{name}")


def stripe_delivers(live_server, event: dict) -> dict:
    payload = json.dumps(event).encode()
    request = urllib.request.Request(
        live_server.url + "/api/subscription/webhook", data=payload, method="POST",
        headers={"Content-Type": "application/json", "Stripe-Signature": stripe_signature(payload)},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_trial_then_standard_model_then_cancel_shows_until_when(page, live_server, live_app, live_billing):
    tag = uuid.uuid4().hex[:8]
    with live_app.app_context():
        user = make_user(f"planner-{tag}@example.com")
        make_chat_model(name=f"everyday-{tag}", friendly_name=f"Everyday {tag}", price_tier="free",
                        description="Quick everyday answers.", strengths="Speed", max_prompt_size=8000)
        pro = make_chat_model(name=f"pro-{tag}", friendly_name=f"Pro Writer {tag}", price_tier="standard",
                              model_type="anthropic", vision_enabled=True, description="Long, careful answers.",
                              strengths="Reasoning, long documents", max_prompt_size=16000,
                              subscribed_max_prompt_size=120000)
        db.session.commit()
        email, pro_id, pro_name = user.email, pro.id, pro.display_name

    browser_sign_in(page, email)
    pro_card = page.locator(f'[data-model-id="{pro_id}"][data-kind="chat"]')

    # Free plan: the standard model is locked.
    page.goto("/models")
    assert pro_card.get_by_role("button", name="Subscribe to switch").is_disabled()
    assert "16,000 tokens" in pro_card.inner_text()
    shot(page, "models-free")

    # Start the trial from the plan page.
    page.goto("/plan")
    assert page.locator("#plan-sentence").inner_text() == "You are on the free plan."
    subscribe = page.get_by_role("link", name="Subscribe")
    assert subscribe.get_attribute("href").endswith("prefilled_email=" + email.replace("@", "%40"))
    shot(page, "plan-free")
    page.get_by_role("button", name="Start 7-day free trial").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your 7-day free trial has started.").is_visible()
    assert "(7 days left)" in page.locator("#plan-sentence").inner_text()
    assert page.get_by_role("button", name="Start 7-day free trial").count() == 0
    shot(page, "plan-trial")

    # Pick the standard-tier model.
    page.goto("/models")
    assert "120,000 tokens" in pro_card.inner_text()
    pro_card.get_by_role("button", name="Use this model").click()
    page.wait_for_load_state()
    assert page.get_by_text(f"Your chat model is now {pro_name}.").is_visible()
    assert pro_card.get_by_text("In use").is_visible()
    shot(page, "models-trial")

    # Stripe reports the first payment; then the user cancels renewal.
    period_end = (datetime.now(timezone.utc) + timedelta(days=30)).replace(microsecond=0)
    assert stripe_delivers(live_server, invoice_paid(email, period_end))["status"] == "applied"
    page.goto("/plan")
    assert page.locator("#plan-sentence").inner_text() == f"Your plan renews on {format_moment(period_end)}."
    page.get_by_role("button", name="Cancel plan").click()
    page.wait_for_load_state()
    sentence = page.locator("#plan-sentence").inner_text()
    assert f"You keep access until {format_moment(period_end)}" in sentence
    assert page.get_by_role("button", name="Resume plan").is_visible()
    shot(page, "plan-cancelled")

    # Still paid up: the standard model stays in use until the period ends.
    page.goto("/models")
    assert pro_card.get_by_text("In use").is_visible()

    # The period ends: the model is locked again, the choice is kept and shown as paused.
    with live_app.app_context():
        db.session.execute(sa.update(Subscription).where(Subscription.user_id == db.session.execute(
            sa.select(sa.literal_column("id")).select_from(sa.table("khoj_user")).where(sa.column("email") == email)
        ).scalar_one()).values(renewal_date=datetime.now(timezone.utc) - timedelta(minutes=1)))
        db.session.commit()
    page.goto("/models")
    assert page.locator("#chat-fallback").is_visible()
    assert pro_card.get_by_text("Your choice · paused").is_visible()
    assert pro_card.get_by_role("button", name="Subscribe to switch").is_disabled()
    shot(page, "models-lapsed")
    page.goto("/plan")
    assert page.locator("#plan-sentence").inner_text().startswith("Your plan ended on")
