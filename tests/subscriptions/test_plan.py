"""The plan page: state in words, the trial (once), cancel and resume, the subscribe link, conflicts."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditLog, Subscription
from portal.subscriptions import services
from portal.subscriptions.state import subscription_state
from tests.factories import make_subscription, make_user

from .conftest import SUBSCRIPTION_URL

pytestmark = pytest.mark.usefixtures("app")


def now() -> datetime:
    return datetime.now(timezone.utc)


def committed_user(**fields):
    """A user whose row survives a view's rollback (views roll back when they refuse a change)."""
    user = make_user(**fields)
    db.session.commit()
    return user


def reload(user) -> Subscription:
    db.session.expire_all()
    return db.session.execute(sa.select(Subscription).where(Subscription.user_id == user.id)).scalar_one()


def page_text(client) -> str:
    response = client.get("/plan")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def post(client, action: str, user, **data):
    data.setdefault("version", str(reload(user).version))
    return client.post(f"/plan/{action}", data=data, follow_redirects=True)


def test_a_new_user_sees_the_free_plan_with_a_trial_and_a_prefilled_subscribe_link(login_as, billing):
    user = committed_user(email="Plan.Reader+x@example.com")
    html = page_text(login_as(user))
    assert "You are on the free plan." in html
    assert "Start 7-day free trial" in html
    href = html.split('href="' + SUBSCRIPTION_URL)[1].split('"')[0].replace("&amp;", "&")
    assert parse_qs(urlsplit(href).query)["prefilled_email"] == ["Plan.Reader+x@example.com"]


def test_subscribe_link_keeps_the_payment_links_own_query(billing):
    user = committed_user(email="q@example.com")
    billing["SUBSCRIPTION_URL"] = "https://buy.stripe.com/x?locale=fr&prefilled_email=old@example.com"
    query = parse_qs(urlsplit(services.subscribe_url(user, billing)).query)
    assert query == {"locale": ["fr"], "prefilled_email": ["q@example.com"]}


def test_without_billing_the_page_says_everything_is_open_and_offers_no_payment(login_as):
    html = page_text(login_as(make_user()))
    assert "Billing is not set up on this server" in html
    assert SUBSCRIPTION_URL not in html and "Subscribe</a>" not in html
    assert "Start 7-day free trial" not in html


def test_extra_fields_cannot_set_the_plan(login_as, billing):
    user = committed_user()
    post(login_as(user), "trial", user, type="standard", is_recurring="y",
         renewal_date="2099-01-01T00:00:00+00:00", enabled_trial_at="")
    sub = reload(user)
    assert (sub.type, sub.is_recurring) == ("trial", False)
    assert sub.renewal_date - sub.enabled_trial_at == timedelta(days=7)


def test_start_the_trial_once(login_as, billing):
    user = committed_user()
    client = login_as(user)
    html = post(client, "trial", user).get_data(as_text=True)
    assert "Your 7-day free trial has started." in html
    sub = reload(user)
    assert sub.type == "trial" and sub.enabled_trial_at is not None
    assert sub.renewal_date - sub.enabled_trial_at == timedelta(days=7)
    assert "(7 days left)" in html and "Start 7-day free trial" not in html
    first_start = sub.enabled_trial_at

    html = post(client, "trial", user).get_data(as_text=True)
    assert "Your free trial is already running." in html
    assert reload(user).enabled_trial_at == first_start


def test_a_second_trial_is_refused_after_the_first_ended(login_as, billing):
    user = committed_user()
    started = now() - timedelta(days=10)
    make_subscription(user, type="trial", enabled_trial_at=started, renewal_date=started + timedelta(days=7))
    db.session.commit()
    client = login_as(user)
    html = page_text(client)
    assert "Your free trial ended on" in html and "Start 7-day free trial" not in html
    html = post(client, "trial", user).get_data(as_text=True)
    assert "You already used your free trial" in html
    assert subscription_state(reload(user)) == "expired"


def test_cancel_keeps_access_until_the_renewal_date_then_resume(login_as, billing):
    user = committed_user()
    renewal = (now() + timedelta(days=20)).replace(microsecond=0)
    make_subscription(user, type="standard", is_recurring=True, renewal_date=renewal)
    db.session.commit()
    client = login_as(user)
    assert "Your plan renews on" in page_text(client)

    html = post(client, "cancel", user).get_data(as_text=True)
    sub = reload(user)
    assert (sub.is_recurring, sub.renewal_date) == (False, renewal)
    assert subscription_state(sub) == "unsubscribed"
    assert f"You keep access until {services.format_moment(renewal)}" in html
    assert "Resume plan" in html

    html = post(client, "resubscribe", user).get_data(as_text=True)
    assert "Your plan renews again." in html
    assert subscription_state(reload(user)) == "subscribed"


def test_cancel_and_resume_are_refused_when_they_make_no_sense(login_as, billing):
    user = committed_user()
    client = login_as(user)
    assert "There is no renewing plan to cancel." in post(client, "cancel", user).get_data(as_text=True)
    assert "Only a cancelled plan" in post(client, "resubscribe", user).get_data(as_text=True)
    assert reload(user).is_recurring is False


def test_plan_changes_are_audited(login_as, billing):
    user = committed_user()
    post(login_as(user), "trial", user)
    row = db.session.execute(sa.select(AuditLog).where(AuditLog.action == "subscription.trial_start",
                                                       AuditLog.actor_id == user.id)).scalar_one()
    assert row.changes["type"] == ["standard", "trial"]
    assert row.object_id == str(reload(user).id)


def test_a_change_against_an_outdated_page_is_a_conflict_not_an_overwrite(login_as, billing):
    user = committed_user()
    renewal = now() + timedelta(days=20)
    make_subscription(user, type="standard", is_recurring=True, renewal_date=renewal)
    db.session.commit()
    client = login_as(user)
    seen = reload(user).version
    # Meanwhile Stripe reports a cancellation made in its portal: the row moves on.
    sub = reload(user)
    sub.is_recurring = False
    db.session.commit()
    response = client.post("/plan/resubscribe", data={"version": str(seen)}, follow_redirects=True)
    assert response.status_code == 200
    assert services.CONFLICT_MESSAGE in response.get_data(as_text=True)
    assert reload(user).is_recurring is False


def test_a_concurrent_write_caught_at_commit_becomes_a_conflict(billing):
    user = committed_user()
    make_subscription(user, type="standard", is_recurring=True, renewal_date=now() + timedelta(days=5))
    db.session.commit()
    sub = reload(user)
    # Another transaction bumps the row behind this session's back (the ORM still holds the old version).
    db.session.execute(sa.text("UPDATE subscription SET version = version + 1 WHERE id = :id"), {"id": sub.id})
    services.cancel(user)
    with pytest.raises(services.SubscriptionConflict):
        services.save()
    assert reload(user).is_recurring is True


def test_plan_actions_need_a_csrf_token_and_a_post(login_as, billing):
    user = committed_user()
    client = login_as(user)
    assert client.get("/plan/trial").status_code == 405
    response = client.post("/plan/trial", data={"version": "1"}, csrf=False, follow_redirects=True)
    assert "The form expired" in response.get_data(as_text=True)
    assert reload(user).type == "standard"


def test_the_plan_page_needs_a_signed_in_user(client):
    response = client.get("/plan")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_api_subscription_reports_the_state(client, billing):
    from tests.factories import make_token

    user = committed_user()
    renewal = now() + timedelta(days=3)
    make_subscription(user, type="standard", is_recurring=False, renewal_date=renewal)
    _, token = make_token(user)
    response = client.get("/api/subscription", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.json
    assert (body["state"], body["subscribed"], body["is_recurring"]) == ("unsubscribed", True, False)
    assert body["renewal_date"] == renewal.isoformat()
    assert client.get("/api/subscription").status_code == 401
