"""Password sign-in, sign-up, setup, sign-out, one-time codes and magic links."""
from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditLog, KhojUser
from tests.accounts.helpers import is_signed_in, last_code, outbox, sign_in
from tests.factories import make_admin, make_user


def audit_actions(user=None) -> list[str]:
    query = sa.select(AuditLog.action).order_by(AuditLog.id)
    if user is not None:
        query = query.where(AuditLog.object_id == str(user.id))
    return list(db.session.execute(query).scalars())


def test_sign_in_with_password_starts_a_session_and_is_audited(client, app_context):
    user = make_user()
    response = sign_in(client, user.email)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert is_signed_in(client)
    assert "login.success" in audit_actions(user)
    db.session.refresh(user)
    assert user.last_login is not None


def test_wrong_password_shows_the_error_next_to_the_field_and_is_audited(client, app_context):
    user = make_user()
    response = sign_in(client, user.email, "not the password at all")
    assert response.status_code == 200
    assert "The email or password is not correct." in response.text
    assert "invalid-feedback" in response.text
    assert not is_signed_in(client)
    assert "login.failure" in audit_actions(user)


def test_inactive_user_cannot_sign_in(client, app_context):
    user = make_user(is_active=False)
    response = sign_in(client, user.email)
    assert response.status_code == 200 and "not correct" in response.text
    assert not is_signed_in(client)


def test_sign_up_sends_a_code_that_verifies_the_email(client, app, app_context):
    outbox(app).clear()
    response = client.post("/signup", data={"email": "New.Person@example.com", "password": "a long enough passphrase",
                                            "first_name": "New"})
    assert response.status_code == 302 and response.headers["Location"] == "/verify-email"
    user = db.session.execute(sa.select(KhojUser).where(KhojUser.email == "New.Person@example.com")).scalar_one()
    assert user.username == user.email and user.subscription is not None and not user.verified_email
    code = last_code(app, to="New.Person@example.com")
    wrong = "000000" if code != "000000" else "111111"
    assert "not correct" in client.post("/verify-email", data={"code": wrong}).text
    response = client.post("/verify-email", data={"code": code})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.verified_email and user.email_verification_code is None
    # Single use.
    assert "not correct" in client.post("/verify-email", data={"code": code}).text


def test_sign_up_refuses_an_existing_email_case_insensitively(client, app_context):
    make_user(email="taken@example.com")
    response = client.post("/signup", data={"email": "TAKEN@example.com", "password": "a long enough passphrase"})
    assert response.status_code == 200
    assert "already exists" in response.text


def test_code_sign_in_works_once_and_answers_the_same_for_unknown_emails(client, app, app_context):
    user = make_user()
    outbox(app).clear()
    known = client.post("/login/code", data={"email": user.email})
    unknown = client.post("/login/code", data={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert [m["to"] for m in outbox(app)] == [user.email]
    code = last_code(app)
    response = client.post("/login/code/enter", data={"email": user.email, "code": code})
    assert response.status_code == 302
    assert is_signed_in(client)
    client.post("/logout", data={})
    response = client.post("/login/code/enter", data={"email": user.email, "code": code})
    assert response.status_code == 200 and "not correct" in response.text


def test_code_expires_after_five_minutes(client, app, app_context):
    from datetime import timedelta

    user = make_user()
    client.post("/login/code", data={"email": user.email})
    code = last_code(app)
    db.session.refresh(user)
    user.email_verification_code_expiry -= timedelta(minutes=5, seconds=1)
    db.session.commit()
    response = client.post("/login/code/enter", data={"email": user.email, "code": code})
    assert "not correct" in response.text and not is_signed_in(client)


def test_magic_link_get_changes_nothing_and_post_signs_in(client, app, app_context):
    user = make_user()
    client.post("/login/code", data={"email": user.email})
    body = outbox(app)[-1]["body"]
    link = next(line for line in body.splitlines() if line.startswith("http"))
    path, _, fragment = link.split("localhost", 1)[1].partition("#")
    code = last_code(app)
    assert fragment == f"code={code}" and code not in path  # never sent to the server, never logged
    page = client.get(path)
    assert page.status_code == 200 and user.email in page.text
    assert not is_signed_in(client)
    response = client.post("/login/link", data={"email": user.email, "code": code})
    assert response.status_code == 302 and is_signed_in(client)


def test_issue_login_link_is_audited_with_the_admin_as_actor(app, app_context):
    from portal.accounts.services import issue_login_link

    admin, user = make_admin(), make_user()
    with app.test_request_context("/admin/users"):
        url = issue_login_link(user, actor=admin)
    assert url.startswith("http://localhost/login/link?")
    row = db.session.execute(sa.select(AuditLog).where(AuditLog.action == "user.login_link")).scalars().all()[-1]
    assert row.actor_id == admin.id and row.object_id == str(user.id)
    assert "code" not in str(row.changes)


def test_logout_is_post_only_and_ends_the_session(client, app_context):
    user = make_user()
    sign_in(client, user.email)
    with client.get("/logout") as response:
        assert response.status_code == 405
    assert is_signed_in(client)
    client.post("/logout", data={})
    assert not is_signed_in(client)


def test_setup_creates_the_first_admin_then_disappears(client, app_context):
    db.session.execute(sa.update(KhojUser).values(is_staff=False))
    with client.get("/setup") as response:
        assert response.status_code == 200
    response = client.post("/setup", data={"email": "root@example.com", "password": "a long enough passphrase"})
    assert response.status_code == 302
    admin = db.session.execute(sa.select(KhojUser).where(KhojUser.email == "root@example.com")).scalar_one()
    assert admin.is_staff and admin.is_superuser
    with client.get("/setup") as response:
        assert response.status_code == 404
    response = client.post("/setup", data={"email": "second@example.com", "password": "a long enough passphrase"})
    assert response.status_code == 404


def test_setup_cannot_take_over_an_existing_account(client, app_context):
    db.session.execute(sa.update(KhojUser).values(is_staff=False))
    user = make_user(email="existing@example.com")
    old_hash = user.password_hash
    db.session.commit()
    response = client.post("/setup", data={"email": "existing@example.com", "password": "a long enough passphrase"})
    assert response.status_code == 200 and "already exists" in response.text
    db.session.refresh(user)
    assert not user.is_staff and user.password_hash == old_hash


def test_home_links_to_setup_only_while_no_admin_exists(client, app_context):
    db.session.execute(sa.update(KhojUser).values(is_staff=False))
    assert "/setup" in client.get("/").text
    make_admin()
    assert "/setup" not in client.get("/").text
