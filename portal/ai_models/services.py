"""Chat and voice model choice: which models a user may use, and which one applies.

One rule, one place: the model choice page, the agents form and the JSON API all ask here.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import ChatModel, ServerChatSettings, UserConversationConfig, UserVoiceModelConfig, VoiceModelOption
from ..subscriptions.state import is_subscribed


def user_is_subscribed(user) -> bool:
    return is_subscribed(user, current_app.config)


def can_use_model(user, model) -> bool:
    """A standard-tier chat or voice model needs a subscription (or billing not configured)."""
    if model is None:
        return False
    return model.price_tier == "free" or user_is_subscribed(user)


def server_chat_settings() -> ServerChatSettings | None:
    return db.session.execute(
        sa.select(ServerChatSettings).order_by(ServerChatSettings.priority.asc().nulls_last(), ServerChatSettings.id)
        .limit(1)
    ).scalar_one_or_none()


def default_chat_model() -> ChatModel | None:
    """The server default: ServerChatSettings.chat_default, else the first free model."""
    settings = server_chat_settings()
    if settings is not None and settings.chat_default is not None:
        return settings.chat_default
    return db.session.execute(
        sa.select(ChatModel).where(ChatModel.price_tier == "free").order_by(ChatModel.id).limit(1)
    ).scalar_one_or_none()


def effective_chat_model(user) -> ChatModel | None:
    """The user's saved choice while they may use it; otherwise the server default. The choice is kept."""
    config = db.session.execute(
        sa.select(UserConversationConfig).where(UserConversationConfig.user_id == user.id)
    ).scalar_one_or_none()
    if config is not None and config.setting is not None and can_use_model(user, config.setting):
        return config.setting
    return default_chat_model()


def effective_voice_model(user) -> VoiceModelOption | None:
    config = db.session.execute(
        sa.select(UserVoiceModelConfig).where(UserVoiceModelConfig.user_id == user.id)
    ).scalar_one_or_none()
    if config is not None and config.setting is not None and can_use_model(user, config.setting):
        return config.setting
    return db.session.execute(
        sa.select(VoiceModelOption).where(VoiceModelOption.price_tier == "free").order_by(VoiceModelOption.id).limit(1)
    ).scalar_one_or_none()


def max_prompt_size(user, model: ChatModel) -> int | None:
    """subscribed_max_prompt_size when subscribed and set, else max_prompt_size."""
    if user_is_subscribed(user) and model.subscribed_max_prompt_size:
        return model.subscribed_max_prompt_size
    return model.max_prompt_size
