"""Failure counters on top of rate_limit_record, for limits that must be checked *before* the attempt.

`portal.ratelimit.hit` counts every attempt. Sign-in and code checks instead count failures, and refuse
the next attempt (even with the right password) once `limit` failures happened in `window` seconds —
otherwise a guesser would still learn which guess was right.
"""
from __future__ import annotations

import math
from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import RateLimitRecord
from ..ratelimit import RateLimited

SIGN_IN_FAILURES = (5, 60)       # 5 failures a minute per account and per IP; the 6th try gets 429
CODE_FAILURES = (5, 300)         # wrong one-time codes, per account and per IP


def refuse_if_over(slug: str, identifiers: list[str], limit: int, window: int) -> None:
    for identifier in identifiers:
        identifier = identifier[:255]
        since = sa.func.now() - sa.text(f"interval '{int(window)} seconds'")
        count, oldest, now = db.session.execute(
            sa.select(sa.func.count(), sa.func.min(RateLimitRecord.created_at), sa.func.now()).where(
                RateLimitRecord.slug == slug, RateLimitRecord.identifier == identifier,
                RateLimitRecord.created_at > since,
            )
        ).one()
        if count >= limit:
            retry_after = math.ceil((oldest + timedelta(seconds=window) - now).total_seconds())
            raise RateLimited(retry_after, "Too many failed attempts. Please wait a minute and try again.")


def count_failure(slug: str, identifiers: list[str]) -> None:
    for identifier in identifiers:
        db.session.add(RateLimitRecord(slug=slug, identifier=identifier[:255]))
