"""Chat and voice model choice: which models a user may use, and which one applies.

One rule, one place: the model choice page, the agents form and the JSON API all ask here.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert

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


# --------------------------------------------------------------------------- the user's choice


class ModelChoiceError(Exception):
    """A refused choice; `status` 404 for an unknown model, 403 for one the plan does not include."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message, self.status = message, status


SUBSCRIBE_TO_SWITCH = {
    "chat": "Subscribe to switch to this chat model.",
    "voice": "Subscribe to switch to this voice model.",
}
KINDS = {
    "chat": (ChatModel, UserConversationConfig),
    "voice": (VoiceModelOption, UserVoiceModelConfig),
}


def chat_models() -> list[ChatModel]:
    """Every configured chat model, free tier first, then by name."""
    return list(db.session.execute(
        sa.select(ChatModel).order_by(ChatModel.price_tier.asc(), ChatModel.friendly_name, ChatModel.name, ChatModel.id)
    ).scalars())


def voice_models() -> list[VoiceModelOption]:
    return list(db.session.execute(
        sa.select(VoiceModelOption).order_by(VoiceModelOption.price_tier.asc(), VoiceModelOption.name,
                                             VoiceModelOption.id)
    ).scalars())


def saved_choice(user, kind: str):
    """The model the user picked (kept even while their plan does not allow it), or None."""
    _, config_model = KINDS[kind]
    return db.session.execute(
        sa.select(config_model.setting_id).where(config_model.user_id == user.id)
    ).scalar_one_or_none()


def select_model(user, kind: str, model_id) -> object:
    """Save the user's chat or voice model choice; refused for unknown ids and for tiers beyond the plan."""
    model_class, config_model = KINDS[kind]
    model = db.session.get(model_class, model_id) if isinstance(model_id, int) else None
    if model is None:
        raise ModelChoiceError(f"There is no {kind} model with this id.", 404)
    if not can_use_model(user, model):
        raise ModelChoiceError(SUBSCRIBE_TO_SWITCH[kind], 403)
    # One row per user; an upsert, so two tabs choosing at once cannot collide on the unique key.
    db.session.execute(
        insert(config_model).values(user_id=user.id, setting_id=model.id)
        .on_conflict_do_update(index_elements=["user_id"],
                               set_={"setting_id": model.id, "updated_at": sa.func.now()})
        .returning(config_model),
        execution_options={"populate_existing": True},
    ).scalar_one()
    return model


def model_json(user, model, kind: str) -> dict:
    if kind == "voice":
        return {"id": model.id, "model_id": model.model_id, "name": model.name, "tier": model.price_tier,
                "allowed": can_use_model(user, model)}
    return {
        "id": model.id, "chat_model": model.name, "name": model.display_name, "model_type": model.model_type,
        "tier": model.price_tier, "vision": model.vision_enabled, "description": model.description,
        "strengths": model.strengths, "max_prompt_size": max_prompt_size(user, model),
        "allowed": can_use_model(user, model),
    }
