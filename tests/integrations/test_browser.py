"""In Chromium: connect GitHub (loopback fake), add repos, sync, watch the status change without a
reload, then find a synced file in search. Screenshots of every integrations page."""
from __future__ import annotations

import threading
import uuid

import pytest

from portal.extensions import db
from tests.conftest import browser_sign_in, keep_screenshot
from tests.factories import make_user

from .conftest import GITHUB_TOKEN, run_jobs


def shot(page, name):
    keep_screenshot(page, f"integrations-{name}")


def _worker(app, started: threading.Event):
    started.wait(30)
    with app.app_context():
        run_jobs(app)


@pytest.mark.browser
def test_connect_github_sync_watch_status_then_search(page, live_app, fake_github, monkeypatch):
    monkeypatch.setitem(live_app.config, "GITHUB_API_URL", fake_github.url)
    repo_name = f"notes-{uuid.uuid4().hex[:6]}"
    fake_github.repos[("octo", repo_name, "main")] = {
        "geology/volcano-notes.md": b"# Volcanoes\n\nMagma rises through the crust and erupts as lava and ash.\n",
        "cooking/bread.md": b"# Bread\n\nFeed the starter and let the dough rise overnight.\n",
        "images/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00",
    }
    fake_github.blob_delay = 0.5  # slow enough to see "running"
    email = f"integrations-{uuid.uuid4().hex[:8]}@example.com"
    with live_app.app_context():
        make_user(email)
        db.session.commit()

    browser_sign_in(page, email)
    page.goto("/integrations")
    assert page.get_by_role("heading", name="GitHub").is_visible()
    shot(page, "empty")

    page.fill("#github-token", GITHUB_TOKEN)
    page.get_by_role("button", name="Connect GitHub").click()
    page.wait_for_selector("text=GitHub connected")
    assert GITHUB_TOKEN not in page.content()

    page.fill("#repo-owner", "octo")
    page.fill("#repo-name", "bad name!")
    page.get_by_role("button", name="Add repository").click()
    assert "Repository: letters, digits" in page.inner_text("main")
    shot(page, "repo-error")
    page.fill("#repo-name", repo_name)
    page.get_by_role("button", name="Add repository").click()
    page.wait_for_selector(f"text=Added octo/{repo_name}")
    page.fill("#repo-owner", "octo")
    page.fill("#repo-name", "missing-repo")
    page.get_by_role("button", name="Add repository").click()
    page.wait_for_selector("text=Added octo/missing-repo")
    shot(page, "connected")

    started = threading.Event()
    worker = threading.Thread(target=_worker, args=(live_app, started), daemon=True)
    worker.start()
    page.locator(f'[data-repo="octo/{repo_name}"]').get_by_role("button", name="Sync now").click()
    page.wait_for_selector("text=Sync queued")
    status = page.locator(f'[data-repo="octo/{repo_name}"] [data-field="status"]')
    assert status.inner_text() == "queued"
    page.locator('[data-repo="octo/missing-repo"]').get_by_role("button", name="Sync now").click()
    page.wait_for_selector("text=Sync queued")
    shot(page, "queued")
    started.set()
    # The page polls the status: no reload from here on.
    page.wait_for_function(
        "s => document.querySelector(s).textContent === 'done'",
        arg=f'[data-repo="octo/{repo_name}"] [data-field="status"]', timeout=60_000)
    worker.join(60)
    page.wait_for_function(
        "s => document.querySelector(s).textContent === 'failed'",
        arg='[data-repo="octo/missing-repo"] [data-field="status"]', timeout=30_000)
    block = page.locator(f'[data-repo="octo/{repo_name}"]')
    assert "2 files" in block.inner_text() and "1 binary file(s) skipped" in block.inner_text()
    assert "GitHub found no branch 'main' of octo/missing-repo (404)" in page.inner_text('[data-repo="octo/missing-repo"]')
    shot(page, "synced")

    page.goto("/search?q=how+does+lava+come+out+of+a+mountain")
    page.wait_for_selector(".search-result")
    assert page.locator(".search-result .result-file").first.inner_text() == (
        f"https://github.com/octo/{repo_name}/blob/main/geology/volcano-notes.md")  # the entry is the GitHub page
    shot(page, "search")

    page.goto("/integrations")
    page.get_by_role("link", name="Disconnect").first.click()
    assert page.inner_text("h1") == "Disconnect GitHub?"
    shot(page, "disconnect-confirm")
    page.check("#delete_entries")
    page.get_by_role("button", name="Disconnect").click()
    page.wait_for_selector("text=GitHub disconnected")
    page.goto("/search?q=how+does+lava+come+out+of+a+mountain")
    assert "volcano-notes.md" not in page.content()
