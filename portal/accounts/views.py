"""Sign-in, sign-up, first-run setup, sign-out, re-authentication, one-time codes and Google.

Profile and token pages live in profile_views.py and token_views.py (imported at the bottom).
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import confirm_login, current_user, login_required, login_user, logout_user

from ..extensions import db
from . import services
from .forms import (
    CodeForm, CodeRequestForm, CodeSignInForm, LoginForm, MagicLinkForm, ReauthenticateForm, SetupForm, SignupForm,
)
from .mail import DeliveryError

bp = Blueprint("accounts", __name__)
log = logging.getLogger(__name__)

BAD_CREDENTIALS = "The email or password is not correct."
BAD_CODE = "That code is not correct, or it has expired or been used. Ask for a new one."


def client_ip() -> str:
    return request.remote_addr or "unknown"


def safe_next(target: str | None) -> str:
    """`next` only when it is a path on this site (security.md #12); otherwise the home page."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target and "\n" not in target:
            return target
    return url_for("core.home")


def start_session(user, method: str, remember: bool = False, next_url: str | None = None):
    """A brand-new session for `user` (nothing carried over from the anonymous one but the messages
    queued for the next page, such as the caller's own flash), then redirect."""
    services.record_sign_in(user, method)
    db.session.commit()
    messages = session.get("_flashes")
    session.clear()
    login_user(user, remember=remember, fresh=True)
    session.permanent = True
    if messages:
        session["_flashes"] = messages
    return redirect(safe_next(next_url))


def google_enabled() -> bool:
    from .google import google_configured

    return google_configured()


# --------------------------------------------------------------------------- password sign-in


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data, client_ip())
        db.session.commit()  # failures must count even though nothing else changes
        if user is not None:
            return start_session(user, "password", form.remember.data, request.args.get("next"))
        form.password.errors.append(BAD_CREDENTIALS)
    return render_template("accounts/login.html", form=form, google=google_enabled(),
                           next_url=request.args.get("next"))


@bp.post("/logout")
@login_required
def logout():
    """Sign out ends every session of the user: a copied cookie must not outlive sign-out (security.md #7)."""
    return sign_out_everywhere_and_redirect("You are signed out.")


def sign_out_everywhere_and_redirect(message: str):
    services.end_all_sessions(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(message, "success")
    return redirect(url_for("accounts.login"))


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = services.sign_up(form.email.data, form.password.data, client_ip(),
                                    form.first_name.data or "", form.last_name.data or "")
        except services.AccountError as exc:
            getattr(form, exc.field or "email").errors.append(exc.message)
        else:
            db.session.commit()
            _send_code_or_warn(user, "verify")
            flash("Welcome! We sent a 6-digit code to your email to verify it.", "success")
            return start_session(user, "signup", next_url=url_for("accounts.verify_email"))
    return render_template("accounts/signup.html", form=form, google=google_enabled())


def _send_code_or_warn(user, purpose: str) -> bool:
    try:
        services.send_email_code(user, purpose, client_ip())
    except DeliveryError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return False
    db.session.commit()
    return True


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first admin. Exists only while there is no admin (security.md #5)."""
    if services.admin_exists():
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        try:
            user = services.set_up_first_admin(form.email.data, form.password.data)
        except services.AccountError as exc:
            db.session.rollback()
            if exc.field is None:
                abort(404)
            getattr(form, exc.field).errors.append(exc.message)
        else:
            flash("The first admin account is ready.", "success")
            return start_session(user, "setup")
    return render_template("accounts/setup.html", form=form)


@bp.route("/reauthenticate", methods=["GET", "POST"])
@login_required
def reauthenticate():
    """Confirm the password to make a remembered session fresh again (fresh_login_required views)."""
    form = ReauthenticateForm()
    if form.validate_on_submit():
        ok = services.check_password(current_user, form.password.data)
        db.session.commit()
        if ok:
            confirm_login()
            return redirect(safe_next(request.args.get("next")))
        form.password.errors.append("The password is not correct.")
    return render_template("accounts/reauthenticate.html", form=form, google=google_enabled(),
                           has_password=current_user.password_hash is not None)


# --------------------------------------------------------------------------- one-time codes


@bp.route("/login/code", methods=["GET", "POST"])
def code_request():
    form = CodeRequestForm()
    if form.validate_on_submit():
        try:
            services.request_login_code(form.email.data, client_ip())
        except DeliveryError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return render_template("accounts/code_request.html", form=form)
        db.session.commit()
        session["code_email"] = form.email.data.strip()
        # The same answer whether or not the account exists.
        flash("If an account uses this email, a 6-digit code is on its way. It is valid for 5 minutes.", "info")
        return redirect(url_for("accounts.code_sign_in", next=request.args.get("next")))
    return render_template("accounts/code_request.html", form=form)


@bp.route("/login/code/enter", methods=["GET", "POST"])
def code_sign_in():
    form = CodeSignInForm()
    if request.method == "GET":
        form.email.data = session.get("code_email", "")
    if form.validate_on_submit():
        user = services.sign_in_with_code(form.email.data, form.code.data, client_ip())
        db.session.commit()
        if user is not None:
            return start_session(user, "email code", next_url=request.args.get("next"))
        form.code.errors.append(BAD_CODE)
    return render_template("accounts/code_enter.html", form=form)


@bp.route("/login/link", methods=["GET", "POST"])
def magic_link():
    """The emailed link (/login/link?email=…#code=…). GET only shows a button: signing in is a POST, so
    link scanners that open mail links cannot spend the code, and no state changes on GET. The code is
    in the URL fragment, which never reaches the server; accounts.js puts it into the form."""
    form = MagicLinkForm()
    if request.method == "GET":
        form.email.data = request.args.get("email", "")
    elif form.validate_on_submit():
        user = services.sign_in_with_code(form.email.data, form.code.data, client_ip())
        db.session.commit()
        if user is not None:
            return start_session(user, "email link")
        flash(BAD_CODE, "danger")
        return redirect(url_for("accounts.code_request"))
    return render_template("accounts/magic_link.html", form=form)


@bp.route("/verify-email", methods=["GET", "POST"])
@login_required
def verify_email():
    form = CodeForm()
    if current_user.verified_email and request.method == "GET":
        flash("Your email address is verified.", "info")
        return redirect(url_for("accounts.profile"))
    if form.validate_on_submit():
        ok = services.consume_email_code(current_user, form.code.data, client_ip())
        if ok:
            from .. import audit

            audit.record("user.email_verified", actor=current_user, obj=current_user,
                         changes={"email": current_user.email})
        db.session.commit()
        if ok:
            flash("Thank you, your email address is verified.", "success")
            return redirect(url_for("accounts.profile"))
        form.code.errors.append(BAD_CODE)
    return render_template("accounts/verify_email.html", form=form)


@bp.post("/verify-email/send")
@login_required
def verify_email_send():
    if _send_code_or_warn(current_user, "verify"):
        flash(f"We sent a new code to {current_user.email}.", "info")
    return redirect(url_for("accounts.verify_email"))


# --------------------------------------------------------------------------- Google


@bp.get("/login/google")
def google_login():
    from .google import FLOW_ERRORS, google_client

    if not google_enabled():
        abort(404)
    session["google_next"] = request.args.get("next")
    try:
        client = google_client()
        return client.authorize_redirect(url_for("accounts.google_callback", _external=True))
    except FLOW_ERRORS as exc:
        log.warning("google sign-in could not start: %s", type(exc).__name__)
        flash("Google sign-in is unavailable right now (Google could not be reached). Please try again later.",
              "danger")
        return redirect(url_for("accounts.login"))


@bp.get("/login/google/callback")
def google_callback():
    from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
    from requests import RequestException

    from .google import (
        FLOW_ERRORS, GoogleSignInError, claims_from_token, claims_options, google_client, sign_in_with_google,
    )

    if not google_enabled():
        abort(404)
    linking = current_user.is_authenticated
    back = url_for("accounts.profile") if linking else url_for("accounts.login")
    next_url = session.pop("google_next", None)
    if request.args.get("error"):
        denied = request.args.get("error") == "access_denied"
        flash("Google sign-in was cancelled." if denied else "Google refused the sign-in request.", "warning")
        return redirect(back)
    try:
        client = google_client()
        token = client.authorize_access_token(claims_options=claims_options(client))
        claims = claims_from_token(client, token)
        user = sign_in_with_google(claims, current_user._get_current_object() if linking else None)
    except GoogleSignInError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(back)
    except FLOW_ERRORS as exc:
        db.session.rollback()
        log.warning("google sign-in failed: %s %s", type(exc).__name__, getattr(exc, "claim", "") or "")
        if isinstance(exc, MismatchingStateError):
            message = "The Google sign-in expired or did not start here. Please try again."
        elif isinstance(exc, RequestException):
            message = "Google could not be reached. Please try again in a moment."
        elif isinstance(exc, OAuthError):
            message = "Google did not complete the sign-in. Please try again."
        else:
            message = "Google's answer could not be verified, so you were not signed in."
        flash(message, "danger")
        return redirect(back)
    if linking:
        db.session.commit()
        confirm_login()  # proving the Google identity again makes the session fresh (re-authentication)
        flash("Your Google account is connected.", "success")
        return redirect(safe_next(next_url) if next_url else back)
    return start_session(user, "google", next_url=next_url)


from . import profile_views, token_views  # noqa: E402,F401  (register their routes on bp)
