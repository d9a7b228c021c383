"""Creating, changing and deleting agents: slugs, name rules, validation (form and API), model gating,
optimistic locking, the default agent, knowledge entries, escaping, and the admin pages."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.agents import services
from portal.extensions import db
from portal.models import Agent, AuditLog, Entry
from tests.factories import make_admin, make_agent, make_chat_model, make_token, make_user

FORM = {"name": "Gardener", "personality": "Knows plants.", "chat_model": "", "style_color": "green",
        "style_icon": "Leaf", "privacy_level": "private"}


def agent_named(name):
    return db.session.execute(sa.select(Agent).where(Agent.name == name)).scalar_one_or_none()


def api(client, user):
    return {"Authorization": f"Bearer {make_token(user)[1]}"}


# --------------------------------------------------------------------------- create, slug, rename


def test_create_from_the_form(app_context, login_as):
    user = make_user()
    client = login_as(user)
    response = client.post("/agents/new", data={**FORM, "input_tools": ["notes", "online"],
                                                 "output_modes": ["image"], "privacy_level": "protected"})
    agent = agent_named("Gardener")
    assert response.status_code == 302 and response.location.endswith(f"/agents/{agent.slug}")
    assert re.fullmatch(r"gardener-\d{6}", agent.slug)
    assert agent.creator_id == user.id and agent.managed_by_admin is False
    assert sorted(agent.input_tools) == ["notes", "online"] and agent.output_modes == ["image"]
    assert (agent.style_color, agent.style_icon, agent.privacy_level) == ("green", "Leaf", "protected")
    assert db.session.execute(sa.select(AuditLog).where(AuditLog.action == "agent.create",
                                                        AuditLog.object_id == str(agent.id))).first()


def test_slug_slugifies_punctuation_and_survives_renames(app_context, login_as):
    user = make_user()
    client = login_as(user)
    client.post("/agents/new", data={**FORM, "name": "Café: Ünïcode & Co!"})
    agent = agent_named("Café: Ünïcode & Co!")
    assert re.fullmatch(r"cafe-unicode-co-\d{6}", agent.slug)
    slug = agent.slug
    client.post(f"/agents/{slug}/edit", data={**FORM, "name": "Something else", "version": agent.version})
    db.session.refresh(agent)
    assert agent.name == "Something else" and agent.slug == slug


def test_slug_retries_on_collision(app_context, monkeypatch):
    taken = make_agent(make_user(), slug="twin-000001")
    draws = iter([1, 1, 2])
    monkeypatch.setattr(services.random.SystemRandom, "randrange", lambda self, n: next(draws))
    assert services.new_slug("Twin") == "twin-000002"
    assert taken.slug == "twin-000001"


def test_none_checked_means_all_allowed_and_the_form_says_so(app_context, login_as):
    client = login_as(make_user())
    page = client.get("/agents/new").get_data(as_text=True)
    assert "Leave all unchecked to allow every tool." in page
    assert "Leave all unchecked to allow every output mode." in page
    for explanation in services.PRIVACY_EXPLANATIONS.values():
        assert explanation in page
    assert page.count('class="btn-check"') == 16 + 28  # every colour swatch and every icon
    client.post("/agents/new", data=FORM)
    agent = agent_named("Gardener")
    assert agent.input_tools == [] and agent.output_modes == []


# --------------------------------------------------------------------------- name rules


@pytest.mark.parametrize("existing,message", [
    ("public", "A public agent already has this name."),
    ("mine", "Another of your agents already has this name."),
])
def test_name_rules_are_field_errors(app_context, login_as, count_rows, existing, message):
    user = make_user()
    make_agent(make_user() if existing == "public" else user, name="Gardener",
               privacy_level="public" if existing == "public" else "private")
    db.session.commit()
    before = count_rows(Agent)
    response = login_as(user).post("/agents/new", data={**FORM, "name": "gardener"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'id="name"' in page and "is-invalid" in page
    assert count_rows(Agent) == before


def test_someone_elses_private_name_is_free(app_context, login_as):
    make_agent(make_user(), name="Gardener", privacy_level="private")
    response = login_as(make_user()).post("/agents/new", data=FORM)
    assert response.status_code == 302


def test_the_default_agents_name_is_taken(app_context, login_as):
    response = login_as(make_user()).post("/agents/new", data={**FORM, "name": "Khoj"})
    assert response.status_code == 422 and "A public agent already has this name." in response.get_data(as_text=True)


def test_renaming_to_its_own_name_is_fine(app_context, login_as):
    user = make_user()
    agent = make_agent(user, name="Gardener", privacy_level="public")
    response = login_as(user).post(f"/agents/{agent.slug}/edit", data={**FORM, "privacy_level": "public",
                                                                        "version": agent.version})
    assert response.status_code == 302


# --------------------------------------------------------------------------- bad values: nothing saved


BAD_FORM_VALUES = [
    ({"input_tools": ["notes", "telepathy"]}, "input_tools", "not a valid choice"),
    ({"output_modes": ["hologram"]}, "output_modes", "not a valid choice"),
    ({"style_color": "chartreuse"}, "style_color", "Not a valid choice"),
    ({"style_icon": "Skull"}, "style_icon", "Not a valid choice"),
    ({"name": "x" * 201}, "name", "Field cannot be longer than 200 characters."),
    ({"name": "   "}, "name", "Give the agent a name."),
    ({"privacy_level": "secret"}, "privacy_level", "Not a valid choice"),
]


@pytest.mark.parametrize("change,field,message", BAD_FORM_VALUES, ids=[c[1] + str(i) for i, c in enumerate(BAD_FORM_VALUES)])
def test_bad_form_values_are_field_errors_and_nothing_is_saved(app_context, login_as, count_rows, change, field,
                                                              message):
    user = make_user()
    client = login_as(user)
    before = count_rows(Agent)
    response = client.post("/agents/new", data={**FORM, **change})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and "invalid-feedback" in page
    assert count_rows(Agent) == before

    agent = make_agent(user, name="Editable")
    db.session.commit()
    response = client.post(f"/agents/{agent.slug}/edit", data={**FORM, "version": agent.version, **change})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.refresh(agent)
    assert agent.name == "Editable" and agent.style_color == "orange"


BAD_API_VALUES = [
    ({"input_tools": ["notes", "telepathy"]}, "input_tools.1"),
    ({"output_modes": ["hologram"]}, "output_modes.0"),
    ({"color": "chartreuse"}, "color"),
    ({"icon": "Skull"}, "icon"),
    ({"name": "x" * 201}, "name"),
    ({"privacy_level": "secret"}, "privacy_level"),
    ({"managed_by_admin": True}, "managed_by_admin"),
    ({"is_approved": True}, "is_approved"),
    ({"chat_model": "no-such-model"}, "chat_model"),
]


@pytest.mark.parametrize("change,field", BAD_API_VALUES, ids=[c[1] for c in BAD_API_VALUES])
def test_bad_api_values_are_422_with_details_and_nothing_is_saved(app_context, client, count_rows, change, field):
    user = make_user()
    headers = api(client, user)
    db.session.commit()
    before = count_rows(Agent)
    response = client.post("/api/agents", json={"name": "Gardener", **change}, headers=headers)
    assert response.status_code == 422
    assert field in [d["field"] for d in response.json["details"]]
    assert count_rows(Agent) == before

    agent = make_agent(user, name="Editable")
    db.session.commit()
    response = client.patch(f"/api/agents/{agent.slug}", json=change, headers=headers)
    assert response.status_code == 422 and field in [d["field"] for d in response.json["details"]]
    db.session.refresh(agent)
    assert agent.name == "Editable" and agent.managed_by_admin is False and agent.is_approved is False


def test_api_create_update_delete_roundtrip(app_context, client):
    user = make_user()
    headers = api(client, user)
    model = make_chat_model(name="small-free")
    db.session.commit()
    created = client.post("/api/agents", headers=headers, json={
        "name": "Reader", "persona": "Reads.", "privacy_level": "protected", "color": "sky", "icon": "Student",
        "chat_model": "small-free", "input_tools": ["notes"], "output_modes": ["diagram"]})
    assert created.status_code == 201
    body = created.json
    assert set(body) >= {"slug", "name", "persona", "creator", "managed_by_admin", "color", "icon", "privacy_level",
                         "chat_model", "input_tools", "output_modes"}
    assert body["creator"] == str(user.uuid) and body["chat_model"] == model.name and body["color"] == "sky"
    slug = body["slug"]
    patched = client.patch("/api/agents", headers=headers, json={"slug": slug, "name": "Reader 2", "chat_model": None})
    assert patched.status_code == 200 and patched.json["name"] == "Reader 2" and patched.json["slug"] == slug
    assert patched.json["chat_model"] is None and patched.json["persona"] == "Reads."
    assert client.delete(f"/api/agents/{slug}", headers=headers).status_code == 200
    assert client.get(f"/api/agents/{slug}", headers=headers).status_code == 404


def test_api_needs_a_valid_token_even_for_reads(app_context, client):
    assert client.get("/api/agents").status_code == 401
    assert client.get("/api/agents", headers={"Authorization": "Bearer kk-nope"}).status_code == 401
    assert client.post("/api/agents", json={"name": "X"}).status_code == 401


# --------------------------------------------------------------------------- chat model gating


@pytest.fixture
def billing(app, monkeypatch):
    monkeypatch.setitem(app.config, "SUBSCRIPTION_URL", "https://billing.example/subscribe")


def test_standard_model_needs_a_subscription(app_context, billing, login_as, client, count_rows):
    user = make_user()  # new users are not subscribed
    free, standard = make_chat_model(price_tier="free"), make_chat_model(price_tier="standard")
    db.session.commit()
    c = login_as(user)
    page = c.get("/agents/new").get_data(as_text=True)
    assert re.search(rf'<option value="{standard.id}"[^>]*disabled', page)
    assert not re.search(rf'<option value="{free.id}"[^>]*disabled', page)
    before = count_rows(Agent)
    response = c.post("/agents/new", data={**FORM, "chat_model": str(standard.id)})
    assert response.status_code == 422 and "Subscribe to switch to this chat model." in response.get_data(as_text=True)
    assert count_rows(Agent) == before
    assert c.post("/agents/new", data={**FORM, "chat_model": str(free.id)}).status_code == 302
    assert agent_named("Gardener").chat_model_id == free.id

    response = client.post("/api/agents", json={"name": "Api agent", "chat_model": standard.name},
                           headers=api(client, user))
    assert response.status_code == 422
    assert response.json["details"] == [{"field": "chat_model", "message": "Subscribe to switch to this chat model."}]


def test_a_lapsed_owner_keeps_the_agents_model_when_editing_other_fields(app_context, billing, login_as):
    user = make_user()
    standard = make_chat_model(price_tier="standard")
    agent = make_agent(user, name="Keeper", chat_model_id=standard.id)
    db.session.commit()
    client = login_as(user)
    page = client.get(f"/agents/{agent.slug}/edit").get_data(as_text=True)
    assert re.search(rf'<option value="{standard.id}" selected>', page)  # not disabled: the browser sends it
    response = client.post(f"/agents/{agent.slug}/edit", data={**FORM, "name": "Keeper", "personality": "New.",
                                                               "chat_model": str(standard.id), "version": agent.version})
    assert response.status_code == 302
    db.session.refresh(agent)
    assert agent.personality == "New." and agent.chat_model_id == standard.id


def test_admin_managed_agents_may_use_any_model(app_context, billing, login_as):
    standard = make_chat_model(price_tier="standard")
    response = login_as(make_admin()).post("/admin/agents/new", data={**FORM, "chat_model": str(standard.id),
                                                                     "privacy_level": "public"})
    assert response.status_code == 302
    agent = agent_named("Gardener")
    assert agent.creator_id is None and agent.managed_by_admin and agent.chat_model_id == standard.id


def test_agent_falls_back_to_the_default_when_its_owner_stops_paying(app_context, billing):
    user = make_user()
    standard = make_chat_model(price_tier="standard")
    free = make_chat_model(price_tier="free", name="aaa-default-free")
    agent = make_agent(user, chat_model_id=standard.id)
    fallback = services.effective_chat_model(agent)
    assert fallback is not None and fallback.id != standard.id and fallback.price_tier == "free"
    assert agent.chat_model_id == standard.id  # the choice is kept
    del free


# --------------------------------------------------------------------------- optimistic locking


def test_stale_form_gets_a_conflict_not_an_overwrite(app_context, login_as):
    user = make_user()
    agent = make_agent(user, name="Shared")
    old_version = agent.version
    agent.personality = "Changed elsewhere."
    db.session.commit()
    response = login_as(user).post(f"/agents/{agent.slug}/edit", data={**FORM, "version": old_version})
    assert response.status_code == 409
    assert "changed by someone else" in response.get_data(as_text=True)
    db.session.refresh(agent)
    assert agent.name == "Shared" and agent.personality == "Changed elsewhere."


def test_stale_api_version_is_409(app_context, client):
    user = make_user()
    agent = make_agent(user)
    headers = api(client, user)
    db.session.commit()
    response = client.patch(f"/api/agents/{agent.slug}", json={"name": "New", "version": agent.version - 1},
                            headers=headers)
    assert response.status_code == 409 and "changed by someone else" in response.json["error"]


def test_concurrent_write_between_load_and_save_is_a_conflict(app_context):
    """StaleDataError (the row's version moved under us) becomes AgentConflict, never a 500."""
    user = make_user()
    agent = make_agent(user, name="Raced")
    # Another writer bumps the version directly in the database after we loaded the agent.
    db.session.execute(sa.update(Agent.__table__).where(Agent.__table__.c.id == agent.id)
                       .values(version=agent.version + 1))
    with pytest.raises(services.AgentConflict):
        services.update_agent(user, agent, services.AgentFields(name="Mine now"))


# --------------------------------------------------------------------------- delete


def test_delete_needs_confirmation_and_takes_the_knowledge_entries(app_context, login_as, count_rows):
    user = make_user()
    agent = make_agent(user, name="Librarian")
    for n in range(3):
        db.session.add(Entry(agent_id=agent.id, embeddings=[0.0] * 384, raw=f"r{n}", compiled=f"c{n}",
                             hashed_value=f"{n:032d}"))
    db.session.commit()
    client = login_as(user)
    confirm = client.get(f"/agents/{agent.slug}/delete")
    assert confirm.status_code == 200 and "3 knowledge entries" in confirm.get_data(as_text=True)
    assert count_rows(Entry, Entry.agent_id == agent.id) == 3
    assert client.post(f"/agents/{agent.slug}/delete", data={"version": agent.version}).status_code == 302
    assert count_rows(Agent, Agent.slug == "librarian") == 0
    assert count_rows(Entry, Entry.agent_id == agent.id) == 0


def test_delete_without_csrf_is_refused(app_context, login_as):
    user = make_user()
    agent = make_agent(user)
    db.session.commit()
    response = login_as(user).post(f"/agents/{agent.slug}/delete", data={}, csrf=False)
    assert response.status_code == 400
    assert db.session.get(Agent, agent.id) is not None


def test_the_default_agent_cannot_be_deleted(app_context, login_as, client):
    admin = make_admin()
    headers = api(client, admin)
    db.session.commit()
    khoj = db.session.execute(sa.select(Agent).where(Agent.slug == "khoj")).scalar_one()
    c = login_as(admin)
    assert "Delete" not in c.get("/agents/khoj").get_data(as_text=True).split("Personality")[0].split("Edit")[-1]
    response = c.post("/agents/khoj/delete", data={})
    assert response.status_code == 302
    response = client.delete("/api/agents/khoj", headers=headers)
    assert response.status_code == 409 and "cannot be deleted" in response.json["error"]
    with pytest.raises(services.AgentError):
        services.delete_agent(admin, khoj)
    assert db.session.get(Agent, khoj.id) is not None


# --------------------------------------------------------------------------- escaping


def test_script_in_a_name_is_escaped_on_every_page(app_context, sign_in):
    user = make_user()
    admin = make_admin()
    name = '<script>alert("agent")</script>'
    agent = make_agent(user, name=name, personality="<img src=x onerror=alert(1)>", privacy_level="public",
                       is_approved=True)
    from portal.models import Conversation

    conversation = Conversation(user_id=user.id, agent_id=agent.id, title=name,
                                conversation_log={"chat": [{"by": "khoj", "message": name}]})
    db.session.add(conversation)
    db.session.commit()
    client = sign_in(user)
    pages = ["/agents", f"/agents/{agent.slug}", f"/agents/{agent.slug}/edit", f"/agents/{agent.slug}/delete",
             "/conversations", f"/conversations/{conversation.id}", f"/conversations/{conversation.id}/delete"]
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        assert "&lt;script&gt;alert(" in html, url
        assert "<script>alert(" not in html and "<img src=x" not in html, url
    html = sign_in(admin).get("/admin/agents/").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in html and "<script>alert(" not in html


# --------------------------------------------------------------------------- admin


def test_admin_pages_are_for_admins_only(app_context, client, sign_in):
    user = make_user()
    assert client.get("/admin/agents/").status_code == 302  # anonymous → sign in
    c = sign_in(user)
    assert c.get("/admin/agents/").status_code == 403
    assert c.post("/admin/agents/action", data={"action": "approve"}).status_code == 403
    assert c.get("/admin/agents/new").status_code == 403
    assert c.post("/admin/agents/new", data=FORM).status_code == 403
    assert agent_named("Gardener") is None


def test_admin_list_filters_and_searches(app_context, login_as):
    owner = make_user()
    make_agent(owner, name="Public Pelican", privacy_level="public")
    make_agent(owner, name="Private Penguin", privacy_level="private")
    c = login_as(make_admin())
    html = c.get("/admin/agents/?f_privacy=public").get_data(as_text=True)
    assert "Public Pelican" in html and "Private Penguin" not in html
    html = c.get("/admin/agents/?q=penguin").get_data(as_text=True)
    assert "Private Penguin" in html and "Public Pelican" not in html
    html = c.get("/admin/agents/?f_privacy=public&f_approved=no").get_data(as_text=True)
    assert "Public Pelican" in html and "awaiting approval" in html and "Private Penguin" not in html


def test_admin_approves_and_hides_in_bulk_with_audit_rows(app_context, client, sign_in):
    owner, admin = make_user(), make_admin()
    first = make_agent(owner, privacy_level="public", name="First public")
    second = make_agent(owner, privacy_level="public", name="Second public")
    headers = api(client, make_user())
    db.session.commit()

    def listed():
        return [a["slug"] for a in client.get("/api/agents", headers=headers).json]

    assert first.slug not in listed()
    client = sign_in(admin)
    confirm = client.post("/admin/agents/action", data={"action": "approve", "ids": [first.id, second.id]})
    assert confirm.status_code == 200 and "First public" in confirm.get_data(as_text=True)
    assert first.slug not in listed()  # nothing happens before the confirmation
    response = client.post("/admin/agents/action", data={"action": "approve", "ids": [first.id, second.id],
                                                         "confirm": "yes"})
    assert response.status_code == 302 and response.location.endswith("/admin/agents/")
    sign_in(None)
    assert {first.slug, second.slug} <= set(listed())
    rows = db.session.execute(sa.select(AuditLog).where(AuditLog.action == "agent.approve")).scalars().all()
    assert {r.object_id for r in rows} == {str(first.id), str(second.id)} and all(r.actor_id == admin.id for r in rows)
    assert rows[0].changes == {"is_approved": [False, True]}

    sign_in(admin).post("/admin/agents/action", data={"action": "hide", "ids": [first.id], "confirm": "yes"})
    sign_in(None)
    assert first.slug not in listed() and second.slug in listed()
    assert client.get(f"/agents/{first.slug}").status_code == 404
    assert db.session.execute(sa.select(AuditLog).where(AuditLog.action == "agent.hide",
                                                        AuditLog.object_id == str(first.id))).first()


def test_plain_users_cannot_make_admin_managed_agents(app_context, login_as):
    user = make_user()
    response = login_as(user).post("/agents/new", data={**FORM, "managed_by_admin": "y", "is_approved": "y",
                                                         "creator_id": ""})
    assert response.status_code == 302
    agent = agent_named("Gardener")
    assert agent.creator_id == user.id and agent.managed_by_admin is False and agent.is_approved is False
    with pytest.raises(services.AgentError):
        services.create_agent(user, services.AgentFields(name="Sneaky"), admin_managed=True)




def test_the_openapi_document_describes_the_agent_endpoints(app_context, client):
    document = client.get("/api/openapi.json").json
    create = document["paths"]["/api/agents"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AgentCreate"}
    colours = document["components"]["schemas"]["AgentCreate"]["properties"]["color"]["enum"]
    assert len(colours) == 16 and "emerald" in colours
    assert "ConversationsExport" in document["components"]["schemas"]
