"""Secrets at rest: an encrypted column type (AES-256-GCM) and key rotation.

Stored form: ``v1:<key id>:<base64(nonce || ciphertext+tag)>``. The key id (first 8 hex digits of the
key's SHA-256) tells which key encrypted a value, so old keys can still decrypt during a rotation and a
wrong key fails loudly instead of returning garbage. The column name is bound as associated data, so a
ciphertext copied into another column does not decrypt.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text, TypeDecorator

from .config import ConfigError

PREFIX = "v1"


class DecryptionError(RuntimeError):
    """A stored secret could not be decrypted with any configured key."""


def _decode_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ConfigError("PORTAL_ENCRYPTION_KEY must be 32 bytes in URL-safe base64.") from exc
    if len(key) != 32:
        raise ConfigError("PORTAL_ENCRYPTION_KEY must be 32 bytes in URL-safe base64.")
    return key


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


class KeyRing:
    """The current key (encrypts) and any old keys (decrypt only)."""

    def __init__(self, current: str, old: list[str] | tuple[str, ...] = ()):
        self.current = _decode_key(current)
        self.keys = {key_id(self.current): self.current}
        for text in old:
            if text.strip():
                key = _decode_key(text)
                self.keys.setdefault(key_id(key), key)

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.current).encrypt(nonce, plaintext.encode(), context.encode())
        blob = base64.b64encode(nonce + sealed).decode()
        return f"{PREFIX}:{key_id(self.current)}:{blob}"

    def decrypt(self, stored: str, context: str) -> str:
        try:
            prefix, kid, blob = stored.split(":", 2)
        except ValueError as exc:
            raise DecryptionError("stored secret is not in the encrypted format") from exc
        key = self.keys.get(kid)
        if prefix != PREFIX or key is None:
            raise DecryptionError(
                f"stored secret was encrypted with key {kid}, which is not configured "
                "(set PORTAL_ENCRYPTION_KEY or PORTAL_ENCRYPTION_OLD_KEYS)"
            )
        raw = base64.b64decode(blob)
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as exc:
            raise DecryptionError(f"stored secret failed authentication under key {kid}") from exc

    def is_current(self, stored: str) -> bool:
        return stored.split(":", 2)[1:2] == [key_id(self.current)]


# The process-wide key ring, installed by create_app(). Column types need it outside a request
# (CLI, jobs), so it lives here rather than in current_app.
_keyring: KeyRing | None = None


def install_keyring(keyring: KeyRing) -> None:
    global _keyring
    _keyring = keyring


def keyring() -> KeyRing:
    if _keyring is None:
        raise RuntimeError("no encryption key installed; create the app first")
    return _keyring


class EncryptedString(TypeDecorator):
    """A text column whose Python value is the plaintext and whose stored value is AES-GCM ciphertext.

    ``context`` names the column (e.g. "ai_model_api.api_key") and is authenticated with the value.
    """

    impl = Text
    cache_ok = True

    def __init__(self, context: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.context = context

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return keyring().encrypt(value, self.context)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return keyring().decrypt(value, self.context)


def mask_secret(value: str | None) -> str:
    """What a page may show of a secret: a hint, never the value (``sk-…ab12``)."""
    if not value:
        return ""
    if len(value) <= 8:
        return "•" * 8
    head = value.split("-", 1)[0] + "-" if "-" in value[:6] else value[:2]
    return f"{head}…{value[-4:]}"


def encrypted_columns():
    """(table, column name, context) for every EncryptedString column of the models."""
    from .extensions import db

    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedString):
                yield table, column.name, column.type.context


def rotate_all_secrets(new_key: str) -> dict[str, int]:
    """Re-encrypt every stored secret under `new_key` in the caller's transaction; install the new ring.

    Reads raw ciphertext with plain SQL (bypassing the column type), decrypts with the current ring
    (current + old keys) and writes ciphertext under the new key. Nothing is written if any value
    fails to decrypt: the exception propagates and the caller's transaction rolls back.
    """
    import sqlalchemy as sa

    from .extensions import db

    old_ring = keyring()
    new_ring = KeyRing(new_key, [base64.urlsafe_b64encode(k).decode() for k in old_ring.keys.values()])
    counts: dict[str, int] = {}
    for table, name, context in encrypted_columns():
        raw = sa.table(table.name, sa.column("id"), sa.column(name))
        rows = db.session.execute(
            sa.select(raw.c.id, raw.c[name]).where(raw.c[name].isnot(None))
        ).all()
        for row_id, stored in rows:
            fresh = new_ring.encrypt(old_ring.decrypt(stored, context), context)
            db.session.execute(sa.update(raw).where(raw.c.id == row_id).values({name: fresh}))
        counts[f"{table.name}.{name}"] = len(rows)
    install_keyring(new_ring)
    return counts
