"""Password hashing with argon2id at argon2-cffi's current defaults (security.md #1).

`needs_rehash` lets sign-in upgrade hashes made with older parameters.
"""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile: t=3, m=64 MiB, p=4

# Verifying against this dummy hash when the user does not exist keeps the response time the same
# for unknown emails and wrong passwords (security.md #6).
_DUMMY_HASH = _hasher.hash("not a real password: timing equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
