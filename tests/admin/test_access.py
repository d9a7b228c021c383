"""Every /admin URL: anonymous → sign-in, plain user → 403, staff → a page (and no stored secret in it)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.admin.helpers import sign_in

from portal.extensions import db
from portal.models import (
    Conversation, Entry, GithubConfig, GithubRepoConfig, NotionConfig, ProcessLock, SearchModelConfig,
    ServerChatSettings,
)
from tests.factories import (
    make_admin, make_agent, make_ai_model_api, make_chat_model, make_token, make_user, make_voice_model,
    make_web_scraper,
)

SECRETS = {
    "api": "sk-admin-api-SECRET-0001",
    "scraper": "fc-scraper-SECRET-0002",
    "notion": "secret_notion-SECRET-0003",
    "github": "ghp_github-SECRET-0004",
    "embed": "hf-embed-SECRET-0005",
    "cross": "hf-cross-SECRET-0006",
}


class Ident:
    """What tests.conftest.login needs of a user, usable after its session closed."""

    def __init__(self, session_id: str):
        self.session_id = session_id

    def get_id(self) -> str:
        return self.session_id


def seed_everything():
    """One row of every model the admin manages, carrying known secrets."""
    owner = make_user(email="owner@example.com")
    api = make_ai_model_api(name="Secret provider", api_key=SECRETS["api"])
    model = make_chat_model(name="admin-model", ai_model_api=api)
    make_voice_model()
    scraper = make_web_scraper(type="Firecrawl", name="Firecrawl main", api_key=SECRETS["scraper"])
    db.session.add(ServerChatSettings(chat_default=model, web_scraper=scraper, priority=1))
    db.session.add(NotionConfig(user=owner, token=SECRETS["notion"]))
    gh = GithubConfig(user=owner, pat_token=SECRETS["github"])
    gh.repos.append(GithubRepoConfig(owner="khoj-ai", name="khoj", branch="master"))
    db.session.add(gh)
    db.session.add(SearchModelConfig(name="secret-search", embeddings_inference_endpoint_api_key=SECRETS["embed"],
                                     cross_encoder_inference_endpoint_api_key=SECRETS["cross"]))
    db.session.add(ProcessLock(name="index_content", started_at=datetime.now(timezone.utc) - timedelta(days=2),
                               max_duration_in_seconds=60))
    agent = make_agent(creator=owner, chat_model=model)
    db.session.add(Entry(user_id=owner.id, embeddings=[0.0] * 384, raw="raw", compiled="compiled text",
                         file_path="/notes/a.md", hashed_value="0" * 32))
    db.session.add(Conversation(user=owner, agent=agent, title="A chat",
                                conversation_log={"chat": [{"by": "you", "message": "hi"}]}))
    make_token(owner)
    db.session.commit()
    return owner


def admin_urls(app):
    """Every GET-able /admin URL of the app, with <id> filled from a real row of that model."""
    from portal.admin.listing import registry

    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or "GET" not in rule.methods:
            continue  # other areas' /admin pages are tested by their owners
        assert rule.rule.startswith("/admin")
        args = {}
        endpoint = rule.endpoint
        for arg in rule.arguments:
            if arg == "id":
                slug = endpoint.split(".", 1)[1].rsplit("_", 1)[0]
                admin = registry.get(slug) or (registry["users"] if endpoint == "admin.user_detail" else None)
                if admin is None:
                    break
                row = db.session.execute(db.select(admin.model.id).limit(1)).scalar()
                if row is None:
                    break
                args["id"] = row
            elif arg == "object_type":
                args["object_type"] = "khoj_user"
            elif arg == "object_id":
                args["object_id"] = "1"
            else:
                break
        else:
            with app.test_request_context():
                from flask import url_for

                urls.append(url_for(endpoint, **args))
    return urls


def test_crawl_every_admin_url(app):
    """No app context is held around requests: Flask-Login caches the user on the app context's g."""
    from tests.conftest import login

    with app.app_context():
        seed_everything()
        urls = admin_urls(app)
        plain, admin = make_user(), make_admin()
        db.session.commit()
        plain, admin = Ident(plain.get_id()), Ident(admin.get_id())
    assert len(urls) > 30
    anonymous = app.test_client()
    for url in urls:
        with anonymous.get(url) as response:
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/login?next="), url
    client = app.test_client()
    login(client, plain)
    for url in urls:
        with client.get(url) as response:
            assert response.status_code == 403, (url, response.headers.get("Location"))
    client = app.test_client()
    sign_in(client, admin)
    for url in urls:
        with client.get(url) as response:
            assert response.status_code == 200, url
            body = response.get_data(as_text=True)
            for secret in SECRETS.values():
                assert secret not in body, (url, secret)
                assert secret[-8:] not in body, (url, secret)


def test_staff_who_is_not_superuser_cannot_see_conversations(app, login_as):
    with app.app_context():
        staff = make_admin(is_superuser=False)
        db.session.commit()
        staff = Ident(staff.get_id())
    client = login_as(staff)
    with client.get("/admin/conversations/") as response:
        assert response.status_code == 403
    with client.get("/admin/conversations/export.csv") as response:
        assert response.status_code == 403
    with client.get("/admin/users/") as response:
        assert response.status_code == 200
        assert "/admin/conversations/" not in response.get_data(as_text=True)
