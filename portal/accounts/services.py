"""Accounts: creating users, checking credentials, one-time codes, sessions and API tokens.

Services take the acting user (and the client IP where limits apply) as arguments, never `request`.
They flush; the caller commits. Refusals are `AccountError` with a sentence for the user.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app, url_for

from .. import audit, ratelimit
from ..auth import generate_token, hash_token, token_hint
from ..extensions import db
from ..models import KhojApiUser, KhojUser, Subscription
from . import limits
from .mail import send_mail
from .passwords import hash_password, needs_rehash, verify_password
from .sms import send_sms
from .validation import email_problem, normalise_phone, password_problem
from .words import random_name

CODE_LIFETIME = timedelta(minutes=5)
TOKEN_EXPIRY_CHOICES = {"never": None, "30": 30, "90": 90}


class AccountError(ValueError):
    """A refused account change; the message is meant for the user. `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


def now() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- users


def admin_exists() -> bool:
    return db.session.execute(
        sa.select(KhojUser.id).where(KhojUser.is_staff, KhojUser.is_active).limit(1)
    ).first() is not None


def find_user_by_email(email: str) -> KhojUser | None:
    return db.session.execute(
        sa.select(KhojUser).where(sa.func.lower(KhojUser.email) == email.strip().lower())
    ).scalar_one_or_none()


def create_user(email: str, password: str | None = None, *, is_staff: bool = False,
                is_superuser: bool = False, verified_email: bool = False, **fields) -> KhojUser:
    """A new user with its Subscription row (every sign-in path goes through here). Caller commits."""
    email = email.strip()
    user = KhojUser(
        username=email, email=email, password_hash=hash_password(password) if password else None,
        is_staff=is_staff, is_superuser=is_superuser, verified_email=verified_email, **fields,
    )
    user.subscription = Subscription()
    db.session.add(user)
    db.session.flush()
    return user


def check_new_credentials(email: str, password: str) -> None:
    for field, problem in (("email", email_problem(email)), ("password", password_problem(password))):
        if problem:
            raise AccountError(problem, field)


def sign_up(email: str, password: str, ip: str, first_name: str = "", last_name: str = "") -> KhojUser:
    """A self-service account. Only these fields: staff, superuser and plan are never taken from input."""
    ratelimit.hit("signup", f"ip:{ip}", limit=10, window=3600)
    email = email.strip()
    check_new_credentials(email, password)
    if find_user_by_email(email):
        raise AccountError("An account with this email already exists. Sign in instead.", "email")
    user = create_user(email, password, first_name=first_name.strip(), last_name=last_name.strip())
    audit.record("user.signup", actor=user, obj=user, changes={"email": user.email})
    return user


def set_up_first_admin(email: str, password: str) -> KhojUser:
    """The first admin (staff + superuser). Refused once any admin exists, even under a race."""
    db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("accounts.setup"))))
    if admin_exists():
        raise AccountError("An admin already exists.")
    check_new_credentials(email, password)
    if find_user_by_email(email):
        # Taking over an existing account through this public page is not allowed.
        raise AccountError("An account with this email already exists. Use another email for the admin.", "email")
    user = create_user(email, password, is_staff=True, is_superuser=True, verified_email=True)
    audit.record("user.setup_admin", actor=user, obj=user, changes={"email": user.email, "is_staff": True})
    return user


def update_name(user: KhojUser, first_name: str, last_name: str) -> None:
    user.first_name, user.last_name = first_name.strip()[:150], last_name.strip()[:150]
    changes = audit.diff(user, ["first_name", "last_name"])
    if changes:
        audit.record("user.update", actor=user, obj=user, changes=changes)


# --------------------------------------------------------------------------- password sign-in


def authenticate(email: str, password: str, ip: str) -> KhojUser | None:
    """The user for these credentials, or None — the same None for unknown, wrong and inactive.

    Counts failures per account and per IP (RateLimited once over the limit, before checking), upgrades
    old hashes, and audits every attempt.
    """
    email = (email or "").strip().lower()
    identifiers = [f"ip:{ip}", f"email:{email}"]
    limits.refuse_if_over("sign-in-failure", identifiers, *limits.SIGN_IN_FAILURES)
    user = find_user_by_email(email) if email else None
    ok = verify_password(user.password_hash if user else None, password or "")
    if not ok or not user.is_active:
        limits.count_failure("sign-in-failure", identifiers)
        audit.record("login.failure", obj=user, object_type="khoj_user",
                     changes={"email": email[:254], "reason": "inactive" if ok else "credentials"})
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    ratelimit.clear("sign-in-failure", f"email:{email}")
    return user


def record_sign_in(user: KhojUser, method: str) -> None:
    user.last_login = now()
    audit.record("login.success", actor=user, obj=user, changes={"method": method})


def check_password(user: KhojUser, password: str) -> bool:
    """Confirm the signed-in user's password (re-authentication), rate limited like sign-in."""
    identifiers = [f"email:{user.email.lower()}"]
    limits.refuse_if_over("sign-in-failure", identifiers, *limits.SIGN_IN_FAILURES)
    if verify_password(user.password_hash, password or ""):
        return True
    limits.count_failure("sign-in-failure", identifiers)
    audit.record("login.failure", actor=user, obj=user, changes={"reason": "reauthenticate"})
    return False


# --------------------------------------------------------------------------- one-time codes


def code_hash(user: KhojUser, channel: str, code: str) -> str:
    """Codes are stored as a keyed hash: a database dump alone cannot recover a 6-digit code."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{channel}:{user.id}:{code}".encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _issue_email_code(user: KhojUser) -> str:
    code = new_code()
    user.email_verification_code = code_hash(user, "email", code)
    user.email_verification_code_expiry = now() + CODE_LIFETIME
    return code


def _login_link(user: KhojUser, actor: KhojUser | None) -> tuple[str, str]:
    code = _issue_email_code(user)
    audit.record("user.login_link", actor=actor if actor is not None else user, obj=user)
    # The code travels in the fragment, which browsers never send: it stays out of access logs,
    # proxies and Referer headers (security.md #18). accounts.js copies it into the form.
    return url_for("accounts.magic_link", email=user.email, _anchor=f"code={code}", _external=True), code


def issue_login_link(user: KhojUser, actor: KhojUser | None = None) -> str:
    """A one-time sign-in link (5 minutes, single use) for `user`; audited. Needs a request context
    or SERVER_NAME for the absolute URL. Caller commits."""
    return _login_link(user, actor)[0]


def send_email_code(user: KhojUser, purpose: str, ip: str) -> None:
    """Email a code (and for sign-in a link). purpose: "login" or "verify". Rate limited per email and IP
    (Khoj: 20 a day per email)."""
    ratelimit.hit("email-code", f"email:{user.email.lower()}", limit=20, window=86400)
    ratelimit.hit("email-code", f"ip:{ip}", limit=30, window=3600)
    if purpose == "login":
        link, code = _login_link(user, None)
        subject = "Your Khoj Portal sign-in code"
        body = (f"Your sign-in code is {code}. It is valid for 5 minutes and works once.\n\n"
                f"Or open this link to sign in:\n{link}\n\nIf you did not ask for it, ignore this email.")
    else:
        code = _issue_email_code(user)
        subject = "Verify your email for Khoj Portal"
        body = (f"Your verification code is {code}. It is valid for 5 minutes and works once.\n\n"
                "If you did not create an account, ignore this email.")
    send_mail(user.email, subject, body)


def request_login_code(email: str, ip: str) -> None:
    """Send a sign-in code when an active account has this email; the caller answers the same either way."""
    email = (email or "").strip()
    ratelimit.hit("email-code", f"ip:{ip}", limit=30, window=3600)
    user = find_user_by_email(email) if email else None
    if user is not None and user.is_active:
        send_email_code(user, "login", ip)


def consume_email_code(user: KhojUser | None, code: str, ip: str, identifier: str | None = None) -> bool:
    """True (and the code is spent, the email marked verified) when `code` is the user's live code."""
    identifiers = [f"ip:{ip}", identifier or f"user:{getattr(user, 'id', None)}"]
    limits.refuse_if_over("code-failure", identifiers, *limits.CODE_FAILURES)
    code = (code or "").strip()
    ok = (
        user is not None and user.is_active and user.email_verification_code is not None
        and user.email_verification_code_expiry is not None and user.email_verification_code_expiry > now()
        and hmac.compare_digest(user.email_verification_code, code_hash(user, "email", code))
    )
    if not ok:
        limits.count_failure("code-failure", identifiers)
        return False
    user.email_verification_code = None
    user.email_verification_code_expiry = None
    user.verified_email = True
    return True


def sign_in_with_code(email: str, code: str, ip: str) -> KhojUser | None:
    email = (email or "").strip().lower()
    user = find_user_by_email(email) if email else None
    if consume_email_code(user, code, ip, identifier=f"email:{email}"):
        return user
    audit.record("login.failure", obj=user, object_type="khoj_user",
                 changes={"email": email[:254], "reason": "one-time code"})
    return None


# --------------------------------------------------------------------------- phone


def set_phone(user: KhojUser, raw: str) -> bool:
    """Save the number (E.164) or clear it when blank. True when a verification code should follow."""
    if not (raw or "").strip():
        user.phone_number, user.verified_phone_number = None, False
        user.phone_verification_code = user.phone_verification_code_expiry = None
        return False
    number, problem = normalise_phone(raw)
    if problem:
        raise AccountError(problem, "phone_number")
    if number != user.phone_number:
        user.phone_number, user.verified_phone_number = number, False
        audit.record("user.phone_change", actor=user, obj=user, changes={"phone_number": number})
    return not user.verified_phone_number


def send_phone_code(user: KhojUser, ip: str) -> None:
    if not user.phone_number:
        raise AccountError("Add a phone number first.", "phone_number")
    ratelimit.hit("phone-code", f"user:{user.id}", limit=10, window=86400)
    ratelimit.hit("phone-code", f"ip:{ip}", limit=30, window=3600)
    code = new_code()
    user.phone_verification_code = code_hash(user, "phone", code)
    user.phone_verification_code_expiry = now() + CODE_LIFETIME
    send_sms(user.phone_number, f"Your Khoj Portal verification code is {code}. Valid for 5 minutes.")


def verify_phone_code(user: KhojUser, code: str, ip: str) -> bool:
    identifiers = [f"ip:{ip}", f"phone-user:{user.id}"]
    limits.refuse_if_over("code-failure", identifiers, *limits.CODE_FAILURES)
    ok = (
        user.phone_verification_code is not None and user.phone_verification_code_expiry is not None
        and user.phone_verification_code_expiry > now()
        and hmac.compare_digest(user.phone_verification_code, code_hash(user, "phone", (code or "").strip()))
    )
    if not ok:
        limits.count_failure("code-failure", identifiers)
        return False
    user.phone_verification_code = user.phone_verification_code_expiry = None
    user.verified_phone_number = True
    audit.record("user.phone_verified", actor=user, obj=user, changes={"phone_number": user.phone_number})
    return True


# --------------------------------------------------------------------------- password and email changes


def _require_current_password(user: KhojUser, current_password: str) -> None:
    if user.password_hash is None:
        return  # no password yet (Google or code sign-in only): the view requires a fresh session instead
    if not check_password(user, current_password):
        raise AccountError("Your current password is not correct.", "current_password")


def change_password(user: KhojUser, current_password: str, new_password: str) -> None:
    """Needs the current password (security.md #3); ends every session of the user (#7)."""
    _require_current_password(user, current_password)
    problem = password_problem(new_password)
    if problem:
        raise AccountError(problem, "new_password")
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    audit.record("user.password_change", actor=user, obj=user, changes={"password": "changed"})


def change_email(user: KhojUser, current_password: str, new_email: str, ip: str) -> None:
    """Needs the current password; the new address must be verified again (a code is sent to it)."""
    _require_current_password(user, current_password)
    new_email = (new_email or "").strip()
    problem = email_problem(new_email)
    if problem:
        raise AccountError(problem, "email")
    if new_email.lower() == user.email.lower():
        raise AccountError("This is already your email address.", "email")
    if find_user_by_email(new_email):
        raise AccountError("Another account uses this email address.", "email")
    old = user.email
    user.email = user.username = new_email
    user.verified_email = False
    audit.record("user.email_change", actor=user, obj=user, changes={"email": [old, new_email]})
    db.session.flush()
    send_email_code(user, "verify", ip)


# --------------------------------------------------------------------------- sessions and status


def end_all_sessions(user: KhojUser) -> None:
    """Every session and remember-me cookie of the user stops working (the user loader compares the
    version). Caller commits."""
    user.session_version = (user.session_version or 1) + 1


def _other_active_admin_exists(user: KhojUser) -> bool:
    return db.session.execute(
        sa.select(KhojUser.id).where(KhojUser.is_staff, KhojUser.is_active, KhojUser.id != user.id).limit(1)
    ).first() is not None


def set_active(user: KhojUser, active: bool, actor: KhojUser | None) -> None:
    """Activate or deactivate. Deactivating ends every session; tokens stop working because
    `portal.auth.user_for_token` checks is_active. The last active admin cannot be deactivated
    (that would reopen /setup to anyone). Audited; caller commits."""
    active = bool(active)
    if user.is_active == active:
        return
    if not active and user.is_staff and not _other_active_admin_exists(user):
        raise AccountError("This is the only active admin; make someone else an admin first.")
    user.is_active = active
    if not active:
        end_all_sessions(user)
    audit.record("user.activate" if active else "user.deactivate", actor=actor, obj=user,
                 changes={"is_active": [not active, active]})


def delete_account(user: KhojUser, confirmation: str) -> None:
    """Delete the user and everything it owns (the schema's cascades). Confirmed by typing the email."""
    if (confirmation or "").strip().lower() != user.email.lower():
        raise AccountError("Type your email address exactly to confirm.", "confirm_email")
    if user.is_staff and user.is_active and not _other_active_admin_exists(user):
        raise AccountError("You are the only admin; make someone else an admin before deleting your account.")
    audit.record("user.delete", actor=None, obj=user, changes={"email": user.email})
    db.session.delete(user)
    db.session.flush()


# --------------------------------------------------------------------------- API tokens


def user_tokens(user: KhojUser):
    return sa.select(KhojApiUser).where(KhojApiUser.user_id == user.id).order_by(KhojApiUser.id.desc())


def create_token(user: KhojUser, name: str, expiry: str, ip: str) -> tuple[KhojApiUser, str]:
    """A new token; the full value is returned once and only its SHA-256 is stored (security.md #17)."""
    ratelimit.hit("token-create", f"user:{user.id}", limit=10, window=3600)
    ratelimit.hit("token-create", f"ip:{ip}", limit=30, window=3600)
    if expiry not in TOKEN_EXPIRY_CHOICES:
        raise AccountError("Choose when the token expires.", "expiry")
    days = TOKEN_EXPIRY_CHOICES[expiry]
    token = generate_token()
    row = KhojApiUser(
        user_id=user.id, token_hash=hash_token(token), token_hint=token_hint(token),
        name=(name or "").strip()[:100] or random_name(),
        expires_at=now() + timedelta(days=days) if days else None,
    )
    db.session.add(row)
    db.session.flush()
    audit.record("token.create", actor=user, obj=row, changes={"name": row.name, "expires_at": row.expires_at})
    return row, token


def revoke_token(user: KhojUser, token_id: int) -> KhojApiUser | None:
    """Delete one of the user's own tokens; None when `token_id` is not theirs (the view answers 404)."""
    row = db.session.execute(
        sa.select(KhojApiUser).where(KhojApiUser.id == token_id, KhojApiUser.user_id == user.id)
    ).scalar_one_or_none()
    if row is None:
        return None
    audit.record("token.revoke", actor=user, obj=row, changes={"name": row.name, "hint": row.token_hint})
    db.session.delete(row)
    db.session.flush()
    return row
