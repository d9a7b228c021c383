"""The job queue: procrastinate on our PostgreSQL, one queue app per Flask app (so per database).

Connector (procrastinate 3.10): psycopg 3 everywhere — ``PsycopgConnector`` (async) for the worker and
``SyncPsycopgConnector`` for deferring from a request. procrastinate's worker is asyncio code and needs
an async connector; the psycopg2 contrib connectors (plain and SQLAlchemy) are synchronous and could
only defer. They would also tie the queue to our engine's driver, which is psycopg2 in production
(DATABASE_URL is normalised to postgresql+psycopg2) but psycopg 3 for plain postgresql:// URLs
(SQLAlchemy 2.1's default, used by the embedded server in development and tests). psycopg 3 is
installed as procrastinate's own dependency, so one connector family serves every case.

Deferring opens a short-lived pool of one connection per call (users click "Sync now" rarely), so
web processes hold no idle queue connections and nothing is shared between request threads.

Tasks are plain functions registered by name (`task` below). Each runs in a Flask app context with its
own session; job arguments are ids only — tokens are loaded inside the job, never queued.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import procrastinate
from flask import Flask, current_app
from sqlalchemy.engine import make_url

from ..extensions import db

log = logging.getLogger(__name__)

QUEUE = "default"
TASKS: dict[str, "TaskSpec"] = {}
PERIODIC: list[tuple[str, str]] = []  # (task name, cron)


@dataclass
class TaskSpec:
    func: Callable[..., Any]
    options: dict[str, Any] = field(default_factory=dict)


def task(name: str, *, cron: str | None = None, **options):
    """Register `func` as the queue task `name` (options go to procrastinate's App.task)."""

    def decorator(func):
        TASKS[name] = TaskSpec(func, options)
        if cron:
            PERIODIC.append((name, cron))
        return func

    return decorator


def conninfo(flask_app: Flask) -> str:
    """libpq URL for psycopg 3 from the app's SQLAlchemy URL (drops the +psycopg2 driver part)."""
    url = make_url(flask_app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _bind(flask_app: Flask, spec: TaskSpec):
    def run(*args, **kwargs):
        with flask_app.app_context():
            try:
                return spec.func(*args, **kwargs)
            finally:
                db.session.remove()

    run.__name__ = spec.func.__name__
    run.__doc__ = spec.func.__doc__
    return run


def build_queue(flask_app: Flask, connector, *, periodic: bool = True) -> procrastinate.App:
    from . import tasks  # noqa: F401  (registers the tasks)

    qapp = procrastinate.App(connector=connector)
    for name, spec in TASKS.items():
        qapp.task(name=name, queue=QUEUE, **spec.options)(_bind(flask_app, spec))
    for name, cron in PERIODIC if periodic else ():
        qapp.periodic(cron=cron, periodic_id=name)(qapp.tasks[name])
    return qapp


def defer(name: str, *, lock: str | None = None, queueing_lock: str | None = None, **kwargs) -> int | None:
    """Queue task `name` with `kwargs` (ids only). None when the same queueing lock is already queued."""
    from procrastinate.exceptions import AlreadyEnqueued

    flask_app = current_app._get_current_object()
    qapp = build_queue(flask_app, procrastinate.SyncPsycopgConnector(conninfo=conninfo(flask_app),
                                                                      min_size=1, max_size=1))
    with qapp.open():
        deferrer = qapp.configure_task(name, lock=lock, queueing_lock=queueing_lock)
        try:
            return deferrer.defer(**kwargs)
        except AlreadyEnqueued:
            return None


def worker_queue(flask_app: Flask, *, periodic: bool = True) -> procrastinate.App:
    return build_queue(flask_app, procrastinate.PsycopgConnector(conninfo=conninfo(flask_app)), periodic=periodic)


def run_worker(flask_app: Flask, *, wait: bool = True, concurrency: int = 1, periodic: bool = True,
               **options) -> None:
    """Run one worker for this Flask app's database (until stopped, or until the queue is empty
    when wait=False). periodic=False leaves out the periodic tasks (re-index, recovery)."""
    qapp = worker_queue(flask_app, periodic=periodic)
    options.setdefault("install_signal_handlers", wait)
    options.setdefault("listen_notify", wait)

    async def work():
        async with qapp.open_async():
            await qapp.run_worker_async(queues=[QUEUE], wait=wait, concurrency=concurrency, **options)

    _run(work)


def _run(factory):
    """asyncio.run(factory()), in a thread of its own when this thread already runs an event loop
    (for example a caller that drives a browser through Playwright's sync API)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = asyncio.run(factory())
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="job-queue")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


async def _stalled_jobs(qapp: procrastinate.App, seconds_since_heartbeat: float):
    return list(await qapp.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds_since_heartbeat))


def retry_stalled_jobs(flask_app: Flask, seconds_since_heartbeat: float = 60) -> list[int]:
    """Jobs whose worker stopped sending heartbeats (killed mid-job): mark what they were syncing as
    failed and queue them again. Returns the job ids retried. The periodic `jobs.recover` task and
    `flask worker` at start-up call this."""
    qapp = worker_queue(flask_app, periodic=False)

    async def work():
        async with qapp.open_async():
            jobs = await _stalled_jobs(qapp, seconds_since_heartbeat)
            for job in jobs:
                await asyncio.to_thread(_mark_interrupted, flask_app, job.task_name, job.task_kwargs)
                await qapp.job_manager.retry_job_by_id_async(job.id, retry_at=_now())
            return [job.id for job in jobs]

    ids = _run(work)
    if ids:
        log.warning("retried %d job(s) left behind by a stopped worker: %s", len(ids), ids)
    return ids


def _mark_interrupted(flask_app: Flask, task_name: str, task_kwargs: dict) -> None:
    from ..integrations.services import mark_interrupted

    with flask_app.app_context():
        try:
            mark_interrupted(task_name, task_kwargs)
        finally:
            db.session.remove()


def _now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)
