"""JSON API: /api/content/github, /api/content/notion, /api/content/sync, /api/content/sync/status,
/api/content/url — Bearer tokens, JSON errors, no secrets in answers."""
from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Entry, WebScraper
from tests.factories import make_token, make_user

from .conftest import GITHUB_TOKEN, NOTION_TOKEN, queued_jobs, run_jobs
from .fakes import block


def _auth(user):
    _, token = make_token(user)
    return {"Authorization": f"Bearer {token}"}


def test_github_settings_sync_and_status(wired, fake_github, client):
    fake_github.repos[("octo", "api", "main")] = {"a.md": b"# A\n\napples\n", "b.txt": b"bananas\n"}
    user = make_user()
    headers = _auth(user)
    assert client.get("/api/content/github", headers=headers).get_json() == {"token": None, "repos": []}
    assert client.get("/api/content/github").status_code == 401

    r = client.post("/api/content/github", headers=headers, json={"repos": [{"owner": "octo", "name": "api"}]})
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "token"
    r = client.post("/api/content/github", headers=headers, json={"token": GITHUB_TOKEN,
                                                                  "repos": [{"owner": "octo", "name": "api"}]})
    body = r.get_json()
    assert r.status_code == 200 and GITHUB_TOKEN not in r.get_data(as_text=True)
    assert [(x["owner"], x["name"], x["branch"], x["status"]) for x in body["repos"]] == [("octo", "api", "main", "never")]
    r = client.post("/api/content/github", headers=headers, json={"repos": [{"owner": "-bad", "name": "x"}]})
    assert r.status_code == 422 and "Owner" in r.get_json()["error"]
    assert client.post("/api/content/github", headers=headers, data="nope").status_code == 400

    r = client.post("/api/content/sync", headers=headers, json={"source": "github"})
    assert r.status_code == 202 and r.get_json()["queued"]["github"] == [body["repos"][0]["id"]]
    assert r.get_json()["status"]["github"]["repos"][0]["status"] == "queued"
    assert GITHUB_TOKEN not in str(queued_jobs(wired))
    run_jobs(wired)
    status = client.get("/api/content/sync/status", headers=headers).get_json()
    repo = status["github"]["repos"][0]
    assert repo["status"] == "done" and repo["files_indexed"] == 2 and repo["error"] is None
    assert GITHUB_TOKEN not in str(status)

    other = _auth(make_user())
    r = client.post("/api/content/sync", headers=other, json={"repo_id": repo["id"]})
    assert r.status_code == 404
    r = client.post("/api/content/sync", headers=other, json={})
    assert r.status_code == 409 and "Nothing to sync" in r.get_json()["error"]
    r = client.post("/api/content/sync", headers=other, json={"source": "everything"})
    assert r.status_code == 422

    # Replacing the repo list removes the old repo (its entries stay until deleted).
    r = client.post("/api/content/github", headers=headers, json={"repos": []})
    assert r.get_json()["repos"] == []
    assert db.session.scalar(sa.select(sa.func.count(Entry.id)).where(Entry.user_id == user.id)) == 2


def test_notion_settings_and_sync(wired, fake_notion, client):
    fake_notion.pages = {"p1": {"title": "Api page", "blocks": [block("b1", "Notion via the API")]}}
    user = make_user()
    headers = _auth(user)
    r = client.post("/api/content/notion", headers=headers, json={"token": NOTION_TOKEN})
    assert r.status_code == 200 and r.get_json()["status"] == "never" and NOTION_TOKEN not in r.get_data(as_text=True)
    assert client.post("/api/content/notion", headers=headers, json={}).status_code == 422
    r = client.post("/api/content/sync", headers=headers, json={"source": "notion"})
    assert r.status_code == 202
    run_jobs(wired)
    notion = client.get("/api/content/notion", headers=headers).get_json()
    assert notion["status"] == "done" and notion["files_indexed"] == 1


def test_url_import(wired, fake_scrapers, client):
    db.session.execute(sa.delete(WebScraper))
    db.session.add(WebScraper(name="Direct", type="Direct", priority=1))
    db.session.flush()
    headers = _auth(make_user())
    url = f"{fake_scrapers.url}/pages/article.html"
    r = client.post("/api/content/url", headers=headers, json={"url": url})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["title"] == "Loopback article" and r.get_json()["scraper"] == "Direct"
    r = client.post("/api/content/url", headers=headers, json={"url": "javascript:alert(1)"})
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "url"
