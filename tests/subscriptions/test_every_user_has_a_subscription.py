"""Every path that creates a user leaves a Subscription row (Khoj creates one on every sign-in path)."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.accounts import google, services as accounts
from portal.extensions import db
from portal.models import KhojUser, Subscription

from .conftest import invoice_paid, post_event

PORTAL = Path(__file__).resolve().parents[2] / "portal"
pytestmark = pytest.mark.usefixtures("app")


def unique_email(tag: str) -> str:
    return f"{tag}-{time.time_ns()}@example.com"


def assert_has_subscription(email: str) -> Subscription:
    db.session.flush()
    user = accounts.find_user_by_email(email)
    assert user is not None
    rows = db.session.execute(sa.select(Subscription).where(Subscription.user_id == user.id)).scalars().all()
    assert len(rows) == 1, f"{email} has {len(rows)} subscription rows"
    return rows[0]


def test_only_create_user_constructs_users():
    """No other module builds a KhojUser itself, so no path can skip the Subscription row."""
    offenders = [
        f"{path.relative_to(PORTAL)}:{number}"
        for path in PORTAL.rglob("*.py") if path.parent.name != "models"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bKhojUser\(", line)
    ]
    assert len(offenders) == 1 and offenders[0].startswith("accounts/services.py:"), offenders


def test_sign_up_creates_a_subscription():
    email = unique_email("signup")
    accounts.sign_up(email, "a long and unusual passphrase 42", ip="192.0.2.10")
    assert assert_has_subscription(email).type == "standard"


def test_google_sign_in_creates_a_subscription():
    email = unique_email("google")
    claims = {"iss": "https://accounts.google.com", "sub": f"g-{time.time_ns()}", "email": email,
              "email_verified": True, "name": "G User"}
    google.sign_in_with_google(claims)
    assert_has_subscription(email)


def test_the_first_admin_setup_creates_a_subscription():
    if accounts.admin_exists():
        db.session.execute(sa.update(KhojUser).values(is_staff=False))  # rolled back after the test
    email = unique_email("setup")
    accounts.set_up_first_admin(email, "a long and unusual passphrase 42")
    assert_has_subscription(email)


def test_cli_create_admin_creates_a_subscription(app):
    email = unique_email("cli")
    result = app.test_cli_runner().invoke(args=["create-admin", email], input="a long and unusual passphrase 42\n" * 2)
    assert result.exit_code == 0, result.output
    assert_has_subscription(email)


def test_stripe_invoice_for_a_new_email_creates_a_subscription(client, billing):
    email = unique_email("stripe")
    post_event(client, invoice_paid(email, datetime.now(timezone.utc) + timedelta(days=30)))
    assert assert_has_subscription(email).is_recurring is True


def test_code_sign_in_never_creates_users():
    """One-time codes only sign in existing accounts, so they cannot create a user without a plan."""
    email = unique_email("code")
    assert accounts.sign_in_with_code(email, "123456", ip="192.0.2.11") is None
    assert accounts.find_user_by_email(email) is None


def test_no_user_in_the_database_lacks_a_subscription():
    missing = db.session.execute(
        sa.select(KhojUser.email).outerjoin(Subscription, Subscription.user_id == KhojUser.id)
        .where(Subscription.id.is_(None))
    ).scalars().all()
    assert missing == []
