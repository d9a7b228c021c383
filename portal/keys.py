"""Where the two process secrets come from: the environment, or (development only) instance/.

SECRET_KEY signs sessions; PORTAL_ENCRYPTION_KEY encrypts secrets at rest. In development each is
generated once into the instance folder and reused, so a restart keeps sessions and stored secrets
readable. In production a missing key refuses to start: a generated key would silently make every
stored secret unreadable on the next machine.
"""
from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from .config import ConfigError


def new_encryption_key() -> str:
    """A fresh AES-256 key as URL-safe base64 (what PORTAL_ENCRYPTION_KEY holds)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _instance_secret(instance_path: str, file_name: str, make) -> str:
    path = Path(instance_path) / file_name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    # Created with owner-only permissions before the secret is written.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def resolve_secrets(config: dict, instance_path: str) -> None:
    """Fill SECRET_KEY and PORTAL_ENCRYPTION_KEY, or raise ConfigError in production."""
    production = config["PORTAL_ENV"] == "production"
    for name, file_name, make in (
        ("SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(48)),
        ("PORTAL_ENCRYPTION_KEY", "encryption_key", new_encryption_key),
    ):
        if config.get(name):
            continue
        if production:
            raise ConfigError(f"{name} is not set; production refuses to start without it.")
        config[name] = _instance_secret(instance_path, file_name, make)
