"""In Chromium: an admin signs in through the real form, finds a user by email, deactivates them
(their session and API token stop working) and sees it in the user's audit history. Screenshots of
every admin page type are kept under test-artifacts/."""
from __future__ import annotations

import urllib.error
import urllib.request
import uuid

import pytest

from portal.extensions import db
from tests.conftest import browser_sign_in, keep_screenshot
from tests.factories import make_admin, make_agent, make_chat_model, make_token, make_user

pytestmark = pytest.mark.browser


def api_status(base, token):
    request = urllib.request.Request(f"{base}/api/v1/user", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


def shot(page, name):
    keep_screenshot(page, f"admin-{name}")


def test_admin_finds_and_deactivates_a_user(page, browser, live_server, live_app):
    tag = uuid.uuid4().hex[:8]
    admin_email, target_email = f"admin-{tag}@example.com", f"target-{tag}@example.com"
    with live_app.app_context():
        make_admin(email=admin_email)
        target = make_user(email=target_email)
        _, token = make_token(target)
        model = make_chat_model(name=f"busy-{tag}")
        make_agent(creator=target, chat_model=model, name=f"Helper {tag}")
        db.session.commit()
        target_id, model_id = target.id, model.id

    # The target is signed in elsewhere, and their token works.
    other = browser.new_context(base_url=live_server.url)
    target_page = other.new_page()
    browser_sign_in(target_page, target_email)
    target_page.goto("/admin/")
    assert "do not have access" in target_page.content()  # a plain user gets 403
    assert api_status(live_server.url, token) == 200

    browser_sign_in(page, admin_email)
    page.goto("/admin/")
    shot(page, "dashboard")
    page.get_by_role("link", name="Users", exact=True).first.click()
    page.get_by_label("Search").fill(target_email)
    page.get_by_role("button", name="Apply").click()
    shot(page, "list")
    page.get_by_role("link", name=target_email).click()
    assert page.get_by_role("heading", name=target_email).is_visible()
    shot(page, "user-detail")
    page.get_by_role("button", name="Deactivate").click()
    assert "are you sure" in page.content()
    shot(page, "confirm-action")
    page.get_by_role("button", name="Yes, deactivate").click()
    assert "Deactivated 1 user." in page.content()

    # Their session and token stop working.
    target_page.goto("/admin/")
    assert "/login" in target_page.url
    other.close()
    assert api_status(live_server.url, token) == 401

    page.goto(f"/admin/users/{target_id}/")
    page.get_by_role("link", name="History").click()
    row = page.locator("tr", has_text="user.deactivate")
    assert row.is_visible() and admin_email in row.inner_text()
    shot(page, "history")

    # The other page types, to look at.
    page.goto(f"/admin/chat_models/{model_id}/edit")
    shot(page, "form")
    page.goto(f"/admin/chat_models/{model_id}/delete")
    assert "cannot be deleted while other rows depend on it" in page.content()
    shot(page, "delete-refused")
    page.goto("/admin/audit_log/")
    shot(page, "audit-log")
    page.goto("/admin/web_scrapers/")
    shot(page, "web-scrapers")
