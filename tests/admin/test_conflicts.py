"""Optimistic locking in the shared admin edit form: models with a version column carry it as a hidden
`row_version`; a save against another version writes nothing and answers 409 with a conflict message.

The race that is only caught at the UPDATE itself (StaleDataError) needs two real connections and lives in
tests/hardening/test_concurrency.py.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.admin.listing import registry
from portal.extensions import db
from portal.models import AuditLog, Subscription
from tests.admin.helpers import sign_in
from tests.factories import make_admin, make_chat_model, make_subscription, make_user

VERSION_RE = re.compile(r'<input[^>]*name="row_version"[^>]*value="([^"]*)"')
CONFLICT = "was changed by someone else since you opened this page, so nothing was saved"


def admin_client(app, email):
    admin = make_admin(email=email)
    db.session.commit()
    client = app.test_client()
    sign_in(client, admin)
    return client


def open_edit_page(client, url) -> str:
    with client.get(url) as response:
        assert response.status_code == 200
        return VERSION_RE.search(response.get_data(as_text=True))[1]


def subscription(sub_id) -> Subscription:
    db.session.expire_all()
    return db.session.get(Subscription, sub_id)


def update_audits(sub_id):
    return db.session.scalars(sa.select(AuditLog).where(
        AuditLog.action == "subscriptions.update", AuditLog.object_id == str(sub_id))).all()


@pytest.fixture
def member_subscription(app_context):
    member = make_user(email="member@example.com")
    sub = make_subscription(member, type="standard", is_recurring=False, renewal_date=None)
    db.session.commit()
    return sub.id


def test_only_models_with_a_version_column_carry_it(app, client, app_context):
    assert registry["subscriptions"].version_attr == "version"
    assert registry["agents"].version_attr == "version"
    assert {slug for slug, admin in registry.items() if admin.version_attr} == {"subscriptions", "agents"}
    boss = admin_client(app, "boss@example.com")
    member = make_user()
    model = make_chat_model()
    db.session.commit()
    assert open_edit_page(boss, f"/admin/subscriptions/{member.subscription.id}/edit") == str(
        member.subscription.version)
    with boss.get(f"/admin/chat_models/{model.id}/edit") as response:
        assert response.status_code == 200 and "row_version" not in response.get_data(as_text=True)


def test_two_admins_save_the_same_subscription_and_the_second_gets_a_conflict(app, member_subscription):
    url = f"/admin/subscriptions/{member_subscription}/edit"
    first, second = admin_client(app, "first@example.com"), admin_client(app, "second@example.com")
    seen_by_first, seen_by_second = open_edit_page(first, url), open_edit_page(second, url)
    assert seen_by_first == seen_by_second

    with first.post(url, data={"row_version": seen_by_first, "type": "trial", "renewal_date": "2031-05-01T12:00",
                                "is_recurring": ""}) as response:
        assert response.status_code == 302
    with second.post(url, data={"row_version": seen_by_second, "type": "standard",
                                 "renewal_date": "2032-01-01T00:00", "is_recurring": "y"}) as response:
        body = response.get_data(as_text=True)
        assert response.status_code == 409
    assert CONFLICT in body and "Reload the current values" in body
    assert 'value="2032-01-01T00:00"' in body  # the second admin's input stays on the form

    sub = subscription(member_subscription)
    assert (sub.type, sub.is_recurring, sub.renewal_date.year) == ("trial", False, 2031)  # the first save stands
    assert sub.version == int(seen_by_first) + 1
    assert len(update_audits(member_subscription)) == 1

    # Reloading shows the current version, and saving from there works.
    fresh = open_edit_page(second, url)
    assert fresh == str(sub.version)
    with second.post(url, data={"row_version": fresh, "type": "standard", "renewal_date": "2032-01-01T00:00",
                                 "is_recurring": "y"}) as response:
        assert response.status_code == 302
    sub = subscription(member_subscription)
    assert (sub.type, sub.is_recurring, sub.renewal_date.year) == ("standard", True, 2032)
    assert len(update_audits(member_subscription)) == 2


def test_a_change_made_elsewhere_meanwhile_is_a_conflict_too(app, member_subscription):
    """Not only other admins: the user's plan page and the Stripe webhook bump the same version."""
    url = f"/admin/subscriptions/{member_subscription}/edit"
    boss = admin_client(app, "boss@example.com")
    seen = open_edit_page(boss, url)
    sub = subscription(member_subscription)
    sub.is_recurring = True  # e.g. invoice.paid arrived
    db.session.commit()
    with boss.post(url, data={"row_version": seen, "type": "trial", "is_recurring": ""}) as response:
        assert response.status_code == 409 and CONFLICT in response.get_data(as_text=True)
    sub = subscription(member_subscription)
    assert (sub.type, sub.is_recurring) == ("standard", True)


@pytest.mark.parametrize("row_version", [None, "", "abc", "-1", "0", "99999999999999999999", "1.0", "ahead"])
def test_a_missing_or_wrong_version_writes_nothing(app, member_subscription, row_version):
    url = f"/admin/subscriptions/{member_subscription}/edit"
    boss = admin_client(app, "boss@example.com")
    current = open_edit_page(boss, url)
    data = {"type": "trial", "is_recurring": "y"}
    if row_version is not None:
        data["row_version"] = str(int(current) + 1) if row_version == "ahead" else row_version
    with boss.post(url, data=data) as response:
        assert response.status_code == 409 and CONFLICT in response.get_data(as_text=True)
    sub = subscription(member_subscription)
    assert (sub.type, sub.is_recurring, str(sub.version)) == ("standard", False, current)
    assert update_audits(member_subscription) == []


def test_models_without_a_version_column_save_as_before(app, client, app_context):
    boss = admin_client(app, "boss@example.com")
    model = make_chat_model(name="plain-model")
    db.session.commit()
    with boss.post(f"/admin/chat_models/{model.id}/edit", data={
            "name": "renamed-model", "model_type": model.model_type, "price_tier": "free",
            "ai_model_api_id": ""}) as response:
        assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(model), model.id).name == "renamed-model"
