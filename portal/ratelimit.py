"""Rate limits kept in the database (rate_limit_record), so they hold across every worker process.

    hit("login", f"ip:{ip}", limit=5, window=60)   # raises RateLimited on the 6th try within 60 s

A transaction-scoped advisory lock on (slug, identifier) makes count-then-insert exact under
concurrency. The record is committed at once: a failed request must still count.
"""
from __future__ import annotations

import math
from datetime import timedelta

import sqlalchemy as sa

from .extensions import db
from .models import RateLimitRecord


class RateLimited(Exception):
    def __init__(self, retry_after: int, message: str = "Too many attempts. Please wait and try again."):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
        self.message = message


def hit(slug: str, identifier: str, limit: int, window: int, message: str | None = None) -> None:
    """Record one attempt; raise RateLimited when `limit` attempts already happened in `window` seconds."""
    identifier = identifier[:255]
    limit = scaled(limit)
    db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"{slug}|{identifier}"))))
    since = sa.func.now() - sa.text(f"interval '{int(window)} seconds'")
    count, oldest = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(RateLimitRecord.created_at)).where(
            RateLimitRecord.slug == slug,
            RateLimitRecord.identifier == identifier,
            RateLimitRecord.created_at > since,
        )
    ).one()
    if count >= limit:
        now = db.session.execute(sa.select(sa.func.now())).scalar_one()
        retry_after = math.ceil((oldest + timedelta(seconds=window) - now).total_seconds())
        db.session.commit()  # release the advisory lock
        raise RateLimited(retry_after, message or "Too many attempts. Please wait and try again.")
    db.session.add(RateLimitRecord(slug=slug, identifier=identifier))
    db.session.commit()


def scaled(limit: int) -> int:
    """`limit` times RATE_LIMIT_SCALE (1 unless a load test raises it)."""
    from flask import current_app, has_app_context

    return limit * int(current_app.config.get("RATE_LIMIT_SCALE", 1)) if has_app_context() else limit


def attempts(slug: str, identifier: str, window: int) -> int:
    since = sa.func.now() - sa.text(f"interval '{int(window)} seconds'")
    return db.session.execute(
        sa.select(sa.func.count()).where(
            RateLimitRecord.slug == slug, RateLimitRecord.identifier == identifier[:255],
            RateLimitRecord.created_at > since,
        )
    ).scalar_one()


def clear(slug: str, identifier: str) -> None:
    """Forget attempts, e.g. failed sign-ins after a successful one."""
    db.session.execute(
        sa.delete(RateLimitRecord).where(RateLimitRecord.slug == slug, RateLimitRecord.identifier == identifier[:255])
    )


def prune(older_than_seconds: int = 86400 * 2) -> int:
    result = db.session.execute(
        sa.delete(RateLimitRecord).where(
            RateLimitRecord.created_at < sa.func.now() - sa.text(f"interval '{int(older_than_seconds)} seconds'")
        )
    )
    return result.rowcount
