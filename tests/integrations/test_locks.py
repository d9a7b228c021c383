"""ProcessLock: acquire/release, stale takeover, and a race between two real connections."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from portal.core import locks
from portal.extensions import db
from portal.models import ProcessLock


@pytest.fixture(autouse=True)
def _no_locks(app):
    """The shared harness does not roll back statements run through db.session (Flask-SQLAlchemy's
    get_bind returns the engine, not the test connection), so start and end with no locks."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.delete(ProcessLock.__table__))
    yield
    with engine.begin() as conn:
        conn.execute(sa.delete(ProcessLock.__table__))
    engine.dispose()


def _row(name):
    return db.session.scalar(sa.select(ProcessLock).where(ProcessLock.name == name))


def test_acquire_then_held_then_release(app_context):
    assert locks.acquire("index_content") is True
    assert _row("index_content").max_duration_in_seconds == locks.DEFAULT_MAX_DURATION
    assert locks.acquire("index_content") is False
    assert locks.acquire("scheduled_job", max_duration=60) is True  # other names are independent
    assert locks.release("index_content") is True
    assert _row("index_content") is None
    assert locks.acquire("index_content") is True


def test_unknown_name_and_bad_duration_are_refused(app_context):
    with pytest.raises(ValueError, match="Unknown process lock"):
        locks.acquire("nope")
    with pytest.raises(ValueError, match="positive"):
        locks.acquire("index_content", max_duration=0)


def test_stale_lock_is_taken_over_and_cleared(app_context):
    assert locks.acquire("index_content", max_duration=60)
    lock = _row("index_content")
    old = datetime.now(timezone.utc) - timedelta(hours=1)
    db.session.execute(sa.update(ProcessLock).where(ProcessLock.id == lock.id).values(started_at=old))
    db.session.expire_all()
    lock = _row("index_content")
    assert locks.is_stale(lock)
    assert not locks.is_stale(lock, now=old + timedelta(seconds=30))
    assert [l.name for l in locks.stale_locks()] == ["index_content"]
    assert locks.acquire("index_content", max_duration=300) is True  # replaced, not duplicated
    db.session.expire_all()
    fresh = _row("index_content")
    assert fresh.max_duration_in_seconds == 300 and not locks.is_stale(fresh)
    assert locks.stale_locks() == []

    db.session.execute(sa.update(ProcessLock).values(started_at=old))
    assert locks.acquire("schedule_leader") is True
    assert locks.clear_stale() == 1
    assert {l.name for l in db.session.scalars(sa.select(ProcessLock))} == {"schedule_leader"}


def test_held_releases_only_its_own_lock(app_context):
    with locks.held("index_content", max_duration=60) as got:
        assert got
        with locks.held("index_content") as second:
            assert second is False
        assert _row("index_content") is not None  # the refused block did not release it
    assert _row("index_content") is None

    with pytest.raises(RuntimeError):
        with locks.held("index_content"):
            raise RuntimeError("boom")
    assert _row("index_content") is None

    # Our lock went stale and another process took it over: leaving our block keeps theirs.
    with locks.held("index_content", max_duration=60):
        db.session.execute(sa.update(ProcessLock).values(started_at=sa.func.now() - sa.text("interval '1 hour'")))
        db.session.commit()
        assert locks.acquire("index_content")
    assert _row("index_content") is not None


def test_two_connections_race_for_one_lock(app):
    """Eight sessions on their own connections, released at the same moment: exactly one wins."""
    from sqlalchemy.orm import Session

    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM process_lock WHERE name = 'apply_migrations'"))
    barrier = threading.Barrier(8)
    results = []

    def contender():
        with Session(engine) as session:
            session.connection()  # connect before the barrier so the inserts really overlap
            barrier.wait()
            results.append(locks._acquire("apply_migrations", 60, session=session) is not None)

    threads = [threading.Thread(target=contender) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(results) == [False] * 7 + [True]
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM process_lock WHERE name = 'apply_migrations'"))
        engine.dispose()
