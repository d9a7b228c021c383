"""Whole journeys in Chromium, through the real pages only.

- First run: on a portal with no admin, a visitor follows the home page to /setup, creates the admin,
  lands signed in with the admin area open to them, and /setup is gone (404) from then on.
- Google: "Sign in with Google" on /login, through a real OpenID Connect provider on loopback (its own
  authorisation page, in the browser), back signed in; sign out and in again as the same subject, and it
  is the same user.
"""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import GoogleUser, KhojUser
from tests.conftest import (
    OIDC_PROVIDER_WARNINGS, build_app, keep_screenshot, make_database, migrate_to_head, serving, set_oidc_claims,
    use_oidc_provider,
)

pytestmark = [pytest.mark.browser, *OIDC_PROVIDER_WARNINGS]


@pytest.fixture
def first_run_portal(postgres_admin_url):
    """A portal on a database of its own, freshly migrated, served on loopback: the shared live database
    already holds admins committed by other browser tests, so it cannot show the first run."""
    app = build_app(make_database(postgres_admin_url, "portal_first_run"))
    migrate_to_head(app)
    with serving(app) as server:
        yield app, server
    with app.app_context():
        db.engine.dispose()


def admins(app) -> list[tuple[str, bool, bool]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            sa.select(KhojUser.email, KhojUser.is_superuser, KhojUser.is_active).where(KhojUser.is_staff))]


def test_first_run_setup_creates_the_admin_signs_them_in_and_closes(browser, first_run_portal):
    app, server = first_run_portal
    assert admins(app) == []  # the precondition: no admin at all
    email, password = f"first-admin-{uuid.uuid4().hex[:8]}@example.com", "a first-run admin passphrase"

    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        page.goto("/")
        assert page.get_by_text("First run: no admin exists yet.").is_visible()
        page.get_by_role("link", name="Create the first admin").click()
        page.wait_for_url(server.url + "/setup")
        assert page.get_by_role("heading", name="Create the first admin").is_visible()
        page.get_by_label("Admin email").fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        keep_screenshot(page, "journeys-setup-form")
        page.get_by_role("button", name="Create admin").click()

        # Signed in as the new admin, on the home page, with the admin area in the navigation.
        page.wait_for_url(server.url + "/")
        assert page.get_by_text("The first admin account is ready.").is_visible()
        assert page.get_by_text(f"Signed in as {email}").is_visible()
        assert page.get_by_text("First run: no admin exists yet.").count() == 0
        page.locator("nav").get_by_role("link", name="Admin", exact=True).click()
        page.wait_for_url(server.url + "/admin/")
        assert page.get_by_role("heading", name="Admin dashboard").is_visible()
        keep_screenshot(page, "journeys-setup")
        assert admins(app) == [(email, True, True)]

        # The setup page is gone, for the admin and for anyone else; a well-formed POST (valid CSRF token
        # from the sign-out form) is refused too.
        assert page.goto("/setup").status == 404
        page.goto("/")
        csrf_token = page.locator("nav input[name=csrf_token]").input_value()
        second = {"csrf_token": csrf_token, "email": "second@example.com", "password": password}
        assert page.request.post("/setup", form=second).status == 404
    finally:
        context.close()
    stranger = browser.new_context(base_url=server.url)
    try:
        page = stranger.new_page()
        assert page.goto("/setup").status == 404
        page.goto("/")
        assert page.get_by_text("First run").count() == 0
    finally:
        stranger.close()
    assert admins(app) == [(email, True, True)]


def google_identities(live_app, sub: str) -> list[tuple[str, str, int, str]]:
    """(issuer, Google name, user id, user email) of every identity with this subject."""
    with live_app.app_context():
        return [tuple(row) for row in db.session.execute(
            sa.select(GoogleUser.issuer, GoogleUser.name, KhojUser.id, KhojUser.email)
            .join(KhojUser, GoogleUser.user_id == KhojUser.id).where(GoogleUser.sub == sub))]


def users_with_email(live_app, email: str) -> int:
    with live_app.app_context():
        return db.session.execute(sa.select(sa.func.count()).select_from(KhojUser).where(
            sa.func.lower(KhojUser.email) == email)).scalar_one()


def sign_in_with_google_as(page, provider, live_server, sub: str) -> None:
    """From /login, through the provider's own authorisation page, back to the portal."""
    page.goto("/login")
    page.get_by_role("link", name="Sign in with Google").click()
    page.wait_for_url(f"{provider.url}/**")
    assert page.get_by_role("heading", name="Authorize Client").is_visible()
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.wait_for_url(live_server.url + "/")


def test_google_sign_in_then_again_as_the_same_subject_is_the_same_user(
        page, live_server, live_app, oidc_provider, monkeypatch):
    use_oidc_provider(live_app, oidc_provider, monkeypatch)
    tag = uuid.uuid4().hex[:8]
    sub, email = f"google-journey-{tag}", f"grace-{tag}@example.org"
    set_oidc_claims(oidc_provider, sub, email=email, email_verified=True, name="Grace Hopper",
                    given_name="Grace", family_name="Hopper")
    assert google_identities(live_app, sub) == [] and users_with_email(live_app, email) == 0

    sign_in_with_google_as(page, oidc_provider, live_server, sub)
    assert page.get_by_text(f"Signed in as {email}").is_visible()
    [(issuer, name, user_id, user_email)] = google_identities(live_app, sub)
    assert (issuer, name, user_email) == (oidc_provider.url, "Grace Hopper", email)
    with live_app.app_context():
        user = db.session.get(KhojUser, user_id)
        assert user.verified_email and user.password_hash is None
    keep_screenshot(page, "journeys-google-first")

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url("**/login")
    assert page.get_by_text("You are signed out.").is_visible()
    assert page.get_by_text(f"Signed in as {email}").count() == 0

    sign_in_with_google_as(page, oidc_provider, live_server, sub)
    assert page.get_by_text(f"Signed in as {email}").is_visible()
    page.goto("/profile")
    assert page.get_by_text(f"Connected to {email} (Grace Hopper).").is_visible()
    keep_screenshot(page, "journeys-google")
    # The same user: still one identity for the subject and one account for the email.
    assert google_identities(live_app, sub) == [(oidc_provider.url, "Grace Hopper", user_id, email)]
    assert users_with_email(live_app, email) == 1
