"""The accounts flow in Chromium: sign up, verify the email, sign out, sign in, create and revoke a token."""
from __future__ import annotations

import re
import uuid

import pytest
import requests

from tests.conftest import browser_sign_in, keep_screenshot

pytestmark = pytest.mark.browser
PASSWORD = "a browser-typed passphrase"


def shot(page, name: str) -> None:
    keep_screenshot(page, f"accounts-{name}")


def captured_code(live_app, email: str) -> str:
    for message in reversed(live_app.extensions.setdefault("outbox", [])):
        if message["to"] == email:
            return re.search(r"\b(\d{6})\b", message["body"])[1]
    raise AssertionError(f"no mail to {email}")


def test_sign_up_verify_sign_out_sign_in_and_manage_a_token(page, live_server, live_app):
    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("First name").fill("Brow")
    shot(page, "signup")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/verify-email")
    assert page.get_by_text("Welcome! We sent a 6-digit code to your email to verify it.").is_visible()
    shot(page, "verify-email")
    page.get_by_label("Code").fill(captured_code(live_app, email))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/profile")
    assert page.get_by_text("Thank you, your email address is verified.").is_visible()
    assert page.locator(".badge", has_text="verified").first.is_visible()
    shot(page, "profile")

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url("**/login")
    assert page.get_by_text("You are signed out.").is_visible()
    shot(page, "login")
    browser_sign_in(page, email, PASSWORD)
    assert page.url == live_server.url + "/"
    assert page.get_by_text(f"Signed in as {email}").is_visible()

    page.get_by_role("link", name="API tokens").click()
    page.wait_for_url("**/tokens")
    assert page.get_by_text("You have no API tokens yet").is_visible()
    page.get_by_label("Name").fill("Browser Bot")
    page.get_by_label("In 30 days").check()
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").input_value()
    assert re.fullmatch(r"kk-[A-Za-z0-9_\-]{43}", token)
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("button", name="Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == token
    row = page.locator("tr", has_text="Browser Bot")
    assert token[:7] in row.inner_text() and token not in row.inner_text()
    shot(page, "tokens-new")

    api = f"{live_server.url}/api/v1/user"
    answer = requests.get(api, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200 and answer.json()["email"] == email

    row.get_by_role("button", name="Revoke").click()
    page.wait_for_url("**/tokens")
    assert page.get_by_text("is revoked").is_visible()
    assert page.get_by_text("You have no API tokens yet").is_visible()
    shot(page, "tokens-revoked")
    answer = requests.get(api, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 401 and answer.json()["error"]


def test_account_pages_render(page, live_server, live_app):
    """The other accounts pages, for a look: code sign-in, magic link, reauthentication, deletion, setup."""
    from portal.accounts.services import admin_exists, create_user, issue_login_link
    from portal.extensions import db

    email = f"pages-{uuid.uuid4().hex[:8]}@example.com"
    with live_app.app_context():
        no_admin = not admin_exists()
        user_id = create_user(email, PASSWORD).id
        db.session.commit()
    if no_admin:
        page.goto("/setup")
        shot(page, "setup")
    page.goto("/login/code")
    shot(page, "code-request")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Email me a code").click()
    page.wait_for_url("**/login/code/enter**")
    shot(page, "code-enter")
    from portal.models import KhojUser

    with live_app.app_context(), live_app.test_request_context(base_url=live_server.url):
        link = issue_login_link(db.session.get(KhojUser, user_id))
        db.session.commit()
    page.goto(link)
    assert page.get_by_label("Code from the email").input_value() == link.rsplit("=", 1)[1]
    assert "#" not in page.url  # the code left the address bar
    shot(page, "magic-link")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/")
    page.goto("/reauthenticate")
    shot(page, "reauthenticate")
    page.goto("/profile/delete")
    shot(page, "delete")
    page.get_by_label("Type your email address to confirm").fill(email)
    page.get_by_role("button", name="Delete my account forever").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_text("Your account and everything in it are deleted.").is_visible()
