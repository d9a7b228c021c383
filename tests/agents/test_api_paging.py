"""GET /api/agents paging: ?page= (from 0) and ?per_page= give one page and the totals; without them the
answer stays Khoj's plain list of every listed agent."""
from __future__ import annotations

import math

import pytest

from portal.extensions import db
from tests.factories import make_agent, make_token, make_user


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {make_token(user)[1]}"}


@pytest.fixture
def lister(app_context):
    """A user with 25 agents of their own, and a stranger's private agent that must never be listed."""
    user = make_user()
    for n in range(25):
        make_agent(user, name=f"Mine {n:02d}")
    make_agent(make_user(), name="Stranger's secret", privacy_level="private")
    headers = bearer(user)
    db.session.commit()
    return headers


def test_two_pages_cover_the_list_without_overlap(client, lister):
    everything = client.get("/api/agents", headers=lister)
    assert everything.status_code == 200 and isinstance(everything.json, list)  # the default is unchanged
    slugs = [a["slug"] for a in everything.json]
    assert "Stranger's secret" not in {a["name"] for a in everything.json}
    assert sum(a["name"].startswith("Mine ") for a in everything.json) == 25
    total = len(slugs)
    assert 25 < total <= 40  # ours plus the default agent (and any other public admin-managed ones)

    first = client.get("/api/agents?page=0&per_page=20", headers=lister).json
    second = client.get("/api/agents?page=1&per_page=20", headers=lister).json
    past = client.get("/api/agents?page=2&per_page=20", headers=lister).json
    for body, page in ((first, 0), (second, 1), (past, 2)):
        assert (body["page"], body["per_page"], body["total"], body["num_pages"]) == (page, 20, total, 2)
    assert len(first["agents"]) == 20 and len(second["agents"]) == total - 20 and past["agents"] == []
    first_slugs = [a["slug"] for a in first["agents"]]
    second_slugs = [a["slug"] for a in second["agents"]]
    assert not set(first_slugs) & set(second_slugs)
    assert first_slugs + second_slugs == slugs  # same order as the full list, nothing missing
    assert first["agents"][0]["slug"] == "khoj"  # the default agent still comes first
    assert set(first["agents"][0]) == set(everything.json[0])  # the same agent shape inside a page


def test_page_alone_uses_the_default_page_size(client, lister):
    body = client.get("/api/agents?page=0", headers=lister).json
    assert body["per_page"] == 50 and body["num_pages"] == 1 and len(body["agents"]) == body["total"]
    body = client.get("/api/agents?per_page=7", headers=lister).json
    assert body["page"] == 0 and len(body["agents"]) == 7 and body["num_pages"] == math.ceil(body["total"] / 7)


@pytest.mark.parametrize("query", [
    "page=-1", "page=1000001", "page=abc", "page=", "page=1.5", "page=99999999999999999999",
    "per_page=0", "per_page=201", "per_page=-5", "per_page=x", "page=0&per_page=100000",
])
def test_bad_paging_values_are_422_with_details(client, lister, query):
    response = client.get(f"/api/agents?{query}", headers=lister)
    assert response.status_code == 422
    assert response.json["error"] and response.json["details"][0]["field"] in ("page", "per_page")


def test_the_largest_page_number_is_an_empty_page_not_an_error(client, lister):
    body = client.get("/api/agents?page=1000000&per_page=200", headers=lister).json
    assert body["agents"] == [] and body["page"] == 1_000_000 and body["total"] > 25
