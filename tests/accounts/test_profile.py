"""Profile: name, phone with verification, account deletion, the JSON API's user endpoint."""
from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import EMBEDDING_DIMENSIONS, Agent, Entry, KhojApiUser, KhojUser, Subscription
from tests.accounts.helpers import is_signed_in, last_code, outbox, sign_in
from tests.factories import make_admin, make_agent, make_subscription, make_token, make_user


def add_entry(user) -> None:
    db.session.add(Entry(user_id=user.id, raw="note", compiled="note", file_path="a.md", file_type="markdown",
                         hashed_value="h1", embeddings=[0.0] * EMBEDDING_DIMENSIONS))
    db.session.flush()


def test_profile_shows_the_account_and_saves_the_name(client, login_as, app_context):
    user = make_user()
    db.session.commit()
    login_as(user)
    page = client.get("/profile").text
    assert user.email in page and "not verified" in page and "Sign out everywhere" in page
    assert "Google sign-in is not set up" in page
    response = client.post("/profile/name", data={"first_name": " Ada ", "last_name": "Lovelace"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.first_name, user.last_name) == ("Ada", "Lovelace")


def test_phone_is_normalised_to_e164_and_verified_by_code(client, login_as, app, app_context):
    user = make_user()
    db.session.commit()
    login_as(user)
    outbox(app).clear()
    response = client.post("/profile/phone", data={"phone_number": "12345"})
    assert response.status_code == 422 and "international format" in response.text
    response = client.post("/profile/phone", data={"phone_number": "+44 20 7946"})
    assert response.status_code == 422 and "not a valid phone number" in response.text
    response = client.post("/profile/phone", data={"phone_number": "+44 20 7946 0958"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.phone_number == "+442079460958" and not user.verified_phone_number
    message = outbox(app)[-1]
    assert message["kind"] == "sms" and message["to"] == "+442079460958"
    code = last_code(app, kind="sms")
    assert user.phone_verification_code != code and code not in user.phone_verification_code
    wrong = "000000" if code != "000000" else "111111"
    assert client.post("/profile/phone/verify", data={"code": wrong}).status_code == 422
    assert client.post("/profile/phone/verify", data={"code": code}).status_code == 302
    db.session.refresh(user)
    assert user.verified_phone_number and user.phone_verification_code is None
    # Removing the number clears it and its verification.
    client.post("/profile/phone", data={"phone_number": ""})
    db.session.refresh(user)
    assert user.phone_number is None and not user.verified_phone_number


def test_delete_account_needs_the_typed_email_and_cascades(client, login_as, app_context):
    user = make_user()
    make_agent(creator=user)
    make_token(user)
    add_entry(user)
    db.session.commit()
    user_id = user.id
    sign_in(client, user.email)  # a fresh session: deleting needs one
    response = client.post("/profile/delete", data={"confirm_email": "wrong@example.com"})
    assert response.status_code == 200 and "exactly" in response.text
    assert db.session.get(KhojUser, user_id) is not None
    response = client.post("/profile/delete", data={"confirm_email": user.email.upper()})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(KhojUser, user_id) is None
    for model, column in ((Agent, Agent.creator_id), (KhojApiUser, KhojApiUser.user_id),
                          (Subscription, Subscription.user_id), (Entry, Entry.user_id)):
        assert db.session.execute(sa.select(sa.func.count()).where(column == user_id)).scalar_one() == 0, model
    assert not is_signed_in(client)


def test_the_only_admin_cannot_delete_or_deactivate_itself(client, login_as, app_context):
    from portal.accounts.services import AccountError, set_active

    db.session.execute(sa.update(KhojUser).values(is_staff=False))
    admin = make_admin()
    db.session.commit()
    sign_in(client, admin.email)
    response = client.post("/profile/delete", data={"confirm_email": admin.email})
    assert response.status_code == 200 and "only admin" in response.text
    assert db.session.get(KhojUser, admin.id) is not None
    try:
        set_active(admin, False, actor=admin)
    except AccountError as exc:
        assert "only active admin" in exc.message
    else:
        raise AssertionError("the last admin was deactivated")


def test_api_user_with_a_bearer_token(client, app_context):
    user = make_user(email="api@example.com")
    make_subscription(user, type="standard", is_recurring=True,
                      renewal_date=sa.func.now() + sa.text("interval '10 days'"))
    _, token = make_token(user)
    db.session.commit()
    db.session.refresh(user)
    response = client.get("/api/v1/user", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["email"] == body["username"] == "api@example.com"
    assert body["photo"] is None and body["has_documents"] is False
    assert body["subscription_state"] == "subscribed" and body["is_active"] is True
    assert body["subscription_renewal_date"]
    add_entry(user)
    db.session.commit()
    body = client.get("/api/v1/user", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["has_documents"] is True


def test_api_user_without_a_token_is_401_json(client, app_context):
    for headers in ({}, {"Authorization": "Bearer kk-not-a-real-token"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/user", headers=headers)
        assert response.status_code == 401 and response.is_json and "error" in response.get_json()


def test_api_user_for_a_deactivated_user_is_401(client, app_context):
    admin, user = make_admin(), make_user()
    _, token = make_token(user)
    from portal.accounts.services import set_active

    set_active(user, False, actor=admin)
    db.session.commit()
    assert client.get("/api/v1/user", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_account_changes_and_tokens_leave_audit_rows(client, login_as, app_context):
    from portal.models import AuditLog

    user = make_user()
    db.session.commit()
    login_as(user)
    client.post("/profile/password", data={"current_password": "correct horse battery staple",
                                           "new_password": "a brand new passphrase"})
    client.post("/profile/email", data={"current_password": "a brand new passphrase", "email": "audited@example.com"})
    client.post("/tokens", data={"name": "audited", "expiry": "never"})
    token_id = db.session.execute(sa.select(KhojApiUser.id).where(KhojApiUser.user_id == user.id)).scalar_one()
    client.post(f"/tokens/{token_id}/revoke", data={})
    rows = db.session.execute(sa.select(AuditLog).where(AuditLog.actor_id == user.id).order_by(AuditLog.id)).scalars()
    by_action = {row.action: row for row in rows}
    assert {"user.password_change", "user.email_change", "token.create", "token.revoke"} <= set(by_action)
    assert by_action["user.password_change"].changes == {"password": "changed"}
    assert by_action["user.email_change"].changes["email"][1] == "audited@example.com"
    assert by_action["token.create"].changes["name"] == "audited"
    assert by_action["token.revoke"].object_id == str(token_id)


def test_sign_up_is_rate_limited_per_ip(client, app_context):
    for n in range(10):
        response = client.post("/signup", data={"email": f"flood{n}@example.com", "password": "x" * 12},
                               environ_overrides={"REMOTE_ADDR": "10.9.9.9"})
        assert response.status_code == 302
        client.post("/logout", data={})
    response = client.post("/signup", data={"email": "flood-last@example.com", "password": "x" * 12},
                           environ_overrides={"REMOTE_ADDR": "10.9.9.9"})
    assert response.status_code == 429 and "Retry-After" in response.headers
