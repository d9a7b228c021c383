"""security.md items 1–18 for accounts: one named test (or more) per item.

#10 and #13 are also covered across the whole URL map by tests/hardening/test_crawl.py; the tests here
pin the accounts routes. #11 (OpenID Connect) lives in test_google.py (test_sec11_*).
"""
from __future__ import annotations

import hashlib
import logging
import re
import time
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, Type
from itsdangerous import TimestampSigner

from portal.accounts import services
from portal.extensions import db
from portal.models import KhojApiUser, KhojUser
from tests.accounts.helpers import is_signed_in, last_code, sign_in
from tests.factories import DEFAULT_PASSWORD, make_admin, make_token, make_user

TOKEN_RE = re.compile(r'value="(kk-[A-Za-z0-9_\-]{43})"')


def argon2_parameters(encoded: str) -> dict:
    match = re.fullmatch(r"\$(argon2id)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+", encoded)
    assert match, encoded
    return {"type": match[1], "version": int(match[2]), "m": int(match[3]), "t": int(match[4]), "p": int(match[5])}


def user_by_email(email: str) -> KhojUser:
    return db.session.execute(sa.select(KhojUser).where(KhojUser.email == email)).scalar_one()


# 1 -------------------------------------------------------------------------------------------------


def test_sec01_password_hash_parameters(client, app_context):
    client.post("/signup", data={"email": "hash@example.com", "password": "a long enough passphrase"})
    params = argon2_parameters(user_by_email("hash@example.com").password_hash)
    # argon2id at RFC 9106's second recommended profile (argon2-cffi's defaults), above OWASP's minimum.
    assert params == {"type": "argon2id", "version": 19, "m": 65536, "t": 3, "p": 4}


def test_sec01_old_parameters_are_upgraded_at_sign_in(client, app_context):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID)
    user = make_user(password=None)
    user.password_hash = weak.hash("an older stored passphrase")
    db.session.commit()
    assert argon2_parameters(user.password_hash)["m"] == 8192
    sign_in(client, user.email, "an older stored passphrase")
    db.session.refresh(user)
    assert argon2_parameters(user.password_hash)["m"] == 65536
    assert is_signed_in(client)


# 2 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("password, accepted", [
    ("7 chars", False),
    ("x" * 64, True),
    ("y" * 128, True),
    ("z" * 129, False),
    ("password123", False),
    ("Password123", False),       # case does not make a common password safe
    ("alllowercaseletters", True),  # no composition rules
])
def test_sec02_password_policy(client, app_context, password, accepted):
    email = f"policy{len(password)}{password[:3].strip()}@example.com"
    response = client.post("/signup", data={"email": email, "password": password})
    created = db.session.execute(sa.select(KhojUser).where(KhojUser.email == email)).scalar_one_or_none()
    assert (created is not None) is accepted
    if not accepted:
        assert response.status_code == 200 and "invalid-feedback" in response.text


def test_sec02_bundled_common_password_list_is_large():
    from portal.accounts.validation import common_passwords

    assert len(common_passwords()) > 5000 and "iloveyou" in common_passwords()


# 3 -------------------------------------------------------------------------------------------------


def test_sec03_changing_password_or_email_needs_the_current_password(client, login_as, app_context):
    user = make_user()
    db.session.commit()
    login_as(user)
    old_hash = user.password_hash
    response = client.post("/profile/password", data={"current_password": "wrong wrong wrong",
                                                      "new_password": "a brand new passphrase"})
    assert response.status_code == 422 and "current password is not correct" in response.text
    response = client.post("/profile/email", data={"current_password": "wrong wrong wrong",
                                                   "email": "moved@example.com"})
    assert response.status_code == 422 and "current password is not correct" in response.text
    db.session.refresh(user)
    assert user.password_hash == old_hash and user.email != "moved@example.com"

    response = client.post("/profile/password", data={"current_password": DEFAULT_PASSWORD,
                                                      "new_password": "a brand new passphrase"})
    assert response.status_code == 302
    response = client.post("/profile/email", data={"current_password": "a brand new passphrase",
                                                   "email": "moved@example.com"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.email == user.username == "moved@example.com" and not user.verified_email


# 4 -------------------------------------------------------------------------------------------------


def post_login(client, email, password, ip):
    return client.post("/login", data={"email": email, "password": password},
                       environ_overrides={"REMOTE_ADDR": ip})


def assert_429(response):
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_sec04_sixth_failed_sign_in_for_an_account_gets_429(client, app_context):
    user = make_user()
    db.session.commit()
    for n in range(5):  # five different IPs: the per-account counter is what trips
        assert post_login(client, user.email, "wrong guess", f"10.4.0.{n}").status_code == 200
    # The 6th attempt is refused even with the right password: otherwise a guesser would still learn it.
    assert_429(post_login(client, user.email, DEFAULT_PASSWORD, "10.4.0.9"))
    assert not is_signed_in(client)


def test_sec04_sixth_failed_sign_in_from_an_ip_gets_429(client, app_context):
    for n in range(5):
        assert post_login(client, f"nobody{n}@example.com", "wrong guess", "10.4.1.1").status_code == 200
    assert_429(post_login(client, "someone@example.com", "wrong guess", "10.4.1.1"))
    # Other addresses are not affected.
    assert post_login(client, "someone@example.com", "wrong guess", "10.4.1.2").status_code == 200


def test_sec04_one_time_codes_are_limited(client, login_as, app, app_context):
    user = make_user()
    db.session.commit()
    login_as(user)
    client.post("/verify-email/send", data={})
    for _ in range(5):
        assert client.post("/verify-email", data={"code": "999999"}).status_code == 200
    response = client.post("/verify-email", data={"code": last_code(app, to=user.email)})
    assert response.status_code == 429 and "Retry-After" in response.headers
    db.session.refresh(user)
    assert not user.verified_email


def test_sec04_token_creation_is_limited(client, login_as, app_context):
    user = make_user()
    db.session.commit()
    login_as(user)
    for _ in range(10):
        assert client.post("/tokens", data={"expiry": "never"}).status_code == 201
    response = client.post("/tokens", data={"expiry": "never"})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0


def test_sec04_limits_live_in_the_database(client, app_context):
    from portal.models import RateLimitRecord

    post_login(client, "counted@example.com", "wrong guess", "10.4.2.1")
    identifiers = set(db.session.execute(sa.select(RateLimitRecord.identifier)).scalars())
    assert {"ip:10.4.2.1", "email:counted@example.com"} <= identifiers


# 5 -------------------------------------------------------------------------------------------------


def test_sec05_fresh_database_has_no_users(postgres_admin_url):
    from tests.conftest import build_app, make_database, migrate_to_head

    fresh = build_app(make_database(postgres_admin_url, "portal_fresh_accounts"))
    migrate_to_head(fresh)
    try:
        with fresh.app_context():
            assert db.session.execute(sa.select(sa.func.count()).select_from(KhojUser)).scalar_one() == 0
        client = fresh.test_client()
        assert "/setup" in client.get("/").text
        with client.get("/setup") as response:
            assert response.status_code == 200
    finally:
        with fresh.app_context():
            db.session.remove()
            db.engine.dispose()


# 6 -------------------------------------------------------------------------------------------------


def test_sec06_same_answer_for_unknown_user_and_wrong_password(client, app_context):
    make_user(email="known@example.com")
    db.session.commit()

    def answer(email):
        response = client.post("/login", data={"email": email, "password": "not my password"})
        body = response.text.replace(email, "EMAIL")
        return response.status_code, re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", body)

    assert answer("known@example.com") == answer("unknown@example.com")


# 7 -------------------------------------------------------------------------------------------------


def test_sec07_cookie_captured_before_logout_no_longer_authenticates(client, app, app_context):
    user = make_user()
    db.session.commit()
    sign_in(client, user.email, remember="y")
    captured = {name: client.get_cookie(name).value for name in ("session", "remember_token")}
    replay = app.test_client()
    replay.set_cookie("session", captured["session"])
    assert is_signed_in(replay)  # the copy works while the session is alive …
    client.post("/logout", data={})
    for name, value in captured.items():  # … and neither cookie works after sign-out
        replay = app.test_client()
        replay.set_cookie(name, value)
        with replay.get("/profile") as response:
            assert response.status_code == 302 and "/login" in response.headers["Location"], name


def test_sec07_new_session_on_sign_in(client, app_context):
    user = make_user()
    db.session.commit()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    sign_in(client, user.email)
    with client.session_transaction() as session:
        assert "planted" not in session and session["_user_id"] == user.get_id()


def test_sec07_password_change_ends_other_sessions_but_keeps_this_one(client, app, app_context):
    user = make_user()
    db.session.commit()
    other = app.test_client()
    sign_in(other, user.email)
    sign_in(client, user.email)
    client.post("/profile/password", data={"current_password": DEFAULT_PASSWORD,
                                           "new_password": "another good passphrase"})
    assert is_signed_in(client)
    assert not is_signed_in(other)


def test_sec07_deactivation_ends_sessions(client, app_context):
    admin, user = make_admin(), make_user()
    db.session.commit()
    sign_in(client, user.email)
    services.set_active(user, False, actor=admin)
    db.session.commit()
    assert not is_signed_in(client)
    assert post_login(client, user.email, DEFAULT_PASSWORD, "10.7.0.1").status_code == 200
    assert not is_signed_in(client)


def test_sec07_sign_out_everywhere(client, app, app_context):
    user = make_user()
    db.session.commit()
    other = app.test_client()
    sign_in(other, user.email)
    sign_in(client, user.email)
    client.post("/profile/sign-out-everywhere", data={})
    assert not is_signed_in(client) and not is_signed_in(other)


# 8 -------------------------------------------------------------------------------------------------


def session_cookie(app, data: dict, age: timedelta) -> str:
    """A session cookie signed as if it had been issued `age` ago."""
    serializer = app.session_interface.get_signing_serializer(app)
    issued = int(time.time() - age.total_seconds())

    class Backdated(TimestampSigner):
        def get_timestamp(self):
            return issued

    serializer.signer = Backdated
    return serializer.dumps(data)


def test_sec08_session_lifetime_is_explicit(client, app, app_context):
    user = make_user()
    db.session.commit()
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    assert lifetime == timedelta(hours=12)
    data = {"_user_id": user.get_id(), "_fresh": True, "_permanent": True}
    client.set_cookie("session", session_cookie(app, data, lifetime - timedelta(minutes=5)))
    assert is_signed_in(client)
    client.set_cookie("session", session_cookie(app, data, lifetime + timedelta(minutes=5)))
    assert not is_signed_in(client)


def test_sec08_remember_me_cookie_is_limited_to_14_days(client, app_context):
    user = make_user()
    db.session.commit()
    response = sign_in(client, user.email, remember="y")
    remember = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", remember)[1])
    assert expires <= datetime.now(timezone.utc) + timedelta(days=14, minutes=1)
    session = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Expires=" in session  # a permanent session: its lifetime is PERMANENT_SESSION_LIFETIME


# 9 -------------------------------------------------------------------------------------------------


def test_sec09_cookie_flags(client, app_context):
    user = make_user()
    db.session.commit()
    response = sign_in(client, user.email, remember="y")
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):
        assert "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name] and "Path=/" in cookies[name]


def test_sec09_secure_host_cookies_over_https(database_url, monkeypatch):
    from tests.conftest import build_app

    monkeypatch.setenv("COOKIE_SECURE", "1")
    secure = build_app(database_url)
    try:
        assert secure.config["REMEMBER_COOKIE_NAME"] == "__Host-remember" and secure.config["REMEMBER_COOKIE_SECURE"]
        with secure.test_client().get("/login", base_url="https://localhost") as response:
            cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-session="))
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
        assert "Domain=" not in cookie
    finally:
        with secure.app_context():
            db.engine.dispose()


# 10 ------------------------------------------------------------------------------------------------


def account_rules(app, method):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("accounts.") and method in r.methods]


def test_sec10_every_account_form_needs_a_csrf_token(client, login_as, app, app_context):
    user = make_user()
    db.session.commit()
    login_as(user)
    rules = account_rules(app, "POST")
    assert len(rules) >= 15
    for rule in rules:
        url = rule.rule.replace("<int:token_id>", "1")
        response = client.post(url, data={"email": user.email, "password": DEFAULT_PASSWORD}, csrf=False)
        assert response.status_code == 400, url
    db.session.refresh(user)
    assert user.session_version == 1  # not even sign-out went through


def test_sec10_no_account_page_writes_on_get(client, login_as, app, app_context):
    user = make_user()
    db.session.commit()
    login_as(user)

    def writes():
        return db.session.execute(sa.text(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables"
        )).scalar_one()

    before = writes()
    for rule in account_rules(app, "GET"):
        if rule.arguments:
            continue
        with client.get(rule.rule, query_string={"email": user.email, "code": "123456"}):
            pass
    assert writes() == before


# 12 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target, expected", [
    ("https://evil.example", "/"),
    ("//evil.example/tokens", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("/tokens?page=2", "/tokens?page=2"),
])
def test_sec12_next_must_be_a_path_on_this_site(client, app_context, target, expected):
    user = make_user()
    db.session.commit()
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == expected


# 13 ------------------------------------------------------------------------------------------------


def test_sec13_account_pages_need_sign_in_and_admin_pages_need_an_admin(client, login_as, app, app_context):
    for url in ("/profile", "/tokens", "/verify-email", "/reauthenticate", "/profile/delete"):
        with client.get(url) as response:
            assert response.status_code == 302 and response.headers["Location"].startswith("/login"), url
    admin_urls = [r.rule for r in app.url_map.iter_rules()
                  if r.rule.startswith("/admin") and "GET" in r.methods and not r.arguments]
    assert admin_urls
    login_as(make_user())
    for url in admin_urls:
        with client.get(url) as response:
            assert response.status_code == 403, url


# 14 ------------------------------------------------------------------------------------------------


def test_sec14_another_users_token_id_is_404(client, login_as, app_context):
    owner, other = make_user(), make_user()
    row, token = make_token(owner)
    db.session.commit()
    login_as(other)
    assert client.post(f"/tokens/{row.id}/revoke", data={}).status_code == 404
    assert db.session.get(KhojApiUser, row.id) is not None
    assert f"/tokens/{row.id}/revoke" not in client.get("/tokens").text


# 15 ------------------------------------------------------------------------------------------------


def test_sec15_extra_fields_change_nothing(client, login_as, app_context):
    client.post("/signup", data={
        "email": "mass@example.com", "password": "a long enough passphrase", "is_staff": "y",
        "is_superuser": "y", "verified_email": "y", "is_active": "y", "session_version": "9", "type": "trial",
        "is_recurring": "y", "renewal_date": "2099-01-01",
    })
    user = user_by_email("mass@example.com")
    assert not user.is_staff and not user.is_superuser and not user.verified_email
    assert user.session_version == 1
    assert (user.subscription.type, user.subscription.is_recurring, user.subscription.renewal_date) == (
        "standard", False, None)
    client.post("/profile/name", data={"first_name": "Mass", "is_staff": "y", "email": "other@example.com"})
    db.session.refresh(user)
    assert user.first_name == "Mass" and not user.is_staff and user.email == "mass@example.com"


# 16 ------------------------------------------------------------------------------------------------


def test_sec16_remembered_session_is_asked_to_reauthenticate(client, app, app_context):
    user = make_user()
    db.session.commit()
    sign_in(client, user.email, remember="y")
    remembered = app.test_client()
    remembered.set_cookie("remember_token", client.get_cookie("remember_token").value)
    with remembered.get("/profile") as response:
        assert response.status_code == 200  # still signed in …
    response = remembered.get("/profile/delete")
    assert response.status_code == 302  # … but not fresh enough to delete the account
    assert response.headers["Location"].startswith("/reauthenticate")
    response = remembered.post(response.headers["Location"], data={"password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/profile/delete"
    with remembered.get("/profile/delete") as response:
        assert response.status_code == 200 and "Type your email" in response.text


# 17 ------------------------------------------------------------------------------------------------


def test_sec17_tokens_are_random_hashed_shown_once_and_revocable(client, login_as, app_context):
    user = make_user()
    db.session.commit()
    login_as(user)
    response = client.post("/tokens", data={"name": "", "expiry": "never"})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    token = TOKEN_RE.search(response.text)[1]  # "kk-" + 43 base64url characters = 256 random bits
    row = db.session.execute(sa.select(KhojApiUser).where(KhojApiUser.user_id == user.id)).scalar_one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.token_hint == f"{token[:7]}…{token[-4:]}" and re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", row.name)
    assert token not in client.get("/tokens").text  # shown once
    assert row.accessed_at is None

    api = client.application.test_client()
    assert api.get("/api/v1/user", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    db.session.refresh(row)
    assert row.accessed_at is not None  # last use recorded
    client.post(f"/tokens/{row.id}/revoke", data={})
    response = api.get("/api/v1/user", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.get_json()["error"]


def test_sec17_expired_token_is_refused(client, login_as, app_context):
    user = make_user()
    login_as(user)
    response = client.post("/tokens", data={"name": "monthly", "expiry": "30"})
    token = TOKEN_RE.search(response.text)[1]
    row = db.session.execute(sa.select(KhojApiUser).where(KhojApiUser.user_id == user.id)).scalar_one()
    assert timedelta(days=29) < row.expires_at - datetime.now(timezone.utc) <= timedelta(days=30)
    api = client.application.test_client()
    assert api.get("/api/v1/user", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    row.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    db.session.commit()
    assert api.get("/api/v1/user", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# 18 ------------------------------------------------------------------------------------------------


def test_sec18_no_secrets_in_urls_or_logs(client, login_as, app, app_context, caplog):
    caplog.set_level(logging.DEBUG)
    user = make_user()
    db.session.commit()
    response = sign_in(client, user.email)
    assert DEFAULT_PASSWORD not in response.headers["Location"]
    response = client.post("/tokens", data={"name": "logged?", "expiry": "never"})
    token = TOKEN_RE.search(response.text)[1]
    row_id = db.session.execute(sa.select(KhojApiUser.id).where(KhojApiUser.user_id == user.id)).scalar_one()
    api = app.test_client()
    for _ in range(3):
        api.get("/api/v1/user", headers={"Authorization": f"Bearer {token}"})
    api.get("/api/v1/user", headers={"Authorization": f"Bearer {token}x"})
    # Revoking names the token by id, never by value.
    response = client.post(f"/tokens/{row_id}/revoke", data={})
    assert token not in response.headers["Location"]
    logging.getLogger("portal.test").info("a careless line with %s", token)  # the log filter's safety net
    for record in caplog.records:
        text = record.getMessage()
        assert token not in text and token[3:] not in text and DEFAULT_PASSWORD not in text


def test_sec17_last_use_is_recorded_at_most_once_a_minute(client, app_context):
    user = make_user()
    row, token = make_token(user)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    client.get("/api/v1/user", headers=headers)
    db.session.refresh(row)
    first = row.accessed_at
    client.get("/api/v1/user", headers=headers)
    db.session.refresh(row)
    assert row.accessed_at == first
    row.accessed_at = first - timedelta(minutes=2)
    db.session.commit()
    client.get("/api/v1/user", headers=headers)
    db.session.refresh(row)
    assert row.accessed_at > first - timedelta(minutes=2) and row.accessed_at >= first
