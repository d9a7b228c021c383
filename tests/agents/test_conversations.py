"""Conversations: owner-only access, rename, delete with confirmation, export/import (all or nothing, with the
exact validation errors), safe rendering of messages and their references, and the JSON API."""
from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Conversation
from portal.schemas import ConversationExport, ConversationsExport
from tests.factories import make_agent, make_token, make_user

USER_MESSAGE = {"by": "you", "message": "What did I plant?", "created": "2025-03-14 09:21:07", "turnId": "t1"}
KHOJ_MESSAGE = {
    "by": "khoj", "message": "Tomatoes, on Monday.", "created": "2025-03-14 09:21:31", "turnId": "t1",
    "context": [{"compiled": "# Garden\nPlanted tomatoes on Monday.", "file": "/notes/garden.md",
                 "uri": "https://notes.example/garden"}],
    "onlineContext": {"tomato season": {"organic": [{"title": "Tomato guide", "link": "https://garden.example/t",
                                                     "snippet": "Plant after frost."}]}},
    "intent": {"type": "remember", "inferred-queries": ["tomatoes"]},
}


def make_conversation(user, *, title="Garden", agent=None, chat=None):
    conversation = Conversation(user_id=user.id, agent_id=agent.id if agent else None, title=title,
                                conversation_log={"chat": chat if chat is not None else [USER_MESSAGE, KHOJ_MESSAGE]})
    db.session.add(conversation)
    db.session.flush()
    return conversation


def upload(client, data, name="export.json"):
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return client.post("/conversations/import", data={"file": (io.BytesIO(raw), name)},
                       content_type="multipart/form-data")


def test_list_shows_only_my_conversations_with_an_empty_state(app_context, sign_in):
    me, other = make_user(), make_user()
    client = sign_in(me)
    html = client.get("/conversations").get_data(as_text=True)
    assert "No conversations yet." in html and "import an export file" in html
    make_conversation(me, title="Mine to read")
    make_conversation(other, title="Someone else's")
    db.session.commit()
    html = client.get("/conversations").get_data(as_text=True)
    assert "Mine to read" in html and "Someone else" not in html


def test_list_is_paginated(app_context, sign_in):
    me = make_user()
    for n in range(25):
        make_conversation(me, title=f"Chat number {n:02d}")
    db.session.commit()
    client = sign_in(me)
    first = client.get("/conversations").get_data(as_text=True)
    second = client.get("/conversations?page=2").get_data(as_text=True)
    assert first.count("Chat number") == 20 and second.count("Chat number") == 5
    assert 'href="/conversations?page=2"' in first


def test_open_renders_messages_and_references(app_context, sign_in):
    me = make_user()
    conversation = make_conversation(me, agent=make_agent(me, name="Gardener"))
    db.session.commit()
    html = sign_in(me).get(f"/conversations/{conversation.id}").get_data(as_text=True)
    assert "What did I plant?" in html and "Tomatoes, on Monday." in html and "Gardener" in html
    assert 'href="https://notes.example/garden"' in html and "/notes/garden.md" in html
    assert "Planted tomatoes on Monday." in html
    assert 'href="https://garden.example/t"' in html and "Tomato guide" in html and "Plant after frost." in html


def test_hostile_messages_are_text_and_bad_links_are_not_links(app_context, sign_in):
    me = make_user()
    hostile = [
        {"by": "you", "message": "<script>alert('you')</script>"},
        {"by": "khoj", "message": "<img src=x onerror=alert(1)>",
         "context": [{"compiled": "<b>bold</b>", "file": "notes.md", "uri": "javascript:alert(2)"}],
         "onlineContext": {"q": {"organic": [{"title": "<i>t</i>", "link": "data:text/html,<script>x</script>"}]}}},
    ]
    conversation = make_conversation(me, chat=hostile)
    db.session.commit()
    html = sign_in(me).get(f"/conversations/{conversation.id}").get_data(as_text=True)
    assert "<script>alert('you')" not in html and "&lt;script&gt;alert(" in html
    assert "<img src=x" not in html and "<b>bold</b>" not in html and "<i>t</i>" not in html
    assert "javascript:alert(2)" not in html
    assert 'href="javascript:' not in html and 'href="data:' not in html


@pytest.mark.parametrize("method,path", [
    ("get", "/conversations/{id}"), ("post", "/conversations/{id}"), ("get", "/conversations/{id}/delete"),
    ("post", "/conversations/{id}/delete"), ("get", "/conversations/{id}/export"),
])
def test_someone_elses_conversation_is_404(app_context, sign_in, method, path):
    owner, intruder = make_user(), make_user()
    conversation = make_conversation(owner, title="Private chat")
    db.session.commit()
    client = sign_in(intruder)
    response = getattr(client, method)(path.format(id=conversation.id), data={"title": "Mine now"})
    assert response.status_code == 404
    db.session.refresh(conversation)
    assert conversation.title == "Private chat"


def test_rename(app_context, sign_in):
    me = make_user()
    conversation = make_conversation(me)
    db.session.commit()
    client = sign_in(me)
    response = client.post(f"/conversations/{conversation.id}", data={"title": "  Tomatoes  "})
    assert response.status_code == 302
    db.session.refresh(conversation)
    assert conversation.title == "Tomatoes"
    response = client.post(f"/conversations/{conversation.id}", data={"title": "x" * 501})
    assert response.status_code == 422 and "Field cannot be longer than 500 characters." in response.get_data(as_text=True)
    db.session.refresh(conversation)
    assert conversation.title == "Tomatoes"


def test_delete_asks_first(app_context, sign_in):
    me = make_user()
    conversation = make_conversation(me, title="Going away")
    db.session.commit()
    client = sign_in(me)
    page = client.get(f"/conversations/{conversation.id}/delete")
    assert page.status_code == 200 and "cannot be undone" in page.get_data(as_text=True)
    assert db.session.get(Conversation, conversation.id) is not None
    assert client.post(f"/conversations/{conversation.id}/delete", data={}).status_code == 302
    assert db.session.get(Conversation, conversation.id) is None


def test_export_one_and_all_validate_against_the_schemas(app_context, sign_in):
    me = make_user()
    agent = make_agent(me, name="Gardener")
    first = make_conversation(me, title="First", agent=agent)
    make_conversation(me, title="Second", chat=[USER_MESSAGE])
    db.session.commit()
    client = sign_in(me)
    with client.get(f"/conversations/{first.id}/export") as response:
        assert response.mimetype == "application/json" and "attachment" in response.headers["Content-Disposition"]
        one = ConversationExport.model_validate(response.json)
    assert one.title == "First" and one.agent == agent.slug and len(one.chat) == 2
    assert response.json["chat"][1] == KHOJ_MESSAGE  # stored keys written back exactly
    with client.get("/conversations/export") as response:
        everything = ConversationsExport.model_validate(response.json)
    assert sorted(c.title for c in everything.conversations) == ["First", "Second"]


def test_import_roundtrip(app_context, sign_in, count_rows):
    me = make_user()
    agent = make_agent(me, name="Gardener")
    make_conversation(me, title="Original", agent=agent)
    db.session.commit()
    client = sign_in(me)
    with client.get("/conversations/export") as response:
        exported = response.json
    before = count_rows(Conversation, Conversation.user_id == me.id)
    response = upload(client, exported)
    assert response.status_code == 302
    assert count_rows(Conversation, Conversation.user_id == me.id) == before + 1
    copy = db.session.execute(sa.select(Conversation).where(Conversation.user_id == me.id)
                              .order_by(Conversation.id.desc())).scalars().first()
    assert copy.title == "Original" and copy.agent_id == agent.id
    assert copy.conversation_log == {"chat": [USER_MESSAGE, KHOJ_MESSAGE]}


def test_invalid_import_shows_the_exact_errors_and_writes_nothing(app_context, sign_in, count_rows):
    me = make_user()
    db.session.commit()
    client = sign_in(me)
    bad = {"conversations": [
        {"title": "fine", "chat": [USER_MESSAGE]},
        {"title": "broken", "chat": [{"by": "robot", "message": "hi"}, {"by": "khoj"}]},
    ]}
    before = count_rows(Conversation)
    response = upload(client, bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was imported." in html
    assert "conversations[1].chat[0].by: Input should be &#39;you&#39; or &#39;khoj&#39;" in html
    assert "conversations[1].chat[1].message: Field required" in html
    assert count_rows(Conversation) == before


@pytest.mark.parametrize("raw,message", [
    (b"{not json", "The file is not valid JSON"),
    (json.dumps({"conversations": [], "extra": 1}).encode(), "extra: Extra inputs are not permitted"),
    (json.dumps({"chat": [USER_MESSAGE], "agent": "no-such-agent"}).encode(),
     "agent: No agent &#39;no-such-agent&#39; that you can use."),
])
def test_other_bad_imports(app_context, sign_in, count_rows, raw, message):
    me = make_user()
    db.session.commit()
    before = count_rows(Conversation)
    response = upload(sign_in(me), raw)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert count_rows(Conversation) == before


def test_import_cannot_attach_someone_elses_private_agent(app_context, sign_in, count_rows):
    me, other = make_user(), make_user()
    secret = make_agent(other, name="Secret", privacy_level="private")
    db.session.commit()
    response = upload(sign_in(me), {"chat": [USER_MESSAGE], "agent": secret.slug})
    assert response.status_code == 422
    assert count_rows(Conversation, Conversation.user_id == me.id) == 0


def test_api_list_export_import(app_context, client, count_rows):
    me, other = make_user(), make_user()
    mine = make_conversation(me, title="API chat")
    theirs = make_conversation(other, title="Not mine")
    headers = {"Authorization": f"Bearer {make_token(me)[1]}"}
    db.session.commit()
    listed = client.get("/api/conversations", headers=headers).json
    assert [c["title"] for c in listed["conversations"]] == ["API chat"] and listed["total"] == 1
    assert listed["conversations"][0]["messages"] == 2
    exported = client.get(f"/api/conversations/{mine.id}/export", headers=headers)
    assert exported.status_code == 200 and ConversationExport.model_validate(exported.json).title == "API chat"
    assert client.get(f"/api/conversations/{theirs.id}/export", headers=headers).status_code == 404

    before = count_rows(Conversation)
    bad = client.post("/api/conversations/import", headers=headers,
                      json={"conversations": [{"chat": [{"by": "you"}]}]})
    assert bad.status_code == 422
    assert bad.json["details"] == [{"message": "conversations[0].chat[0].message: Field required"}]
    assert count_rows(Conversation) == before
    good = client.post("/api/conversations/import", headers=headers, json=exported.json)
    assert good.status_code == 201 and good.json["imported"] == 1
    assert count_rows(Conversation) == before + 1
    assert client.get("/api/conversations").status_code == 401
