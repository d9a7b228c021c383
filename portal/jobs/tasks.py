"""The queue's tasks. Arguments are ids only; tokens are loaded from the database inside the job.

Retries: a transient failure (the remote API answering 5xx, a network error) raises TransientSyncError
and procrastinate retries the job with exponential backoff (4 s, 8 s, 16 s; 4 attempts in all).
Permanent failures (revoked token, missing repository, rate limit) end the job with a failed status
the user can read; the next "Sync now" or the periodic re-index tries again.
"""
from __future__ import annotations

import procrastinate

from ..integrations.errors import TransientSyncError
from .queue import task

MAX_ATTEMPTS = 4
# procrastinate's max_attempts counts retries after the first run, and job.attempts is the number of
# runs before the current one.
RETRY = procrastinate.RetryStrategy(max_attempts=MAX_ATTEMPTS - 1, exponential_wait=2,
                                    retry_exceptions={TransientSyncError})


@task("integrations.sync_github_repo", retry=RETRY, pass_context=True)
def sync_github_repo(context, repo_id: int) -> None:
    from ..integrations.services import run_github_sync

    run_github_sync(repo_id, attempt=context.job.attempts + 1, max_attempts=MAX_ATTEMPTS)


@task("integrations.sync_notion", retry=RETRY, pass_context=True)
def sync_notion(context, config_id: int) -> None:
    from ..integrations.services import run_notion_sync

    run_notion_sync(config_id, attempt=context.job.attempts + 1, max_attempts=MAX_ATTEMPTS)


@task("integrations.reindex_all", cron="17 */6 * * *")
def reindex_all(timestamp: int) -> None:
    """Every six hours: re-sync every user's GitHub repos and Notion (guarded by ProcessLock)."""
    from ..integrations.services import reindex_all_sources

    reindex_all_sources()


@task("jobs.recover", cron="* * * * *")
def recover(timestamp: int) -> None:
    """Every minute: jobs left 'doing' by a worker that stopped heartbeating are queued again."""
    from flask import current_app

    from .queue import retry_stalled_jobs

    retry_stalled_jobs(current_app._get_current_object())
