"""Google sign-in with Authlib: discovery document, state + nonce + PKCE S256, id_token checked.

The OAuth client is built from the app's configuration the first time it is needed (and rebuilt when
the configuration changes), so the button simply disappears while GOOGLE_CLIENT_ID/SECRET are unset.
Authlib checks the id_token's signature (provider's JWKS), `iss` (the discovery document's issuer),
`aud`/`azp` (our client id), `exp`/`iat` and the `nonce` it saved with the state in the session.
"""
from __future__ import annotations

import logging

import requests
import sqlalchemy as sa
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from joserfc.errors import JoseError

from .. import audit
from ..extensions import db
from ..models import GoogleUser, KhojUser
from .services import AccountError, create_user, find_user_by_email

log = logging.getLogger(__name__)

PROFILE_FIELDS = ("azp", "email", "name", "given_name", "family_name", "picture", "locale")
# Everything that can go wrong between the redirect and the id_token, turned into a message by the view.
FLOW_ERRORS = (AuthlibBaseError, JoseError, requests.RequestException, ValueError, KeyError, TypeError)


class GoogleSignInError(Exception):
    """A failed Google sign-in; the message is shown on the sign-in page."""


def google_configured(config=None) -> bool:
    config = config if config is not None else current_app.config
    return bool(config.get("GOOGLE_CLIENT_ID") and config.get("GOOGLE_CLIENT_SECRET"))


def google_client(app: Flask | None = None):
    app = app or current_app._get_current_object()
    settings = (app.config["GOOGLE_CLIENT_ID"], app.config["GOOGLE_CLIENT_SECRET"], app.config["GOOGLE_DISCOVERY_URL"])
    cached = app.extensions.get("google_oauth")
    if cached and cached[0] == settings:
        return cached[1]
    oauth = OAuth(app)
    client = oauth.register(
        "google",
        client_id=settings[0],
        client_secret=settings[1],
        server_metadata_url=settings[2],
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256", "default_timeout": 10},
    )
    app.extensions["google_oauth"] = (settings, client)
    return client


def claims_options(client) -> dict:
    """What the id_token must say: issued by the discovery document's issuer, for our client id.
    (Without an explicit `aud` option Authlib relies on `azp` alone.)"""
    issuer = client.load_server_metadata()["issuer"]
    return {
        "iss": {"essential": True, "values": [issuer]},
        "aud": {"essential": True, "value": client.client_id},
    }


def claims_from_token(client, token: dict) -> dict:
    """The verified id_token claims. Authlib verifies them only when an id_token came back, so its
    absence is a failure here rather than a silent sign-in on unverified data."""
    claims = token.get("userinfo")
    if not claims or not claims.get("sub") or not claims.get("iss"):
        raise GoogleSignInError("Google did not return a signed identity. Please try again.")
    return dict(claims)


def _is_true(value) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _fill(identity: GoogleUser, claims: dict) -> None:
    for field in PROFILE_FIELDS:
        value = claims.get(field)
        setattr(identity, field, str(value)[:2048] if value is not None else None)


def sign_in_with_google(claims: dict, current: KhojUser | None = None) -> KhojUser:
    """The user for these verified claims: by (issuer, sub); else link `current` (a signed-in user
    connecting Google) or the account with this email when Google says it is verified; else a new user.
    Raises GoogleSignInError with a sentence for the user. Caller commits."""
    issuer, sub = str(claims["iss"]), str(claims["sub"])
    identity = db.session.execute(
        sa.select(GoogleUser).where(GoogleUser.issuer == issuer, GoogleUser.sub == sub)
    ).scalar_one_or_none()
    email = (claims.get("email") or "").strip()
    verified = _is_true(claims.get("email_verified"))
    if identity is not None:
        if current is not None and identity.user_id != current.id:
            raise GoogleSignInError("This Google account is already connected to another portal account.")
        user = identity.user
        if not user.is_active:
            raise GoogleSignInError("This account is deactivated. Contact an administrator.")
        _fill(identity, claims)
        return user
    user = current
    if user is None and email:
        existing = find_user_by_email(email)
        if existing is not None:
            if not verified:
                raise GoogleSignInError(
                    "An account with this email already exists, and Google has not verified the address, "
                    "so they were not linked. Sign in with your password, then connect Google from your profile."
                )
            user = existing
    if user is not None:
        if not user.is_active:
            raise GoogleSignInError("This account is deactivated. Contact an administrator.")
        if user.google_user is not None:
            raise GoogleSignInError("Your account is already connected to another Google account.")
        identity = GoogleUser(user=user, issuer=issuer, sub=sub)
        _fill(identity, claims)
        db.session.add(identity)
        if verified and email and email.lower() == user.email.lower():
            user.verified_email = True
        audit.record("google.link", actor=user, obj=user, changes={"google_email": email, "issuer": issuer})
        return user
    if not email:
        raise GoogleSignInError("Google did not share an email address, which the portal needs.")
    try:
        user = create_user(email, None, verified_email=verified)
    except AccountError as exc:  # pragma: no cover - create_user raises nothing today
        raise GoogleSignInError(exc.message) from exc
    identity = GoogleUser(user=user, issuer=issuer, sub=sub)
    _fill(identity, claims)
    db.session.add(identity)
    audit.record("google.signup", actor=user, obj=user, changes={"email": email, "issuer": issuer})
    return user


def disconnect_google(user: KhojUser) -> None:
    if user.google_user is None:
        return
    audit.record("google.unlink", actor=user, obj=user, changes={"google_email": user.google_user.email})
    db.session.delete(user.google_user)
    db.session.flush()
