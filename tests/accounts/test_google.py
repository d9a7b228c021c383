"""Google sign-in end to end against a real OpenID Connect provider on loopback (oidc-provider-mock).

The test client plays the browser: it follows our redirect to the provider, submits the provider's
authorisation form with `requests`, and brings the provider's redirect back to our callback. Our app
talks to the provider server-to-server (discovery, token endpoint, JWKS) exactly as in production.
"""
from __future__ import annotations

import socket
import threading
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from portal.extensions import db
from portal.models import AuditLog, GoogleUser, KhojUser
from tests.accounts.helpers import is_signed_in
from tests.conftest import (
    GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, OIDC_PROVIDER_WARNINGS, set_oidc_claims, use_oidc_provider,
)
from tests.factories import make_user

pytestmark = OIDC_PROVIDER_WARNINGS


@pytest.fixture
def google(app, oidc_provider, monkeypatch):
    use_oidc_provider(app, oidc_provider, monkeypatch)
    return oidc_provider


def replace_query(url: str, **params) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def google_flow(client, sub: str, *, tamper_authorize=None, tamper_callback=None, deny: bool = False):
    """Run the whole flow; returns our callback's response."""
    start = client.get("/login/google")
    assert start.status_code == 302, start.text
    authorize_url = start.headers["Location"]
    if tamper_authorize:
        authorize_url = tamper_authorize(authorize_url)
    form = {"action": "deny"} if deny else {"sub": sub}
    answer = requests.post(authorize_url, data=form, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    callback = answer.headers["Location"]
    if tamper_callback:
        callback = tamper_callback(callback)
    parts = urlsplit(callback)
    assert parts.path == "/login/google/callback"
    return client.get(f"{parts.path}?{parts.query}")


def flashed(client) -> str:
    with client.get("/login") as page:
        return page.text


def google_user(sub: str) -> GoogleUser | None:
    return db.session.execute(sa.select(GoogleUser).where(GoogleUser.sub == sub)).scalar_one_or_none()


def test_login_page_shows_the_google_button_only_when_configured(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_ID", None)
    assert "Sign in with Google" not in client.get("/login").text
    with client.get("/login/google") as response:
        assert response.status_code == 404
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_ID", GOOGLE_CLIENT_ID)
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_SECRET", GOOGLE_CLIENT_SECRET)
    assert "Sign in with Google" in client.get("/login").text


def test_authorisation_request_uses_state_nonce_and_pkce_s256(client, google, app_context):
    start = client.get("/login/google")
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["scope"] == ["openid email profile"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 20 and len(query["nonce"][0]) >= 20
    assert query["client_id"] == [GOOGLE_CLIENT_ID]


def test_new_user_is_created_with_every_google_field_and_found_again_by_sub(client, google, app_context):
    set_oidc_claims(google, "g-new-1", email="ada@example.org", email_verified=True, name="Ada Lovelace",
                    given_name="Ada", family_name="Lovelace", picture="https://example.org/ada.png", locale="en-GB")
    response = google_flow(client, "g-new-1")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert is_signed_in(client)
    identity = google_user("g-new-1")
    assert identity.issuer == google.url
    assert (identity.email, identity.name, identity.given_name, identity.family_name, identity.picture,
            identity.locale) == ("ada@example.org", "Ada Lovelace", "Ada", "Lovelace",
                                 "https://example.org/ada.png", "en-GB")
    assert identity.azp in (None, GOOGLE_CLIENT_ID)
    user = identity.user
    assert user.username == user.email == "ada@example.org" and user.verified_email
    assert user.password_hash is None and user.subscription is not None
    user_id = user.id

    # Second sign-in, with a changed email at Google: still the same user, found by sub.
    client.post("/logout", data={})
    set_oidc_claims(google, "g-new-1", email="ada.l@example.org", email_verified=True, name="Ada L.")
    google_flow(client, "g-new-1")
    assert is_signed_in(client)
    assert db.session.execute(sa.select(sa.func.count()).select_from(GoogleUser).where(
        GoogleUser.sub == "g-new-1")).scalar_one() == 1
    db.session.expire_all()
    assert google_user("g-new-1").user_id == user_id and google_user("g-new-1").name == "Ada L."


def test_verified_email_links_to_the_existing_account(client, google, app_context):
    user = make_user(email="linkme@example.org")
    db.session.commit()
    set_oidc_claims(google, "g-link-1", email="LinkMe@example.org", email_verified=True, name="Link Me")
    google_flow(client, "g-link-1")
    assert is_signed_in(client)
    assert google_user("g-link-1").user_id == user.id
    actions = db.session.execute(sa.select(AuditLog.action).where(AuditLog.object_id == str(user.id))).scalars()
    assert "google.link" in list(actions)


def test_sec11_unverified_email_is_not_linked(client, google, app_context):
    user = make_user(email="victim@example.org")
    db.session.commit()
    set_oidc_claims(google, "g-attacker", email="victim@example.org", email_verified=False)
    response = google_flow(client, "g-attacker")
    assert response.headers["Location"] == "/login"
    assert not is_signed_in(client)
    assert google_user("g-attacker") is None
    assert "Google has not verified the address" in flashed(client)
    assert db.session.get(KhojUser, user.id).google_user is None


def test_sec11_tampered_state_is_refused(client, google, app_context):
    set_oidc_claims(google, "g-state", email="state@example.org", email_verified=True)
    response = google_flow(client, "g-state", tamper_callback=lambda url: replace_query(url, state="forged-state"))
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not is_signed_in(client)
    assert "did not start here" in flashed(client)
    assert google_user("g-state") is None


def test_sec11_wrong_nonce_is_refused(client, google, app_context):
    set_oidc_claims(google, "g-nonce", email="nonce@example.org", email_verified=True)
    response = google_flow(client, "g-nonce", tamper_authorize=lambda url: replace_query(url, nonce="replayed-nonce"))
    assert response.headers["Location"] == "/login"
    assert not is_signed_in(client)
    assert "could not be verified" in flashed(client)
    assert google_user("g-nonce") is None


class TokenForOtherClient:
    """A loopback relay in front of the provider whose token endpoint authenticates as another client,
    so the provider issues a correctly signed id_token whose audience is not ours."""

    def __init__(self, provider_url: str):
        self.provider_url = provider_url
        self.server = make_server("127.0.0.1", 0, self)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/.well-known/openid-configuration":
            document = requests.get(f"{self.provider_url}{request.path}", timeout=5).json()
            document["token_endpoint"] = f"{self.url}/oauth2/token"
            return Response(__import__("json").dumps(document), mimetype="application/json")(environ, start_response)
        upstream = requests.post(f"{self.provider_url}{request.path}", data=request.form.to_dict(),
                                 auth=("other-client", "other-secret"), timeout=5)
        return Response(upstream.content, upstream.status_code,
                        content_type=upstream.headers["Content-Type"])(environ, start_response)


def test_sec11_id_token_for_another_audience_is_refused(client, google, app, monkeypatch, app_context):
    relay = TokenForOtherClient(google.url)
    relay.thread.start()
    try:
        monkeypatch.setitem(app.config, "GOOGLE_DISCOVERY_URL", f"{relay.url}/.well-known/openid-configuration")
        set_oidc_claims(google, "g-aud", email="aud@example.org", email_verified=True)
        response = google_flow(client, "g-aud",
                               tamper_authorize=lambda url: replace_query(url, client_id="other-client"))
    finally:
        relay.server.shutdown()
    assert response.headers["Location"] == "/login"
    assert not is_signed_in(client)
    assert "could not be verified" in flashed(client)
    assert google_user("g-aud") is None


def test_denied_consent_lands_on_the_sign_in_page_with_a_message(client, google, app_context):
    response = google_flow(client, "g-deny", deny=True)
    assert response.headers["Location"] == "/login"
    assert "Google sign-in was cancelled." in flashed(client)


def test_provider_down_lands_on_the_sign_in_page_with_a_message(client, app, monkeypatch, app_context):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_ID", GOOGLE_CLIENT_ID)
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_SECRET", GOOGLE_CLIENT_SECRET)
    monkeypatch.setitem(app.config, "GOOGLE_DISCOVERY_URL", f"http://127.0.0.1:{port}/.well-known/openid-configuration")
    response = client.get("/login/google")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "Google could not be reached" in flashed(client)


def test_signed_in_user_connects_google_from_the_profile(client, google, login_as, app_context):
    user = make_user(email="connect@example.org")
    db.session.commit()
    login_as(user)
    set_oidc_claims(google, "g-connect", email="someone.else@gmail.example", email_verified=True, name="Con Nect")
    response = google_flow(client, "g-connect")
    assert response.headers["Location"] == "/profile"
    assert google_user("g-connect").user_id == user.id
    page = client.get("/profile").text
    assert "someone.else@gmail.example" in page and "Disconnect Google" in page
    client.post("/profile/google/disconnect", data={})
    assert google_user("g-connect") is None


def test_google_user_reauthenticates_with_google(client, google, app, app_context):
    set_oidc_claims(google, "g-fresh", email="fresh@example.org", email_verified=True)
    google_flow(client, "g-fresh")
    with client.session_transaction() as session:
        session["_fresh"] = False  # as after a restart from the remember-me cookie
    response = client.get("/profile/delete")
    assert response.headers["Location"].startswith("/reauthenticate")
    page = client.get(response.headers["Location"]).text
    assert "Continue with Google" in page
    start = client.get("/login/google", query_string={"next": "/profile/delete"})
    answer = requests.post(start.headers["Location"], data={"sub": "g-fresh"}, allow_redirects=False, timeout=5)
    parts = urlsplit(answer.headers["Location"])
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.headers["Location"] == "/profile/delete"
    with client.get("/profile/delete") as response:
        assert response.status_code == 200
