"""Choosing chat and voice models: cards, tier gating on page and server, fallback without erasing the choice."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from portal.ai_models import services
from portal.extensions import db
from portal.models import Agent, ChatModel, ServerChatSettings, VoiceModelOption, UserConversationConfig, UserVoiceModelConfig
from tests.factories import make_chat_model, make_subscription, make_token, make_user, make_voice_model

pytestmark = pytest.mark.usefixtures("app")


def now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def catalogue():
    """A free default, a standard model with a bigger prompt for subscribers, and two voices."""
    free = make_chat_model(name="gpt-free-mini", friendly_name="Free Mini", price_tier="free",
                           description="Quick everyday answers.", strengths="Speed", max_prompt_size=8000)
    standard = make_chat_model(name="claude-pro", friendly_name="Pro Writer", price_tier="standard",
                               model_type="anthropic", vision_enabled=True, description="Long careful answers.",
                               strengths="Reasoning, writing", max_prompt_size=16000,
                               subscribed_max_prompt_size=120000)
    db.session.add(ServerChatSettings(chat_default=free, priority=1))
    voice_free = make_voice_model(model_id="voice-free", name="Plain Voice", price_tier="free")
    voice_std = make_voice_model(model_id="voice-std", name="Studio Voice", price_tier="standard")
    db.session.commit()
    return {"free": free, "standard": standard, "voice_free": voice_free, "voice_std": voice_std}


def subscriber(**sub):
    user = make_user()
    make_subscription(user, **(sub or {"type": "standard", "is_recurring": True,
                                       "renewal_date": now() + timedelta(days=30)}))
    db.session.commit()
    return user


def free_user():
    user = make_user()
    db.session.commit()
    return user


def saved_chat_id(user):
    db.session.expire_all()
    return db.session.execute(sa.select(UserConversationConfig.setting_id)
                              .where(UserConversationConfig.user_id == user.id)).scalar_one_or_none()


def card(html: str, model, kind: str = "chat") -> str:
    """The HTML of one model card, up to the next card."""
    start = html.index(f'data-model-id="{model.id}" data-kind="{kind}"')
    end = html.find("data-model-id=", start + 1)
    return html[start:end if end != -1 else len(html)]


def test_cards_show_name_description_strengths_vision_tier_and_prompt_size(login_as, billing, catalogue):
    html = login_as(subscriber()).get("/models").get_data(as_text=True)
    pro = card(html, catalogue["standard"])
    for text in ("Long careful answers.", "Reasoning, writing", "Vision", "Standard", "120,000 tokens"):
        assert text in pro
    mini = card(html, catalogue["free"])
    assert "Free" in mini and "Text only" in mini and "8,000 tokens" in mini
    assert "Chats use <strong>Free Mini</strong> (the server default)" in html


def test_free_users_see_standard_models_locked_and_the_smaller_prompt(login_as, billing, catalogue):
    html = login_as(free_user()).get("/models").get_data(as_text=True)
    pro = card(html, catalogue["standard"])
    assert "Subscribe to switch" in pro and "disabled" in pro
    assert f"/models/chat/{catalogue['standard'].id}" not in html
    assert "16,000 tokens" in pro
    assert f'action="/models/voice/{catalogue["voice_free"].id}"' in card(html, catalogue["voice_free"], "voice")
    assert "Subscribe to switch" in card(html, catalogue["voice_std"], "voice")


def test_the_server_refuses_a_standard_model_to_a_free_user(login_as, billing, catalogue):
    user = free_user()
    client = login_as(user)
    response = client.post(f"/models/chat/{catalogue['standard'].id}", data={}, follow_redirects=True)
    assert "Subscribe to switch to this chat model." in response.get_data(as_text=True)
    assert saved_chat_id(user) is None
    response = client.post(f"/models/voice/{catalogue['voice_std'].id}", data={}, follow_redirects=True)
    assert "Subscribe to switch to this voice model." in response.get_data(as_text=True)


def test_a_subscriber_picks_a_standard_model(login_as, billing, catalogue):
    user = subscriber()
    client = login_as(user)
    response = client.post(f"/models/chat/{catalogue['standard'].id}", data={}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Your chat model is now Pro Writer." in html
    assert saved_chat_id(user) == catalogue["standard"].id
    assert services.effective_chat_model(user).id == catalogue["standard"].id
    assert "Chats use <strong>Pro Writer</strong>." in html


def test_a_lapsed_subscription_takes_standard_models_away_without_erasing_the_choice(login_as, billing, catalogue):
    user = subscriber(type="trial", enabled_trial_at=now(), renewal_date=now() + timedelta(days=7))
    client = login_as(user)
    client.post(f"/models/chat/{catalogue['standard'].id}", data={})
    client.post(f"/models/voice/{catalogue['voice_std'].id}", data={})
    assert services.effective_chat_model(user).id == catalogue["standard"].id

    make_subscription(user, renewal_date=now() - timedelta(seconds=1))  # the trial is over
    db.session.commit()
    assert services.effective_chat_model(user).id == catalogue["free"].id
    assert services.effective_voice_model(user).id == catalogue["voice_free"].id
    assert services.max_prompt_size(user, catalogue["standard"]) == 16000
    assert saved_chat_id(user) == catalogue["standard"].id  # kept
    html = client.get("/models").get_data(as_text=True)
    assert 'id="chat-fallback"' in html and "Your choice · paused" in html
    assert "Chats use <strong>Free Mini</strong>." in html

    # Paying again brings the saved choice back.
    make_subscription(user, type="standard", is_recurring=True, renewal_date=now() + timedelta(days=30))
    db.session.commit()
    assert services.effective_chat_model(user).id == catalogue["standard"].id


def test_a_deleted_model_falls_back_to_the_server_default(login_as, catalogue):
    user = free_user()
    extra = make_chat_model(name="short-lived")
    db.session.commit()
    login_as(user).post(f"/models/chat/{extra.id}", data={})
    db.session.delete(extra)
    db.session.commit()
    assert services.effective_chat_model(user).id == catalogue["free"].id


def test_without_billing_everyone_may_pick_standard_models(login_as, catalogue):
    user = free_user()
    client = login_as(user)
    html = client.get("/models").get_data(as_text=True)
    assert "Subscribe to switch" not in html
    client.post(f"/models/chat/{catalogue['standard'].id}", data={})
    assert saved_chat_id(user) == catalogue["standard"].id


def test_unknown_models_are_404_and_choices_need_csrf(login_as, catalogue):
    user = free_user()
    client = login_as(user)
    assert client.post("/models/chat/999999999", data={}).status_code == 404
    assert client.post(f"/models/chat/{catalogue['free'].id}", data={}, csrf=False).status_code == 400
    assert saved_chat_id(user) is None


def test_the_empty_page_says_what_to_do(login_as):
    user = free_user()
    # Rolled back after the test: no agent may point at a chat model while they are all removed.
    db.session.execute(sa.update(Agent).values(chat_model_id=None))
    db.session.execute(sa.delete(ChatModel))
    db.session.execute(sa.delete(VoiceModelOption))
    html = login_as(user).get("/models").get_data(as_text=True)
    assert "No chat models are configured yet" in html
    assert "No voice models are configured yet" in html


# --------------------------------------------------------------------------- JSON API


def bearer(user) -> dict:
    _, token = make_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_api_lists_chat_models_with_the_effective_one(client, billing, catalogue):
    user = free_user()
    body = client.get("/api/models/chat", headers=bearer(user)).json
    options = {o["id"]: o for o in body["options"]}
    assert options[catalogue["standard"].id]["allowed"] is False
    assert options[catalogue["standard"].id]["max_prompt_size"] == 16000
    assert options[catalogue["free"].id]["allowed"] is True
    assert body["selected"] is None and body["effective"]["id"] == catalogue["free"].id


def test_api_selects_with_a_json_body_or_khojs_query_parameter(client, billing, catalogue):
    user = subscriber()
    headers = bearer(user)
    response = client.post("/api/models/chat", json={"id": catalogue["standard"].id}, headers=headers)
    assert response.status_code == 200 and response.json["selected"]["id"] == catalogue["standard"].id
    assert saved_chat_id(user) == catalogue["standard"].id
    response = client.post(f"/api/models/chat?id={catalogue['free'].id}", headers=headers)
    assert response.status_code == 200
    assert saved_chat_id(user) == catalogue["free"].id


def test_api_refuses_bad_bodies_unknown_models_and_locked_tiers(client, billing, catalogue):
    user = free_user()
    headers = bearer(user)
    assert client.post("/api/models/chat", json={"id": "three"}, headers=headers).status_code == 422
    assert client.post("/api/models/chat", json={"id": 1, "is_staff": True}, headers=headers).status_code == 422
    assert client.post("/api/models/chat", data="id=1", headers=headers).status_code == 400
    assert client.post("/api/models/chat", json={"id": 999999999}, headers=headers).status_code == 404
    response = client.post("/api/models/chat", json={"id": catalogue["standard"].id}, headers=headers)
    assert response.status_code == 403 and response.json["error"] == "Subscribe to switch to this chat model."
    assert saved_chat_id(user) is None
    assert client.get("/api/models/chat").status_code == 401
    assert client.post("/api/models/chat", json={"id": catalogue["free"].id}).status_code == 401


def test_api_voice_models(client, billing, catalogue):
    user = subscriber()
    headers = bearer(user)
    body = client.get("/api/models/voice", headers=headers).json
    assert {o["name"] for o in body["options"]} >= {"Plain Voice", "Studio Voice"}
    response = client.post("/api/models/voice", json={"id": catalogue["voice_std"].id}, headers=headers)
    assert response.status_code == 200
    db.session.expire_all()
    saved = db.session.execute(sa.select(UserVoiceModelConfig.setting_id)
                               .where(UserVoiceModelConfig.user_id == user.id)).scalar_one()
    assert saved == catalogue["voice_std"].id
    assert client.get("/api/models/voice", headers=headers).json["effective"]["id"] == catalogue["voice_std"].id


def test_the_models_page_needs_a_signed_in_user(client):
    response = client.get("/models")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/models/chat/1", data={}).status_code == 302
