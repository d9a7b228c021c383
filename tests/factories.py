"""Small factories: each makes one valid row, with keyword overrides, and flushes it."""
from __future__ import annotations

import itertools

from portal.auth import generate_token, hash_token, token_hint
from portal.extensions import db
from portal.models import (
    Agent, AiModelApi, ChatModel, KhojApiUser, KhojUser, Subscription, VoiceModelOption, WebScraper,
)

_counter = itertools.count(1)
DEFAULT_PASSWORD = "correct horse battery staple"


def _n() -> int:
    return next(_counter)


_default_hash: str | None = None


def make_user(email: str | None = None, password: str | None = DEFAULT_PASSWORD, **overrides) -> KhojUser:
    """A user (with its Subscription). The default password's argon2 hash is computed once per run,
    because hashing at production cost for every test user would dominate the suite's time."""
    global _default_hash
    from portal.accounts.passwords import hash_password
    from portal.accounts.services import create_user

    email = email or f"user{_n()}@example.com"
    user = create_user(email, None if password == DEFAULT_PASSWORD else password, **overrides)
    if password == DEFAULT_PASSWORD:
        _default_hash = _default_hash or hash_password(DEFAULT_PASSWORD)
        user.password_hash = _default_hash
    db.session.flush()
    return user


def make_admin(**overrides) -> KhojUser:
    overrides.setdefault("is_staff", True)
    overrides.setdefault("is_superuser", True)
    return make_user(**overrides)


def make_token(user: KhojUser, name: str = "script", **overrides) -> tuple[KhojApiUser, str]:
    """A token row and the token itself (which only the caller ever sees)."""
    token = generate_token()
    row = KhojApiUser(user=user, token_hash=hash_token(token), token_hint=token_hint(token), name=name, **overrides)
    db.session.add(row)
    db.session.flush()
    return row, token


def make_ai_model_api(**overrides) -> AiModelApi:
    fields = {"name": f"Provider {_n()}", "api_key": f"sk-test-{_n():06d}-secretvalue", "api_base_url": None}
    fields.update(overrides)
    api = AiModelApi(**fields)
    db.session.add(api)
    db.session.flush()
    return api


def make_chat_model(**overrides) -> ChatModel:
    fields = {"name": f"model-{_n()}", "model_type": "openai", "price_tier": "free", "max_prompt_size": 8000}
    fields.update(overrides)
    model = ChatModel(**fields)
    db.session.add(model)
    db.session.flush()
    return model


def make_voice_model(**overrides) -> VoiceModelOption:
    fields = {"model_id": f"voice-{_n()}", "name": f"Voice {_n()}"}
    fields.update(overrides)
    voice = VoiceModelOption(**fields)
    db.session.add(voice)
    db.session.flush()
    return voice


def make_agent(creator: KhojUser | None = None, **overrides) -> Agent:
    n = _n()
    fields = {
        "name": f"Agent {n}", "slug": f"agent-{n}-{n:06d}", "personality": "Helpful.",
        "creator": creator, "managed_by_admin": creator is None,
    }
    fields.update(overrides)
    agent = Agent(**fields)
    db.session.add(agent)
    db.session.flush()
    return agent


def make_web_scraper(**overrides) -> WebScraper:
    n = _n()
    fields = {"name": f"Scraper {n}", "type": "Direct", "priority": 1000 + n}
    fields.update(overrides)
    scraper = WebScraper(**fields)
    db.session.add(scraper)
    db.session.flush()
    return scraper


def make_subscription(user: KhojUser, **fields) -> Subscription:
    subscription = user.subscription or Subscription(user=user)
    for key, value in fields.items():
        setattr(subscription, key, value)
    db.session.add(subscription)
    db.session.flush()
    return subscription
