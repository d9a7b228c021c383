"""Input rules shared by forms, the API and the CLI. Each returns a sentence, or None when fine."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import phonenumbers
from email_validator import EmailNotValidError, validate_email

MIN_PASSWORD, MAX_PASSWORD = 8, 128
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


def email_problem(email: str) -> str | None:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"Enter a valid email address ({exc})."
    return None


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list of the most common passwords (security.md #2), lower-cased."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str) -> str | None:
    """Length 8–128 and not a common password; no composition rules (security.md #2)."""
    if len(password) < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"Use at most {MAX_PASSWORD} characters."
    if password.strip().lower() in common_passwords():
        return "This password is one of the most common ones and easy to guess. Choose another."
    return None


def normalise_phone(raw: str) -> tuple[str | None, str | None]:
    """(E.164 number, None) or (None, problem). Numbers must be international: +<country code>…"""
    raw = (raw or "").strip()
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None, "Enter the number in international format, starting with + and the country code."
    if not phonenumbers.is_valid_number(number):
        return None, "This is not a valid phone number. Check the country code and the digits."
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None
