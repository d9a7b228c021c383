"""The visibility matrix: {owner, other user, anonymous, admin} × {private, protected, public, public approved,
hidden} × {list, read by slug, edit, delete}, through the HTML pages and through the JSON API."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import Agent
from tests.agents.conftest import KINDS, agent_of_kind
from tests.factories import make_admin, make_token, make_user

ACTORS = ("owner", "other", "anonymous", "admin")

# Expected outcome per actor and agent kind, in the order of KINDS.
LISTED = {
    "owner": (True, True, True, True, False),
    "other": (False, False, False, True, False),
    "anonymous": (False, False, False, True, False),
    "admin": (False, False, False, True, False),
}
READABLE = {
    "owner": (True, True, True, True, True),
    "other": (False, True, True, True, False),
    "anonymous": (False, True, True, True, False),
    "admin": (True, True, True, True, True),
}
# "ok" = done; "forbidden" = readable but not theirs (403); "missing" = not readable (404); "login" = sign in.
CHANGE = {
    "owner": ("ok",) * 5,
    "other": ("missing", "forbidden", "forbidden", "forbidden", "missing"),
    "anonymous": ("login",) * 5,
    "admin": ("ok",) * 5,
}
HTML_STATUS = {"forbidden": 403, "missing": 404}
API_STATUS = {"ok": 200, "forbidden": 403, "missing": 404, "login": 401}


def cases():
    for actor in ACTORS:
        for index, kind in enumerate(KINDS):
            yield pytest.param(actor, kind, index, id=f"{actor}-{kind}")


def actor_user(actor, owner):
    return {"owner": owner, "other": make_user(), "anonymous": None, "admin": make_admin()}[actor]


@pytest.fixture
def setup(app_context, client, login_as):
    def _setup(actor, kind):
        owner = make_user()
        agent = agent_of_kind(owner, kind, name=f"Matrix {actor} {kind}")
        user = actor_user(actor, owner)
        if user is not None:
            login_as(user)
        db.session.commit()
        return agent, user

    return _setup


@pytest.mark.parametrize("actor,kind,index", list(cases()))
def test_html_matrix(setup, client, actor, kind, index):
    agent, user = setup(actor, kind)
    slug, version = agent.slug, agent.version

    listed = agent.name in client.get("/agents?page=1").get_data(as_text=True)
    assert listed is LISTED[actor][index]

    read = client.get(f"/agents/{slug}")
    assert read.status_code == (200 if READABLE[actor][index] else 404)

    expected = CHANGE[actor][index]
    form = {"name": f"Renamed {actor} {kind}", "chat_model": "", "style_color": "teal", "style_icon": "Atom",
            "privacy_level": agent.privacy_level, "version": str(version)}
    edit = client.post(f"/agents/{slug}/edit", data=form)
    if expected == "ok":
        assert edit.status_code == 302 and edit.location.endswith(f"/agents/{slug}")
        db.session.refresh(agent)
        assert agent.name == form["name"] and agent.style_color == "teal"
        assert agent.slug == slug  # stable across renames
    elif expected == "login":
        assert edit.status_code == 302 and "/login" in edit.location
    else:
        assert edit.status_code == HTML_STATUS[expected]
        db.session.refresh(agent)
        assert agent.name == f"Matrix {actor} {kind}"

    delete = client.post(f"/agents/{slug}/delete", data={})
    gone = db.session.get(Agent, agent.id) is None
    if expected == "ok":
        assert delete.status_code == 302 and gone
    elif expected == "login":
        assert delete.status_code == 302 and "/login" in delete.location and not gone
    else:
        assert delete.status_code == HTML_STATUS[expected] and not gone


@pytest.mark.parametrize("actor,kind,index", list(cases()))
def test_api_matrix(app_context, client, actor, kind, index):
    owner = make_user()
    agent = agent_of_kind(owner, kind, name=f"Api {actor} {kind}")
    user = actor_user(actor, owner)
    headers = {"Authorization": f"Bearer {make_token(user)[1]}"} if user is not None else {}
    db.session.commit()
    slug = agent.slug

    listed = client.get("/api/agents", headers=headers)
    read = client.get(f"/api/agents/{slug}", headers=headers)
    if actor == "anonymous":  # the API is for scripts with a token; anonymous visitors use the pages
        assert listed.status_code == read.status_code == 401
    else:
        assert listed.status_code == 200
        assert (slug in [a["slug"] for a in listed.json]) is LISTED[actor][index]
        assert read.status_code == (200 if READABLE[actor][index] else 404)
    if read.status_code == 200:
        assert read.json["slug"] == slug and read.json["privacy_level"] == agent.privacy_level

    expected = CHANGE[actor][index]
    edit = client.patch(f"/api/agents/{slug}", json={"persona": "Changed"}, headers=headers)
    assert edit.status_code == API_STATUS[expected]
    db.session.refresh(agent)
    assert (agent.personality == "Changed") is (expected == "ok")

    delete = client.delete(f"/api/agents/{slug}", headers=headers)
    assert delete.status_code == API_STATUS[expected]
    assert (db.session.get(Agent, agent.id) is None) is (expected == "ok")


def api_headers(user=None):
    return {"Authorization": f"Bearer {make_token(user or make_user())[1]}"}


def test_default_agent_is_listed_readable_and_first(app_context, client):
    headers = api_headers()
    db.session.commit()
    listed = client.get("/api/agents", headers=headers).json
    assert listed[0]["slug"] == "khoj" and listed[0]["managed_by_admin"] is True and listed[0]["creator"] is None
    assert client.get("/agents/khoj").status_code == 200


def test_admin_managed_public_agents_are_listed_without_approval(app_context, client):
    from tests.factories import make_agent

    managed = make_agent(None, privacy_level="public", name="Managed helper")
    private_managed = make_agent(None, privacy_level="private", name="Managed draft")
    headers = api_headers()
    db.session.commit()
    slugs = [a["slug"] for a in client.get("/api/agents", headers=headers).json]
    assert managed.slug in slugs and private_managed.slug not in slugs
