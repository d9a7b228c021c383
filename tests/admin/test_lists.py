"""The shared list machinery, through real pages: search, filters, sorting, CSV, bulk actions, forms, audit."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from portal.admin.listing import csv_cell
from portal.admin.users import state_clause
from portal.extensions import db
from portal.models import AiModelApi, AuditLog, Entry, KhojUser, ServerChatSettings, Subscription, WebScraper
from portal.subscriptions.state import subscription_state
from tests.admin.helpers import sign_in
from tests.factories import (
    make_admin, make_agent, make_ai_model_api, make_chat_model, make_subscription, make_user,
)


@pytest.fixture
def admin_client(client, app_context):
    admin = make_admin(email="boss@example.com")
    db.session.commit()
    sign_in(client, admin)
    client.admin = admin
    return client


def text(response):
    with response:
        return response.status_code, response.get_data(as_text=True)


def audit_rows(action):
    return list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


# --------------------------------------------------------------------------- list pages


def test_users_search_filter_sort_and_page_size(admin_client):
    make_user(email="alice@example.com", verified_email=True)
    make_user(email="bob@example.com", phone_number="+4915112345678")
    old = make_user(email="old@example.com")
    old.date_joined = datetime.now(timezone.utc) - timedelta(days=60)
    db.session.commit()
    status, body = text(admin_client.get("/admin/users/?q=ALICE"))
    assert status == 200 and "alice@example.com" in body and "bob@example.com" not in body
    _, body = text(admin_client.get("/admin/users/?q=%2B491511"))
    assert "bob@example.com" in body and "alice@example.com" not in body
    _, body = text(admin_client.get(f"/admin/users/?q={old.uuid}"))
    assert "old@example.com" in body and "alice@example.com" not in body
    _, body = text(admin_client.get("/admin/users/?f_verified=yes"))
    assert "alice@example.com" in body and "bob@example.com" not in body
    _, body = text(admin_client.get("/admin/users/?f_joined=30"))
    assert "alice@example.com" in body and "old@example.com" not in body
    _, body = text(admin_client.get("/admin/users/?sort=email&per_page=25"))
    assert body.index("alice@example.com") < body.index("bob@example.com") < body.index("old@example.com")
    _, body = text(admin_client.get("/admin/users/?sort=-email"))
    assert body.index("old@example.com") < body.index("bob@example.com")
    # A percent sign is searched literally, not as a wildcard.
    _, body = text(admin_client.get("/admin/users/?q=%25"))
    assert "alice@example.com" not in body


def test_pagination_keeps_filters(admin_client):
    for i in range(30):
        make_user(email=f"page{i:02d}@example.com")
    db.session.commit()
    _, body = text(admin_client.get("/admin/users/?q=page&per_page=25&sort=email"))
    assert "page24@example.com" in body and "page25@example.com" not in body
    assert "page=2" in body
    _, body = text(admin_client.get("/admin/users/?q=page&per_page=25&sort=email&page=2"))
    assert "page25@example.com" in body and "page24@example.com" not in body


def test_subscription_state_filter_agrees_with_the_python_rule(admin_client):
    now = datetime.now(timezone.utc)
    cases = [
        dict(type="trial", renewal_date=None, is_recurring=False),
        dict(type="trial", renewal_date=now - timedelta(days=1), is_recurring=False),
        dict(type="standard", renewal_date=now + timedelta(days=3), is_recurring=True),
        dict(type="standard", renewal_date=now + timedelta(days=3), is_recurring=False),
        dict(type="standard", renewal_date=None, is_recurring=False),
        dict(type="standard", renewal_date=None, is_recurring=True),
        dict(type="standard", renewal_date=now - timedelta(days=3), is_recurring=True),
    ]
    subs = [make_subscription(make_user(), **case) for case in cases]
    db.session.commit()
    for sub in subs:
        expected = subscription_state(sub, now)
        for state in ("trial", "subscribed", "unsubscribed", "expired"):
            hit = db.session.execute(
                sa.select(Subscription.id).where(Subscription.id == sub.id, state_clause(state, now))).first()
            assert (hit is not None) == (state == expected), (sub.type, sub.renewal_date, state, expected)
    _, body = text(admin_client.get("/admin/subscriptions/?f_state=subscribed"))
    assert subs[2].user.email in body and subs[3].user.email not in body
    # The dashboard's one-pass counts agree with the filters.
    _, body = text(admin_client.get("/admin/"))
    expected = {s: db.session.execute(sa.select(sa.func.count()).select_from(Subscription)
                                      .where(state_clause(s))).scalar() for s in ("trial", "subscribed")}
    for state, count in expected.items():
        assert f"f_state={state}\">{state.capitalize()}</a></td><td class=\"text-end\">{count}</td>" in body


def test_list_queries_do_not_grow_with_rows(admin_client, app):
    """Count SQL statements per list page for 5 and for 50 rows of every model."""
    from portal.admin.listing import registry

    def seed(n):
        for i in range(n):
            seed_everything_light(i)
        db.session.commit()

    def statements(url):
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            status, _ = text(admin_client.get(url))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        assert status == 200, url
        return len(seen)

    seed(5)
    few = {slug: statements(f"/admin/{slug}/?per_page=25") for slug in registry}
    seed(45)
    many = {slug: statements(f"/admin/{slug}/?per_page=100") for slug in registry}
    assert few == many


_n = iter(range(10**6))


def seed_everything_light(i):
    from portal.models import Conversation, GithubConfig, GithubRepoConfig, NotionConfig, SearchModelConfig
    from tests.factories import make_token, make_voice_model, make_web_scraper

    n = next(_n)
    owner = make_user(email=f"rows{n}@example.com")
    api = make_ai_model_api()
    model = make_chat_model(ai_model_api=api)
    make_voice_model()
    scraper = make_web_scraper()
    db.session.add(ServerChatSettings(chat_default=model, web_scraper=scraper, priority=100 + n))
    db.session.add(NotionConfig(user=owner, token=f"secret_{n}"))
    gh = GithubConfig(user=owner, pat_token=f"ghp_{n}")
    gh.repos.append(GithubRepoConfig(owner="o", name=f"r{n}"))
    db.session.add(gh)
    db.session.add(SearchModelConfig(name=f"sm{n}"))
    agent = make_agent(creator=owner, chat_model=model)
    db.session.add(Entry(user_id=owner.id, embeddings=[0.1] * 384, raw="r", compiled="c", file_path=f"/p{n}.md",
                         hashed_value="0" * 32))
    db.session.add(Entry(agent_id=agent.id, embeddings=[0.1] * 384, raw="r", compiled="c", file_path=f"/a{n}.md",
                         hashed_value="1" * 32))
    db.session.add(Conversation(user=owner, agent=agent, title=f"chat {n}"))
    make_token(owner)
    from portal import audit
    audit.record("test.event", actor=owner, obj=owner, changes={"x": [1, 2]})
    return owner


# --------------------------------------------------------------------------- CSV


def test_csv_cells_cannot_run_as_formulas():
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(dangerous) == "'" + dangerous
    assert csv_cell("plain") == "plain" and csv_cell(None) == "" and csv_cell(True) == "yes"


def test_csv_export_of_filtered_list_is_injection_safe(admin_client):
    make_user(email="csv@example.com", first_name="x", phone_number="+4915100000001")
    evil = make_user(email="evil@example.com")
    evil.username = "=HYPERLINK(\"http://x\")"
    db.session.commit()
    with admin_client.get("/admin/users/export.csv?q=example.com&f_active=yes") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:2] == ["Email", "Username"]
    usernames = {r[0]: r[1] for r in rows[1:]}
    assert usernames["evil@example.com"] == "'=HYPERLINK(\"http://x\")"
    assert "csv@example.com" in usernames
    assert audit_rows("users.export")


# --------------------------------------------------------------------------- bulk actions


def test_bulk_action_asks_for_confirmation_then_runs(admin_client):
    targets = [make_user(email=f"bulk{i}@example.com") for i in range(2)]
    db.session.commit()
    ids = [t.id for t in targets]
    status, body = text(admin_client.post("/admin/users/action", data={"action": "verify_email", "ids": ids}))
    assert status == 200 and "are you sure" in body and "bulk0@example.com" in body
    db.session.expire_all()
    assert not any(db.session.get(KhojUser, i).verified_email for i in ids)
    with admin_client.post("/admin/users/action",
              data={"action": "verify_email", "ids": ids, "confirm": "yes"}) as response:
        assert response.status_code == 302
    db.session.expire_all()
    assert all(db.session.get(KhojUser, i).verified_email for i in ids)
    assert len(audit_rows("users.update")) == 2


def test_bulk_action_without_csrf_is_refused(admin_client):
    target = make_user(email="nocsrf@example.com")
    db.session.commit()
    with admin_client.post("/admin/users/action", csrf=False,
              data={"action": "verify_email", "ids": [target.id], "confirm": "yes"}) as response:
        assert response.status_code == 400
    db.session.expire_all()
    assert not db.session.get(KhojUser, target.id).verified_email


def test_deactivate_action_ends_sessions_and_tokens(admin_client, app):
    from tests.factories import make_token

    target = make_user(email="leaving@example.com")
    _, token = make_token(target)
    db.session.commit()
    with app.test_client().get("/api/v1/user", headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status_code == 200
    with admin_client.post("/admin/users/action",
              data={"action": "deactivate", "ids": [target.id], "confirm": "yes"}) as response:
        assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(KhojUser, target.id).is_active is False
    with app.test_client().get("/api/v1/user", headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status_code == 401
    _, body = text(admin_client.get(f"/admin/history/khoj_user/{target.id}"))
    assert "user.deactivate" in body and "boss@example.com" in body


def test_making_staff_and_login_links_need_a_fresh_sign_in(client, app_context):
    admin = make_admin()
    target = make_user(email="promote@example.com")
    db.session.commit()
    sign_in(client, admin, fresh=False)
    for action in ("make_staff", "login_link"):
        with client.post("/admin/users/action", data={"action": action, "ids": [target.id], "confirm": "yes"}) as r:
            assert r.status_code == 302 and "/reauthenticate" in r.headers["Location"]
    db.session.expire_all()
    assert db.session.get(KhojUser, target.id).is_staff is False
    sign_in(client, admin)
    status, body = text(client.post("/admin/users/action",
                             data={"action": "login_link", "ids": [target.id], "confirm": "yes"}))
    assert status == 200 and "/login/link?" in body
    assert audit_rows("user.login_link")


# --------------------------------------------------------------------------- forms, secrets, audit


def test_secret_is_masked_write_only_and_audited_as_changed(admin_client):
    status, body = text(admin_client.post("/admin/ai_model_apis/new", data={"name": "Acme", "api_key": ""}))
    assert status == 200 and "An API key is required." in body
    with admin_client.post("/admin/ai_model_apis/new",
              data={"name": "Acme", "api_key": "sk-acme-very-secret-1234"}) as response:
        assert response.status_code == 302
    api = db.session.scalars(sa.select(AiModelApi).where(AiModelApi.name == "Acme")).one()
    created = audit_rows("ai_model_apis.create")[-1]
    assert created.changes["api_key"] == "changed" and created.changes["name"] == "Acme"
    status, body = text(admin_client.get(f"/admin/ai_model_apis/{api.id}/edit"))
    assert "sk-acme-very-secret" not in body and "sk-…1234" in body
    # Searching by the key finds nothing: keys are never searchable.
    _, body = text(admin_client.get("/admin/ai_model_apis/?q=very-secret"))
    assert "Acme" not in body
    # Blank keeps the key.
    with admin_client.post(f"/admin/ai_model_apis/{api.id}/edit",
              data={"name": "Acme 2", "api_key": "", "api_base_url": ""}) as response:
        assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(AiModelApi, api.id).api_key == "sk-acme-very-secret-1234"
    update = audit_rows("ai_model_apis.update")[-1]
    assert update.changes == {"name": ["Acme", "Acme 2"]}
    with admin_client.post(f"/admin/ai_model_apis/{api.id}/edit",
              data={"name": "Acme 2", "api_key": "sk-rotated-9999"}) as response:
        assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(AiModelApi, api.id).api_key == "sk-rotated-9999"
    assert audit_rows("ai_model_apis.update")[-1].changes == {"api_key": "changed"}


def test_delete_refused_when_an_agent_uses_the_chat_model(admin_client):
    model = make_chat_model(name="busy-model")
    make_agent(chat_model=model, name="Model Fan")
    db.session.commit()
    status, body = text(admin_client.get(f"/admin/chat_models/{model.id}/delete"))
    assert status == 200 and "1 agent row" in body and "Yes, delete" not in body
    assert "Model Fan" in body  # which rows depend on it
    status, body = text(admin_client.post(f"/admin/chat_models/{model.id}/delete", data={}))
    assert status == 409 and "cannot be deleted while other rows depend on it" in body
    db.session.expire_all()
    assert db.session.get(type(model), model.id) is not None
    free = make_chat_model(name="idle-model")
    db.session.commit()
    with admin_client.post(f"/admin/chat_models/{free.id}/delete", data={}) as response:
        assert response.status_code == 302
    assert audit_rows("chat_models.delete")[-1].changes == {"label": "idle-model"}


def test_delete_api_used_by_a_chat_model_is_refused(admin_client):
    api = make_ai_model_api()
    make_chat_model(ai_model_api=api)
    db.session.commit()
    status, body = text(admin_client.post(f"/admin/ai_model_apis/{api.id}/delete", data={}))
    assert status == 409 and "1 chat model row" in body


def test_server_default_model_must_be_free(admin_client):
    paid = make_chat_model(price_tier="standard")
    free = make_chat_model(price_tier="free")
    db.session.commit()
    status, body = text(admin_client.post("/admin/server_chat_settings/new",
                             data={"chat_default_id": str(paid.id), "chat_advanced_id": "", "web_scraper_id": "",
                                   "priority": "7"}))
    assert status == 200 and "must be a free-tier model" in body
    with admin_client.post("/admin/server_chat_settings/new",
              data={"chat_default_id": str(free.id), "chat_advanced_id": str(paid.id), "web_scraper_id": "",
                    "priority": "7"}) as response:
        assert response.status_code == 302
    row = db.session.scalars(sa.select(ServerChatSettings).where(ServerChatSettings.priority == 7)).one()
    assert row.chat_default_id == free.id and row.chat_advanced_id == paid.id


def test_web_scraper_defaults_and_key_validation(admin_client, app):
    status, body = text(admin_client.post("/admin/web_scrapers/new",
                             data={"name": "", "type": "Firecrawl", "api_key": "", "api_url": "", "priority": ""}))
    assert status == 200 and "Firecrawl needs an API key" in body
    app.config["EXA_API_KEY"] = "exa-from-env-5678"
    try:
        with admin_client.post("/admin/web_scrapers/new",
                  data={"name": "", "type": "Exa", "api_key": "", "api_url": "", "priority": ""}) as response:
            assert response.status_code == 302
    finally:
        app.config["EXA_API_KEY"] = None
    exa = db.session.scalars(sa.select(WebScraper).where(WebScraper.type == "Exa")).one()
    assert exa.name == "Exa" and exa.api_key == "exa-from-env-5678" and exa.api_url == app.config["EXA_API_URL"]
    for kind in ("Jina", "Direct"):
        with admin_client.post("/admin/web_scrapers/new",
                  data={"name": "", "type": kind, "api_key": "", "api_url": "", "priority": ""}) as response:
            assert response.status_code == 302, kind


def test_web_scrapers_are_ordered_by_priority_and_can_be_reordered(admin_client):
    from tests.factories import make_web_scraper

    first = make_web_scraper(name="First", priority=1)
    second = make_web_scraper(name="Second", priority=2)
    db.session.commit()
    _, body = text(admin_client.get("/admin/web_scrapers/"))
    assert body.index("First") < body.index("Second")
    with admin_client.post(f"/admin/web_scrapers/{second.id}/move?direction=up", data={}) as response:
        assert response.status_code == 302
    db.session.expire_all()
    assert (db.session.get(WebScraper, second.id).priority, db.session.get(WebScraper, first.id).priority) == (1, 2)


def test_clear_stale_process_locks(admin_client):
    from portal.models import ProcessLock

    db.session.add(ProcessLock(name="index_content", started_at=datetime.now(timezone.utc) - timedelta(hours=2),
                               max_duration_in_seconds=60))
    db.session.add(ProcessLock(name="scheduled_job", max_duration_in_seconds=3600))
    db.session.commit()
    _, body = text(admin_client.get("/admin/"))
    assert "index_content" in body and "Clear stale locks" in body
    with admin_client.post("/admin/process_locks/clear-stale", data={}) as response:
        assert response.status_code == 302
    names = set(db.session.scalars(sa.select(ProcessLock.name)))
    assert names == {"scheduled_job"}
    assert audit_rows("process_locks.clear_stale")[-1].changes == {"cleared": 1}


def test_edit_user_shows_field_errors_and_audits_changes(admin_client):
    target = make_user(email="edit@example.com")
    make_user(email="taken@example.com")
    db.session.commit()
    status, body = text(admin_client.post(f"/admin/users/{target.id}/edit",
                             data={"email": "taken@example.com", "phone_number": "12"}))
    assert status == 200 and "Another user already has this email" in body and "international format" in body
    with admin_client.post(f"/admin/users/{target.id}/edit",
              data={"email": "edit@example.com", "first_name": "Ed", "phone_number": ""}) as response:
        assert response.status_code == 302
    assert audit_rows("users.update")[-1].changes == {"first_name": ["", "Ed"]}
    _, body = text(admin_client.get(f"/admin/history/khoj_user/{target.id}"))
    assert "first_name" in body and "Ed" in body


def test_dashboard_counts_and_charts(admin_client):
    make_user()
    db.session.commit()
    status, body = text(admin_client.get("/admin/"))
    assert status == 200 and "<svg" in body and "Sign-ups per day" in body and "Subscriptions by state" in body
    today = datetime.now(timezone.utc).date().isoformat()
    assert f"{today}: " in body


def test_changing_a_stored_key_needs_a_fresh_sign_in(client, app_context):
    admin = make_admin()
    api = make_ai_model_api(name="Keyed", api_key="sk-original-0000")
    db.session.commit()
    sign_in(client, admin, fresh=False)
    with client.post(f"/admin/ai_model_apis/{api.id}/edit", data={"name": "Keyed", "api_key": "sk-new-1111"}) as r:
        assert r.status_code == 302 and "/reauthenticate" in r.headers["Location"]
    db.session.expire_all()
    assert db.session.get(AiModelApi, api.id).api_key == "sk-original-0000"
    # Other edits don't ask again.
    with client.post(f"/admin/ai_model_apis/{api.id}/edit", data={"name": "Keyed 2", "api_key": ""}) as r:
        assert r.status_code == 302 and "/admin/ai_model_apis/" in r.headers["Location"]


def test_create_user_from_the_admin(admin_client):
    with admin_client.post("/admin/users/new", data={"email": "Made@Example.com", "first_name": "Made"}) as r:
        assert r.status_code == 302
    user = db.session.scalars(sa.select(KhojUser).where(KhojUser.email == "Made@Example.com")).one()
    assert user.username == user.email and user.subscription is not None
    status, body = text(admin_client.post("/admin/users/new", data={"email": "made@example.com"}))
    assert status == 200 and "Another user already has this email" in body


def test_entries_filters_and_search(admin_client):
    from portal.models import SearchModelConfig

    alice, bob = make_user(email="alice-e@example.com"), make_user(email="bob-e@example.com")
    model = db.session.scalars(sa.select(SearchModelConfig)).first()
    for user, path, kind in ((alice, "/notes/alpha.md", "markdown"), (bob, "/docs/beta.org", "org")):
        db.session.add(Entry(user_id=user.id, embeddings=[0.2] * 384, raw="r", compiled="c", file_path=path,
                             file_type=kind, hashed_value="2" * 32, search_model_id=model.id if model else None))
    db.session.commit()
    _, body = text(admin_client.get("/admin/entries/?q=alpha"))
    assert "/notes/alpha.md" in body and "/docs/beta.org" not in body
    _, body = text(admin_client.get("/admin/entries/?q=bob-e"))
    assert "/docs/beta.org" in body and "/notes/alpha.md" not in body
    _, body = text(admin_client.get("/admin/entries/?f_type=org"))
    assert "/docs/beta.org" in body and "/notes/alpha.md" not in body
    _, body = text(admin_client.get("/admin/entries/?f_user=ALICE-E%40example.com"))
    assert "/notes/alpha.md" in body and "/docs/beta.org" not in body
    _, body = text(admin_client.get(f"/admin/entries/?f_user={bob.id}&f_source=computer"))
    assert "/docs/beta.org" in body and "/notes/alpha.md" not in body


def test_conversation_csv_export_for_superusers(admin_client):
    from portal.models import Conversation

    owner = make_user(email="talker@example.com")
    db.session.add(Conversation(user=owner, title="=cmd|' /C calc'!A0",
                                conversation_log={"chat": [{"by": "you", "message": "hello there"}]}))
    db.session.commit()
    with admin_client.get("/admin/conversations/export.csv?q=talker") as response:
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[1][0].startswith("'=cmd") and rows[1][1] == "talker@example.com" and "hello there" in rows[1][-1]


def test_audit_log_filters(admin_client):
    target = make_user(email="audited@example.com")
    db.session.commit()
    with admin_client.post("/admin/users/action",
              data={"action": "verify_email", "ids": [target.id], "confirm": "yes"}) as response:
        assert response.status_code == 302
    _, body = text(admin_client.get("/admin/audit_log/?f_actor=boss%40example.com&f_action=users.update"))
    assert f"khoj_user #{target.id}" in body
    _, body = text(admin_client.get(f"/admin/audit_log/?f_object=khoj_user:{target.id}"))
    assert "users.update" in body
    _, body = text(admin_client.get("/admin/audit_log/?f_actor=nobody%40example.com"))
    assert f"khoj_user #{target.id}" not in body


def test_default_model_cannot_become_paid_and_active_search_config_cannot_go(admin_client):
    from portal.models import ChatModel, SearchModelConfig

    model = make_chat_model(name="the-default", price_tier="free")
    db.session.add(ServerChatSettings(chat_default=model, priority=99))
    db.session.commit()
    status, body = text(admin_client.post(f"/admin/chat_models/{model.id}/edit",
                             data={"name": "the-default", "model_type": "openai", "price_tier": "standard",
                                   "ai_model_api_id": ""}))
    assert status == 200 and "must stay free tier" in body
    db.session.expire_all()
    assert db.session.get(ChatModel, model.id).price_tier == "free"
    active = db.session.scalars(sa.select(SearchModelConfig).where(SearchModelConfig.is_active)).one()
    status, body = text(admin_client.post(f"/admin/search_models/{active.id}/delete", data={}))
    assert status == 409 and "active search model config" in body


def test_out_of_range_numbers_are_field_errors(admin_client):
    model = make_chat_model(name="ranged")
    db.session.commit()
    status, body = text(admin_client.post(f"/admin/chat_models/{model.id}/edit",
                             data={"name": "ranged", "model_type": "openai", "price_tier": "free", "ai_model_api_id": "",
                                   "subscribed_max_prompt_size": "2147483648"}))
    assert status == 200 and "Number must be between 1 and 2147483647" in body
