"""Configuration: every setting comes from an environment variable, read here and nowhere else.

The README's "Configuration" table documents each variable. `Config.from_env()` builds the
settings for the current environment; tests build theirs with overrides.
"""
from __future__ import annotations

import os
from datetime import timedelta


class ConfigError(RuntimeError):
    """Configuration that cannot work. Its message is one sentence meant for the operator."""


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}.") from exc


def _str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def from_env() -> dict:
    """All settings as a dict for `app.config.update()`."""
    env = _str("PORTAL_ENV", "development")
    if env not in {"development", "production", "testing"}:
        raise ConfigError(f"PORTAL_ENV must be development, production or testing, got {env!r}.")
    production = env == "production"
    return {
        "PORTAL_ENV": env,
        # Secrets. In development both are generated once into instance/ when unset (see portal/keys.py);
        # in production a missing one stops the start with a clear sentence.
        "SECRET_KEY": _str("SECRET_KEY"),
        "PORTAL_ENCRYPTION_KEY": _str("PORTAL_ENCRYPTION_KEY"),
        "PORTAL_ENCRYPTION_OLD_KEYS": _str("PORTAL_ENCRYPTION_OLD_KEYS", ""),
        # Database: unset means "start the embedded PostgreSQL in instance/pgdata".
        "DATABASE_URL": _str("DATABASE_URL"),
        "DB_POOL_SIZE": _int("DB_POOL_SIZE", 5),
        "DB_STATEMENT_TIMEOUT_MS": _int("DB_STATEMENT_TIMEOUT_MS", 30_000),
        "PORTAL_AUTO_MIGRATE": _bool("PORTAL_AUTO_MIGRATE", not production),
        # Sessions and cookies (security.md #8, #9).
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_int("SESSION_LIFETIME_HOURS", 12)),
        "REMEMBER_COOKIE_DURATION": timedelta(days=_int("REMEMBER_COOKIE_DAYS", 14)),
        "SESSION_COOKIE_SECURE": _bool("COOKIE_SECURE", production),
        "REMEMBER_COOKIE_SECURE": _bool("COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "__Host-session" if _bool("COOKIE_SECURE", production) else "session",
        "REMEMBER_COOKIE_NAME": "__Host-remember" if _bool("COOKIE_SECURE", production) else "remember_token",
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # Uploads (security.md #26).
        "MAX_CONTENT_LENGTH": _int("MAX_UPLOAD_MB", 64) * 1024 * 1024,
        # Mail and SMS: SMTP when SMTP_URL is set (smtp://user:pass@host:port, smtps:// for TLS),
        # otherwise messages are written to the log.
        "SMTP_URL": _str("SMTP_URL"),
        "MAIL_FROM": _str("MAIL_FROM", "Khoj Portal <no-reply@localhost>"),
        # Google sign-in: the button shows only when both id and secret are set.
        "GOOGLE_CLIENT_ID": _str("GOOGLE_CLIENT_ID"),
        "GOOGLE_CLIENT_SECRET": _str("GOOGLE_CLIENT_SECRET"),
        "GOOGLE_DISCOVERY_URL": _str(
            "GOOGLE_DISCOVERY_URL", "https://accounts.google.com/.well-known/openid-configuration"
        ),
        # Billing: when neither is set, billing is "not configured" and everyone counts as subscribed.
        "STRIPE_SIGNING_SECRET": _str("STRIPE_SIGNING_SECRET"),
        "SUBSCRIPTION_URL": _str("SUBSCRIPTION_URL"),
        # Integrations: API bases come from configuration so tests can point them at loopback servers.
        "GITHUB_API_URL": _str("GITHUB_API_URL", "https://api.github.com"),
        "NOTION_API_URL": _str("NOTION_API_URL", "https://api.notion.com"),
        "NOTION_VERSION": _str("NOTION_VERSION", "2022-06-28"),
        "FIRECRAWL_API_KEY": _str("FIRECRAWL_API_KEY"),
        "FIRECRAWL_API_URL": _str("FIRECRAWL_API_URL", "https://api.firecrawl.dev"),
        "OLOSTEP_API_KEY": _str("OLOSTEP_API_KEY"),
        "OLOSTEP_API_URL": _str("OLOSTEP_API_URL", "https://agent.olostep.com/olostep-p2p-incomingAPI"),
        "EXA_API_KEY": _str("EXA_API_KEY"),
        "EXA_API_URL": _str("EXA_API_URL", "https://api.exa.ai"),
        "JINA_API_KEY": _str("JINA_API_KEY"),
        "JINA_API_URL": _str("JINA_API_URL", "https://r.jina.ai"),
        # SSRF guard (security.md #25): user-supplied URLs may not reach private or loopback
        # addresses unless this is on.
        "ALLOW_PRIVATE_URLS": _bool("ALLOW_PRIVATE_URLS", False),
        # Multiplies every rate limit; only for load tests from one address (bench/load.py sets it).
        "RATE_LIMIT_SCALE": _int("RATE_LIMIT_SCALE", 1),
        # Background jobs: `make run` starts one worker beside the web server in development.
        "RUN_WORKER_IN_DEV": _bool("RUN_WORKER_IN_DEV", True),
        # Logging.
        "LOG_LEVEL": _str("LOG_LEVEL", "INFO"),
    }
