"""ProcessLock: one row per running critical operation, shared by every web and worker process.

A lock is held while its row exists. A lock older than its `max_duration_in_seconds` counts as free:
the next `acquire` replaces it in the same statement, so a process that died holding a lock blocks
others only until the lock goes stale.

Transactions: `acquire` and `release` commit the session at once (other processes must see the lock),
so call them outside a unit of work. `stale_locks` and `clear_stale` join the caller's transaction.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Iterator

import sqlalchemy as sa

from ..extensions import db
from ..models.choices import PROCESS_LOCK_NAMES
from ..models.ops import ProcessLock

DEFAULT_MAX_DURATION = 12 * 60 * 60  # seconds; the column's default

_table = ProcessLock.__table__
_expires_at = _table.c.started_at + sa.func.make_interval(0, 0, 0, 0, 0, 0, _table.c.max_duration_in_seconds)


def _check(name: str, max_duration: int | None) -> int:
    if name not in PROCESS_LOCK_NAMES:
        raise ValueError(f"Unknown process lock {name!r}; expected one of {', '.join(PROCESS_LOCK_NAMES)}.")
    duration = DEFAULT_MAX_DURATION if max_duration is None else int(max_duration)
    if duration <= 0:
        raise ValueError("A lock's max duration must be a positive number of seconds.")
    return duration


def _acquire(name: str, max_duration: int | None, session=None) -> datetime | None:
    """Take the lock; return its started_at (identifies this holder) or None when someone holds it.

    One INSERT ... ON CONFLICT DO UPDATE WHERE <stale>: PostgreSQL locks the conflicting row, so of two
    processes racing for a free or stale lock exactly one gets a row back.
    """
    duration = _check(name, max_duration)
    from sqlalchemy.dialects.postgresql import insert

    stmt = insert(_table).values(name=name, started_at=sa.func.clock_timestamp(),
                                 max_duration_in_seconds=duration)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_table.c.name],
        set_={
            "started_at": sa.func.clock_timestamp(),
            "max_duration_in_seconds": stmt.excluded.max_duration_in_seconds,
            "updated_at": sa.func.now(),
        },
        where=_expires_at < sa.func.clock_timestamp(),
    ).returning(_table.c.started_at)
    session = session or db.session
    started_at = session.execute(stmt).scalar()
    session.commit()
    return started_at


def acquire(name: str, max_duration: int | None = None) -> bool:
    """True when this process now holds `name` (free, or stale and taken over); False when held."""
    return _acquire(name, max_duration) is not None


def release(name: str, *, started_at: datetime | None = None) -> bool:
    """Drop the lock (only the holder identified by `started_at`, when given). True if a row went."""
    stmt = sa.delete(_table).where(_table.c.name == name)
    if started_at is not None:
        stmt = stmt.where(_table.c.started_at == started_at)
    deleted = db.session.execute(stmt).rowcount
    db.session.commit()
    return bool(deleted)


def is_stale(lock: ProcessLock, now: datetime | None = None) -> bool:
    """A lock is stale once it is older than its max duration; stale locks count as free."""
    now = now or datetime.now(timezone.utc)
    return lock.started_at + timedelta(seconds=lock.max_duration_in_seconds) < now


def stale_locks() -> list[ProcessLock]:
    """Locks past their max duration, by the database clock, oldest first."""
    return list(db.session.scalars(
        sa.select(ProcessLock).where(_expires_at < sa.func.now()).order_by(ProcessLock.started_at)
    ))


def clear_stale() -> int:
    """Delete every stale lock (joins the caller's transaction); return how many went."""
    return db.session.execute(sa.delete(_table).where(_expires_at < sa.func.now())).rowcount


@contextmanager
def held(name: str, max_duration: int | None = None) -> Iterator[bool]:
    """`with held("index_content") as acquired:` — acquired is False when another process holds it.

    On exit the lock is released (committing the session) only if this block still holds it: a stale
    lock taken over by another process stays theirs. An exception rolls the session back first.
    """
    started_at = _acquire(name, max_duration)
    try:
        yield started_at is not None
    except BaseException:
        db.session.rollback()  # a failed block may leave the session unusable
        raise
    finally:
        if started_at is not None:
            release(name, started_at=started_at)
