"""Input rules shared by forms, the API and the CLI. Each returns a sentence, or None when fine."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MIN_PASSWORD, MAX_PASSWORD = 8, 128


def email_problem(email: str) -> str | None:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"Enter a valid email address ({exc})."
    return None


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"Use at most {MAX_PASSWORD} characters."
    return None
