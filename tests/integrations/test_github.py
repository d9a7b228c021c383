"""GitHub sync through the real queue and worker against a loopback GitHub: counts, re-embedding only
what changed, vanished files, faults (500, 401, rate limit), and tokens kept out of logs, jobs, pages."""
from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.integrations.github import blob_url
from portal.models import Entry, GithubRepoConfig
from tests.factories import make_user

from .conftest import GITHUB_TOKEN, TEXT_FILES, fixture_repo, queued_jobs, run_jobs

OWNER, NAME, BRANCH = "octo", "fixture", "main"


def _connect(client, fake_github, files=None):
    fake_github.repos[(OWNER, NAME, BRANCH)] = files if files is not None else fixture_repo()
    r = client.post("/integrations/github/token", data={"github-token": GITHUB_TOKEN})
    assert r.status_code == 302, r.get_data(as_text=True)
    r = client.post("/integrations/github/repos", data={"repo-owner": OWNER, "repo-name": NAME, "repo-branch": ""})
    assert r.status_code == 302, r.get_data(as_text=True)
    return db.session.scalar(sa.select(GithubRepoConfig).where(GithubRepoConfig.name == NAME)
                             .order_by(GithubRepoConfig.id.desc()))


def _sync(app, client, repo):
    r = client.post(f"/integrations/github/repos/{repo.id}/sync", data={})
    assert r.status_code == 302
    db.session.refresh(repo)
    assert repo.sync_status == "queued"
    run_jobs(app)
    db.session.refresh(repo)
    return repo


def _entries(user) -> dict[str, set[int]]:
    rows = db.session.execute(sa.select(Entry.file_path, Entry.id).where(Entry.user_id == user.id,
                                                                         Entry.file_source == "github")).all()
    out: dict[str, set[int]] = {}
    for path, entry_id in rows:
        out.setdefault(path, set()).add(entry_id)
    return out


def _url(path):
    return blob_url(OWNER, NAME, BRANCH, path)


def test_sync_indexes_exactly_the_text_files_then_re_embeds_only_changes(wired, fake_github, login_as, caplog):
    caplog.set_level(logging.DEBUG)
    user = make_user()
    client = login_as(user)
    files = fixture_repo()
    repo = _connect(client, fake_github, files)
    assert repo.branch == "main"  # the default

    r = client.post(f"/integrations/github/repos/{repo.id}/sync", data={})
    jobs = queued_jobs(wired)
    assert [j["task_name"] for j in jobs] == ["integrations.sync_github_repo"]
    assert json.loads(jobs[0]["args"]) == {"repo_id": repo.id}  # ids only: no token in the queue
    run_jobs(wired)
    db.session.refresh(repo)

    text_paths = {p for p, d in files.items()
                  if not p.startswith(("assets/", "bin/")) and p != "logs/huge.log"}
    assert len(text_paths) == TEXT_FILES
    entries = _entries(user)
    assert set(entries) == {_url(p) for p in text_paths}
    assert repo.sync_status == "done" and repo.sync_error is None
    assert repo.files_indexed == TEXT_FILES
    total_chunks = sum(len(ids) for ids in entries.values())
    assert repo.chunks_indexed == total_chunks and repo.chunks_embedded == total_chunks
    assert "25 binary file(s) skipped" in repo.sync_notes and "logs/huge.log" in repo.sync_notes
    assert repo.last_synced_at is not None
    first = entries
    md = db.session.scalar(sa.select(Entry).where(Entry.file_path == _url("README.md")))
    assert md.file_type == "markdown" and md.url == _url("README.md") and "zebra" in md.raw
    assert db.session.scalar(sa.select(Entry.file_type).where(
        Entry.file_path == _url("notes/journal/2020/day-00.org"))) == "org"
    assert db.session.scalar(sa.select(Entry.file_type).where(
        Entry.file_path == _url("src/pkg0/module_00.py"))) == "plaintext"

    # Change three files and delete one: only the three are re-embedded; the deleted one's entries go.
    changed = ["docs/alpha/note-000.md", "src/pkg1/module_01.py", "data/deep/er/still/file-05.txt"]
    for path in changed:
        files[path] = files[path] + b"\nA new closing line about kiwis.\n"
    del files["docs/bravo/note-001.md"]
    repo = _sync(wired, client, repo)
    second = _entries(user)
    assert repo.sync_status == "done"
    assert repo.files_indexed == TEXT_FILES - 1
    assert _url("docs/bravo/note-001.md") not in second
    assert repo.chunks_embedded == sum(len(second[_url(p)]) for p in changed) == 3
    for path, ids in second.items():
        if path in {_url(p) for p in changed}:
            assert not ids & first[path]
        else:
            assert ids == first[path]  # same rows: not re-embedded
    assert repo.chunks_indexed == sum(len(ids) for ids in second.values())

    page = client.get("/integrations").get_data(as_text=True)
    assert "octo/fixture" in page and "done" in page and f"{TEXT_FILES - 1} files" in page
    from portal.crypto import mask_secret
    assert GITHUB_TOKEN not in page and mask_secret(GITHUB_TOKEN) in page  # a masked hint only
    assert GITHUB_TOKEN not in caplog.text
    # Every request carried the token as GitHub expects, and blobs were asked for raw.
    blob_requests = [r for r in fake_github.requests if "/git/blobs/" in r["path"]]
    assert blob_requests and all(r["headers"]["Accept"] == "application/vnd.github.v3.raw" for r in blob_requests)
    assert all(r["headers"]["Authorization"] == f"token {GITHUB_TOKEN}" for r in fake_github.requests)


def test_a_500_mid_sync_retries_with_backoff_then_fails_clearly_and_the_next_sync_succeeds(
        wired, fake_github, login_as):
    user = make_user()
    client = login_as(user)
    repo = _connect(client, fake_github, {f"n/{i}.md": f"# N{i}\n\nbody {i}\n".encode() for i in range(10)})
    fake_github.fail_blobs_after = 4
    client.post(f"/integrations/github/repos/{repo.id}/sync", data={})
    run_jobs(wired)
    db.session.refresh(repo)
    assert repo.sync_status == "queued"  # first attempt failed; a retry is scheduled
    assert "GitHub answered 500" in repo.sync_error and "attempt 1 of 4" in repo.sync_error
    jobs = queued_jobs(wired)
    assert jobs[0]["status"] == "todo" and jobs[0]["attempts"] == 1
    # Whole files only: the four fetched before the error are complete, nothing else exists.
    assert len(_entries(user)) == 4 and repo.files_indexed == 4

    engine = sa.create_engine(wired.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
    scheduled = []
    for _ in range(3):  # the backoff waits 4, 8, 16 s: bring each retry forward instead of sleeping
        with engine.begin() as conn:
            scheduled.append(conn.execute(sa.text(
                "SELECT scheduled_at - now() > interval '1 second' FROM procrastinate_jobs "
                "WHERE task_name = 'integrations.sync_github_repo'")).scalar())
            conn.execute(sa.text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'"))
        run_jobs(wired)
    engine.dispose()
    assert scheduled == [True, True, True]  # each retry was scheduled in the future (backoff)
    db.session.refresh(repo)
    assert repo.sync_status == "failed"
    assert "Gave up after 4 attempt(s)" in repo.sync_error
    assert queued_jobs(wired)[0]["status"] == "failed"

    fake_github.fail_blobs_after = None
    repo = _sync(wired, client, repo)
    assert repo.sync_status == "done" and repo.sync_error is None and repo.files_indexed == 10


def test_revoked_token_fails_with_words_and_a_new_token_fixes_it(wired, fake_github, login_as, caplog):
    caplog.set_level(logging.DEBUG)
    user = make_user()
    client = login_as(user)
    repo = _connect(client, fake_github, {"a.md": b"# A\n\napples\n"})
    fake_github.tokens.clear()  # revoked on GitHub's side
    repo = _sync(wired, client, repo)
    assert repo.sync_status == "failed"
    assert "refused the access token (401)" in repo.sync_error and "Save a new token" in repo.sync_error
    assert queued_jobs(wired)[0]["status"] == "failed" and queued_jobs(wired)[0]["attempts"] == 1  # not retried
    page = client.get("/integrations").get_data(as_text=True)
    assert "refused the access token (401)" in page

    new_token = "ghp_rotatedTOKENabcdef0123456789"
    fake_github.tokens.add(new_token)
    client.post("/integrations/github/token", data={"github-token": new_token})
    repo = _sync(wired, client, repo)
    assert repo.sync_status == "done" and repo.files_indexed == 1
    assert GITHUB_TOKEN not in caplog.text and new_token not in caplog.text


def test_rate_limit_stops_the_sync_with_a_clear_status(wired, fake_github, login_as):
    user = make_user()
    client = login_as(user)
    repo = _connect(client, fake_github, {f"r/{i}.md": f"# R{i}\n\nrow {i}\n".encode() for i in range(8)})
    fake_github.rate_limit = 4  # the tree + 3 blobs, the last answer says X-RateLimit-Remaining: 0
    repo = _sync(wired, client, repo)
    assert repo.sync_status == "failed"
    assert "rate limit is used up" in repo.sync_error and "resets at" in repo.sync_error
    assert repo.files_indexed == 3
    assert len(fake_github.requests) == 4  # stopped at 0: no request after that
    assert queued_jobs(wired)[0]["attempts"] == 1  # not retried into the limit

    fake_github.rate_limit = None
    repo = _sync(wired, client, repo)
    assert repo.sync_status == "done" and repo.files_indexed == 8


def test_unknown_repo_and_validation(wired, fake_github, login_as):
    user = make_user()
    client = login_as(user)
    repo = _connect(client, fake_github, {"a.md": b"# A\n"})
    r = client.post("/integrations/github/repos", data={"repo-owner": "bad owner!", "repo-name": "x"})
    assert r.status_code == 422 and "Owner: letters, digits" in r.get_data(as_text=True)
    r = client.post("/integrations/github/repos", data={"repo-owner": OWNER, "repo-name": NAME})
    assert r.status_code == 422 and "already connected" in r.get_data(as_text=True)
    r = client.post("/integrations/github/repos", data={"repo-owner": OWNER, "repo-name": "gone",
                                                        "repo-branch": "feature/x"})
    gone = db.session.scalar(sa.select(GithubRepoConfig).where(GithubRepoConfig.name == "gone",
                                                               GithubRepoConfig.github_config_id == repo.github_config_id))
    assert gone.branch == "feature/x"
    gone = _sync(wired, client, gone)
    assert gone.sync_status == "failed" and "found no branch 'feature/x' of octo/gone (404)" in gone.sync_error


def test_other_users_repos_are_404_and_disconnect_deletes_token_and_optionally_entries(
        wired, fake_github, login_as):
    owner = make_user()
    client = login_as(owner)
    repo = _connect(client, fake_github, {"a.md": b"# A\n\napples\n", "b.md": b"# B\n\nbananas\n"})
    repo = _sync(wired, client, repo)
    assert len(_entries(owner)) == 2

    other = make_user()
    login_as(other)
    r = client.post(f"/integrations/github/repos/{repo.id}/sync", data={})
    assert r.status_code == 404, r.headers.get("Location")
    assert client.get(f"/integrations/github/repos/{repo.id}/remove").status_code == 404

    login_as(owner)
    page = client.get("/integrations/github/disconnect")
    assert page.status_code == 200 and "Also delete the indexed entries" in page.get_data(as_text=True)
    r = client.post("/integrations/github/disconnect", data={})  # keep the entries
    assert r.status_code == 302
    from portal.integrations.services import github_config
    assert github_config(owner) is None
    assert len(_entries(owner)) == 2

    repo = _connect(client, fake_github, {"a.md": b"# A\n\napples\n"})
    r = client.post("/integrations/github/disconnect", data={"delete_entries": "y"})
    assert r.status_code == 302 and _entries(owner) == {}
    raw = db.session.execute(sa.text("SELECT count(*) FROM github_config WHERE user_id = :u"), {"u": owner.id}).scalar()
    assert raw == 0


def test_pat_is_encrypted_at_rest(wired, fake_github, login_as):
    user = make_user()
    client = login_as(user)
    _connect(client, fake_github, {"a.md": b"# A\n"})
    raw = db.session.execute(sa.text("SELECT pat_token FROM github_config WHERE user_id = :u"), {"u": user.id}).scalar()
    assert GITHUB_TOKEN not in raw


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_token_keeps_the_stored_one(wired, fake_github, login_as, blank):
    user = make_user()
    client = login_as(user)
    _connect(client, fake_github, {"a.md": b"# A\n"})
    client.post("/integrations/github/token", data={"github-token": blank})
    from portal.integrations.services import github_config
    assert github_config(user).pat_token == GITHUB_TOKEN
