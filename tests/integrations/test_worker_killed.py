"""A `flask worker` process killed with SIGKILL mid-sync: whole files only, a clear failed status after
recovery, and the job runs again. Runs on the live database (real commits: a separate process must
see the rows), so it does not use the rolled-back `app` fixture."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.integrations import services
from portal.integrations.github import blob_url
from portal.jobs.queue import retry_stalled_jobs
from portal.models import Entry, FileObject, GithubRepoConfig
from tests.conftest import TEST_ENCRYPTION_KEY, TEST_SECRET_KEY
from tests.factories import make_user

from .conftest import GITHUB_TOKEN, queued_jobs, run_jobs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def live_wired(live_app, monkeypatch, fake_github):
    monkeypatch.setitem(live_app.config, "GITHUB_API_URL", fake_github.url)
    return live_app


def test_worker_killed_mid_sync_leaves_whole_files_and_the_job_runs_again(live_wired, fake_github, tmp_path):
    app = live_wired
    files = {f"k/file-{i:02d}.md": f"# File {i}\n\nKill test body {i} about lanterns.\n".encode() for i in range(30)}
    fake_github.repos[("octo", "killed", "main")] = files
    with app.test_request_context():
        user = make_user(email=f"killed-{time.time_ns()}@example.com")
        services.save_github_token(user, GITHUB_TOKEN)
        repo = services.add_repo(user, "octo", "killed")
        db.session.commit()
        repo_id, user_id = repo.id, user.id
        services.queue_github_sync(user, repo)
    fake_github.blob_delay = 0.2

    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY=TEST_SECRET_KEY,
               PORTAL_ENCRYPTION_KEY=TEST_ENCRYPTION_KEY, PORTAL_AUTO_MIGRATE="0", GITHUB_API_URL=fake_github.url,
               PORTAL_ENV="development", LOG_LEVEL="INFO")
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT, env=env,
                                   stdout=log_file, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while fake_github.blobs_served < 8 and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.1)
            assert fake_github.blobs_served >= 8, "the worker did not start syncing:\n" + log_path.read_text()
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    output = log_path.read_text()
    assert "GitHub sync of octo/killed@main started" in output
    assert GITHUB_TOKEN not in output

    with app.app_context():
        repo = db.session.get(GithubRepoConfig, repo_id)
        assert repo.sync_status == "running"
        assert [j["status"] for j in queued_jobs(app) if j["task_name"] == services.GITHUB_TASK] == ["doing"]
        # Whole files only: every file with a text record has its entry and its full text, no more.
        indexed = db.session.execute(sa.select(FileObject.file_name, FileObject.raw_text)
                                     .where(FileObject.user_id == user_id)).all()
        assert 0 < len(indexed) < 30
        entry_paths = set(db.session.scalars(sa.select(Entry.file_path).where(Entry.user_id == user_id)))
        assert entry_paths == {name for name, _ in indexed}
        by_url = {blob_url("octo", "killed", "main", p): data.decode() for p, data in files.items()}
        assert all(raw == by_url[name] for name, raw in indexed)

        # Recovery (the periodic jobs.recover task, or `flask worker` at start-up): status in words,
        # the job queued again.
        assert len(retry_stalled_jobs(app, seconds_since_heartbeat=0)) == 1
        db.session.expire_all()
        repo = db.session.get(GithubRepoConfig, repo_id)
        assert repo.sync_status == "failed" and "interrupted" in repo.sync_error

        fake_github.blob_delay = 0
        run_jobs(app)
        repo = db.session.get(GithubRepoConfig, repo_id)
        assert repo.sync_status == "done" and repo.files_indexed == 30 and repo.sync_error is None
