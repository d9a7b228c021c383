"""Notion sync (search pagination, recursive blocks, databases skipped), web page import through the
scrapers in priority order, and the SSRF guard."""
from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.integrations import urlguard
from portal.models import Entry, NotionConfig, WebScraper
from tests.factories import make_user

from .conftest import NOTION_TOKEN, queued_jobs, run_jobs
from .fakes import block


def _notion_entries(user):
    """path -> every chunk's compiled text (which carries the title), joined."""
    out: dict[str, str] = {}
    for path, compiled in db.session.execute(
            sa.select(Entry.file_path, Entry.compiled).where(Entry.user_id == user.id, Entry.file_source == "notion")):
        out[path] = out.get(path, "") + "\n" + compiled
    return out


def test_notion_sync_reads_pages_recursively_and_lists_databases_as_skipped(wired, fake_notion, login_as, caplog):
    caplog.set_level(logging.DEBUG)
    fake_notion.pages = {
        "p1": {"title": "Garden plan", "blocks": [
            block("b1", "Beds", "heading_1"),
            block("b2", "Tomatoes in the south bed", "bulleted_list_item",
                  children=[block("b3", "Water every morning", "bulleted_list_item",
                                  children=[block("b4", "Deeply nested note about mulch")])]),
            block("b5", "Carrots"), block("b6", "Beans"), block("b7", "Peas on the fence"),
        ]},
        "p2": {"title": "Reading list", "blocks": [block("c1", "Dune by Frank Herbert")]},
        "p3": {"title": "Empty page", "blocks": []},
    }
    fake_notion.databases = {"d1": "Task tracker"}
    user = make_user()
    client = login_as(user)
    r = client.post("/integrations/notion/token", data={"notion-token": NOTION_TOKEN})
    assert r.status_code == 302
    r = client.post("/integrations/notion/sync", data={})
    jobs = queued_jobs(wired)
    config = db.session.scalar(sa.select(NotionConfig).where(NotionConfig.user_id == user.id))
    assert json.loads(jobs[0]["args"]) == {"config_id": config.id}
    run_jobs(wired)
    db.session.refresh(config)

    entries = _notion_entries(user)
    assert config.sync_status == "done", config.sync_error
    # The empty page has nothing to search (a title alone makes no chunk).
    assert config.files_indexed == 2 and set(entries) == {
        "https://www.notion.so/Page-p1", "https://www.notion.so/Page-p2"}
    garden = entries["https://www.notion.so/Page-p1"]
    assert "Garden plan" in garden and "Deeply nested note about mulch" in garden and "Peas on the fence" in garden
    assert "Databases skipped: Task tracker." in config.sync_notes
    # Pagination: two results per answer, so search and the five top blocks took several requests.
    searches = [r for r in fake_notion.requests if r["path"] == "/v1/search"]
    assert len(searches) == 2 and json.loads(searches[1]["body"])["start_cursor"] == "2"
    assert all(r["headers"]["Notion-Version"] == "2022-06-28" for r in fake_notion.requests)
    assert NOTION_TOKEN not in caplog.text

    # A page removed from the integration disappears from search on the next sync.
    del fake_notion.pages["p2"]
    client.post("/integrations/notion/sync", data={})
    run_jobs(wired)
    db.session.refresh(config)
    assert config.files_indexed == 1 and "https://www.notion.so/Page-p2" not in _notion_entries(user)


def test_notion_revoked_token_then_disconnect_with_entries(wired, fake_notion, login_as):
    fake_notion.pages = {"p1": {"title": "Plan", "blocks": [block("b1", "Something")]}}
    user = make_user()
    client = login_as(user)
    client.post("/integrations/notion/token", data={"notion-token": NOTION_TOKEN})
    client.post("/integrations/notion/sync", data={})
    run_jobs(wired)
    assert len(_notion_entries(user)) == 1

    fake_notion.tokens.clear()
    client.post("/integrations/notion/sync", data={})
    run_jobs(wired)
    config = db.session.scalar(sa.select(NotionConfig).where(NotionConfig.user_id == user.id))
    assert config.sync_status == "failed" and "refused the integration token (401)" in config.sync_error
    assert len(_notion_entries(user)) == 1  # nothing removed by a failed sync

    r = client.post("/integrations/notion/disconnect", data={"delete_entries": "y"})
    assert r.status_code == 302
    assert db.session.scalar(sa.select(NotionConfig).where(NotionConfig.user_id == user.id)) is None
    assert _notion_entries(user) == {}


@pytest.fixture
def scrapers(wired, monkeypatch, fake_scrapers):
    """The four API scrapers at priorities 1-4 (keys in the rows), Direct last."""
    base = fake_scrapers.url
    rows = [
        WebScraper(name="Firecrawl", type="Firecrawl", api_key="fc-key", api_url=f"{base}/firecrawl", priority=1),
        WebScraper(name="Olostep", type="Olostep", api_key="ol-key", api_url=f"{base}/olostep", priority=2),
        WebScraper(name="Exa", type="Exa", api_key="exa-key", api_url=f"{base}/exa", priority=3),
        WebScraper(name="Jina", type="Jina", api_url=f"{base}/jina", priority=4),
        WebScraper(name="Direct", type="Direct", priority=5),
    ]
    db.session.execute(sa.delete(WebScraper))
    db.session.add_all(rows)
    db.session.flush()
    return fake_scrapers


def _import(client, url):
    return client.post("/integrations/url", data={"url-url": url})


def test_url_import_uses_scrapers_in_priority_order(scrapers, login_as):
    user = make_user()
    client = login_as(user)
    page_url = "https://example.org/article"
    r = _import(client, page_url)
    assert r.status_code == 302
    entry = db.session.scalar(sa.select(Entry).where(Entry.user_id == user.id, Entry.file_path == page_url))
    assert entry.url == page_url and entry.file_source == "web" and "Firecrawled" in entry.raw
    call = [r for r in scrapers.requests if r["path"] == "/firecrawl/v2/scrape"][0]
    assert json.loads(call["body"]) == {"url": page_url, "formats": ["markdown"]}

    expectations = [("firecrawl", "Olostep content of"), ("olostep", "Exa text of"), ("exa", "Jina markdown of")]
    for down, expected in expectations:
        scrapers.down.add(down)
        other = f"https://example.org/{down}"
        assert _import(client, other).status_code == 302
        raw = db.session.scalar(sa.select(Entry.raw).where(Entry.user_id == user.id, Entry.file_path == other))
        assert expected in raw
    exa_call = [r for r in scrapers.requests if r["path"] == "/exa/contents"][0]
    assert exa_call["headers"]["X-Api-Key"] == "exa-key"
    assert json.loads(exa_call["body"]) == {"urls": ["https://example.org/olostep"], "text": True}

    # Everything but Direct down: Direct fetches the page itself (loopback allowed in this test).
    scrapers.down.add("jina")
    direct = f"{scrapers.url}/pages/article.html"
    assert _import(client, direct).status_code == 302
    raw = db.session.scalar(sa.select(Entry.raw).where(Entry.user_id == user.id, Entry.file_path == direct))
    assert "Tomatoes like sun & water." in raw and "x()" not in raw and "p{}" not in raw


def test_url_import_errors_are_shown_next_to_the_field(scrapers, login_as):
    client = login_as(make_user())
    r = _import(client, "ftp://example.org/file")
    assert r.status_code == 422 and "full http:// or https:// address" in r.get_data(as_text=True)
    scrapers.down.update({"firecrawl", "olostep", "exa", "jina"})
    r = _import(client, f"{scrapers.url}/pages/missing.html")
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "No web scraper returned content" in body and "Firecrawl: Firecrawl answered 500" in body


def test_ssrf_guard_refuses_private_addresses(app, monkeypatch, scrapers, login_as):
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_URLS", False)
    with app.test_request_context():
        for url in ["http://127.0.0.1:5000/", "http://localhost/", "http://10.1.2.3/", "http://192.168.0.1/",
                    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://0.0.0.0/",
                    "http://[::ffff:127.0.0.1]/", "file:///etc/passwd", "http://user:pw@example.org/"]:
            with pytest.raises(urlguard.UnsafeUrl):
                urlguard.check_url(url)
        assert urlguard.check_url("http://127.0.0.1/", allow_private=True)

    # Through the product: only Direct configured; a loopback page is refused in words.
    db.session.execute(sa.delete(WebScraper))
    db.session.add(WebScraper(name="Direct", type="Direct", priority=1))
    db.session.flush()
    client = login_as(make_user())
    before = len(scrapers.requests)
    r = _import(client, f"{scrapers.url}/pages/article.html")
    assert r.status_code == 422 and "private, loopback or link-local" in r.get_data(as_text=True)
    assert len(scrapers.requests) == before  # never fetched

    # An admin-entered scraper API URL on loopback is refused too.
    db.session.execute(sa.delete(WebScraper))
    db.session.add(WebScraper(name="Jina", type="Jina", api_url=f"{scrapers.url}/jina", priority=1))
    db.session.flush()
    r = _import(client, "https://example.org/a")
    assert r.status_code == 422 and "Jina: 127.0.0.1 resolves to a private" in r.get_data(as_text=True)
