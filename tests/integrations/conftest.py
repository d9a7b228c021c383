"""Fixtures: loopback fakes for GitHub / Notion / scrapers, the app pointed at them, a fixture repo."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db

from .fakes import FakeGithub, FakeNotion, FakeScrapers

MAX_FILE_BYTES = 64 * 1024
GITHUB_TOKEN = "ghp_testTOKEN0123456789abcdefSECRET"
NOTION_TOKEN = "secret_notionTOKEN0123456789SECRET"


def fixture_repo() -> dict[str, bytes]:
    """~200 files: nested folders of markdown, org, code and text; binaries; one file over the limit."""
    files: dict[str, bytes] = {}
    topics = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    for i in range(60):
        t = topics[i % 8]
        files[f"docs/{t}/note-{i:03d}.md"] = (
            f"# Note {i} about {t}\n\nThe {t} team wrote note number {i}. It covers item {i * 7}.\n"
        ).encode()
    for i in range(30):
        files[f"notes/journal/{2020 + i % 5}/day-{i:02d}.org"] = (
            f"* Journal day {i}\nWalked {i} km along the river {topics[i % 8]}.\n").encode()
    for i in range(50):
        files[f"src/pkg{i % 4}/module_{i:02d}.py"] = (
            f'"""Module {i}."""\n\n\ndef function_{i}(x):\n    return x * {i}  # multiply by {i}\n').encode()
    for i in range(30):
        files[f"data/deep/er/still/file-{i:02d}.txt"] = f"Plain text file {i}: the quick brown fox {i}.\n".encode()
    files["README.md"] = b"# Fixture repository\n\nUsed by the integration tests: the zebra keyword lives here.\n"
    for i in range(20):
        files[f"assets/img/picture-{i:02d}.png"] = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    for i in range(5):
        files[f"bin/tool-{i}"] = b"\x7fELF\x02\x01\x01\x00" + bytes(200)  # no extension, NUL bytes
    files["logs/huge.log"] = (b"a very long log line that repeats\n" * 3000)  # ~100 KB > limit
    return files


TEXT_FILES = 60 + 30 + 50 + 30 + 1  # 171; binaries 25 (20 by name, 5 by content); 1 large


@pytest.fixture
def fake_github():
    server = FakeGithub()
    server.tokens.add(GITHUB_TOKEN)
    yield server
    server.close()


@pytest.fixture
def fake_notion():
    server = FakeNotion()
    server.tokens.add(NOTION_TOKEN)
    yield server
    server.close()


@pytest.fixture
def fake_scrapers():
    server = FakeScrapers()
    yield server
    server.close()


@pytest.fixture
def wired(app, monkeypatch, fake_github, fake_notion):
    """The test app talks to the fakes; loopback is allowed (the guard's refusal is tested separately)."""
    monkeypatch.setitem(app.config, "GITHUB_API_URL", fake_github.url)
    monkeypatch.setitem(app.config, "NOTION_API_URL", fake_notion.url)
    monkeypatch.setitem(app.config, "GITHUB_MAX_FILE_BYTES", MAX_FILE_BYTES)
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_URLS", True)
    return app


@pytest.fixture(autouse=True)
def _empty_queue(request):
    """The queue's rows are written by procrastinate's own connections, outside the test transaction."""
    name = "app" if "app" in request.fixturenames else "live_app" if "live_app" in request.fixturenames else None
    if name is None:
        yield
        return
    app = request.getfixturevalue(name)
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM procrastinate_jobs"))
        conn.execute(sa.text("DELETE FROM procrastinate_workers"))
    yield
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM procrastinate_jobs"))
        conn.execute(sa.text("DELETE FROM procrastinate_workers"))
    engine.dispose()


def queued_jobs(app) -> list[dict]:
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT id, task_name, args::text AS args, status::text AS status, attempts FROM procrastinate_jobs "
            "ORDER BY id")).mappings().all()
    engine.dispose()
    return [dict(r) for r in rows]


def run_jobs(app) -> None:
    """One worker that runs what is queued now, then returns (the real procrastinate worker)."""
    from portal.jobs.queue import run_worker

    run_worker(app, wait=False, periodic=False)
    db.session.expire_all()


