"""Workers: the periodic re-index runs in one process only (ProcessLock), and a worker killed with
SIGKILL mid-sync leaves whole files only, a clear failed status, and a job that runs again."""
from __future__ import annotations

import threading

import sqlalchemy as sa

from portal.core import locks
from portal.extensions import db
from portal.integrations.services import reindex_all_sources
from portal.jobs.queue import worker_queue
from portal.models import GithubRepoConfig, ProcessLock
from tests.factories import make_user

from .conftest import GITHUB_TOKEN


def _connect(client, fake_github, name, files):
    fake_github.repos[("octo", name, "main")] = files
    client.post("/integrations/github/token", data={"github-token": GITHUB_TOKEN})
    client.post("/integrations/github/repos", data={"repo-owner": "octo", "repo-name": name})
    return db.session.scalar(sa.select(GithubRepoConfig).where(GithubRepoConfig.name == name)
                             .order_by(GithubRepoConfig.id.desc()))


def _no_index_lock():
    db.session.execute(sa.delete(ProcessLock).where(ProcessLock.name == "index_content"))
    db.session.commit()


def test_periodic_tasks_are_registered(app):
    qapp = worker_queue(app)
    assert {"integrations.reindex_all", "jobs.recover"} <= {t.periodic_id for t in qapp.periodic_registry.periodic_tasks.values()}


def test_two_workers_reindex_at_once_only_one_indexes(wired, fake_github, login_as):
    _no_index_lock()
    user = make_user()
    client = login_as(user)
    repo = _connect(client, fake_github, "locked", {"a.md": b"# A\n\napples\n"})
    # Other tests' repos exist in this database too; this test only looks at its own.
    fake_github.hold_tree = threading.Event()
    results = {}

    def worker(label):
        with wired.app_context():
            try:
                results[label] = reindex_all_sources()
            finally:
                db.session.remove()

    first = threading.Thread(target=worker, args=("first",))
    first.start()
    assert fake_github.tree_requests.wait(30)  # the first worker holds the lock and is mid-sync
    second = threading.Thread(target=worker, args=("second",))
    second.start()
    second.join(30)
    assert results["second"] is None  # refused: index_content is held
    fake_github.hold_tree.set()
    first.join(60)
    assert results["first"] is not None and results["first"]["github"] >= 1
    trees = [r for r in fake_github.requests if r["path"] == "/repos/octo/locked/git/trees/main"]
    assert len(trees) == 1  # only one worker indexed
    db.session.expire_all()
    assert db.session.get(GithubRepoConfig, repo.id).sync_status == "done"
    assert db.session.scalar(sa.select(ProcessLock).where(ProcessLock.name == "index_content")) is None

    # A lock left by a crashed process counts as free once it is older than its max duration.
    assert locks.acquire("index_content", max_duration=1)
    db.session.execute(sa.update(ProcessLock).where(ProcessLock.name == "index_content")
                       .values(started_at=sa.func.now() - sa.text("interval '1 minute'")))
    db.session.commit()
    assert reindex_all_sources() is not None
    _no_index_lock()
