"""AI model APIs, chat and voice models, search model configs, server defaults and users' choices."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crypto import EncryptedString
from .base import TimestampedModel, choice, fk
from .choices import CHAT_MODEL_TYPES, PRICE_TIERS, SEARCH_ENDPOINT_TYPES, SEARCH_MODEL_TYPES


class AiModelApi(TimestampedModel):
    __tablename__ = "ai_model_api"

    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    api_key: Mapped[str] = mapped_column(EncryptedString("ai_model_api.api_key"))
    api_base_url: Mapped[str | None] = mapped_column(sa.String(2048))

    chat_models: Mapped[list[ChatModel]] = relationship(back_populates="ai_model_api")

    def __str__(self) -> str:
        return self.name


class ChatModel(TimestampedModel):
    __tablename__ = "chat_model"
    __table_args__ = (
        sa.UniqueConstraint("name", "ai_model_api_id", postgresql_nulls_not_distinct=True),
        sa.CheckConstraint("max_prompt_size IS NULL OR max_prompt_size > 0", name="max_prompt_size_positive"),
        sa.CheckConstraint(
            "subscribed_max_prompt_size IS NULL OR subscribed_max_prompt_size > 0",
            name="subscribed_max_prompt_size_positive",
        ),
    )

    name: Mapped[str] = mapped_column(sa.String(200))
    friendly_name: Mapped[str | None] = mapped_column(sa.String(200))
    model_type: Mapped[str] = mapped_column(
        choice(CHAT_MODEL_TYPES, "chat_model_type"), server_default="openai", default="openai"
    )
    price_tier: Mapped[str] = mapped_column(
        choice(PRICE_TIERS, "chat_model_price_tier"), server_default="free", default="free"
    )
    max_prompt_size: Mapped[int | None]
    subscribed_max_prompt_size: Mapped[int | None]
    tokenizer: Mapped[str | None] = mapped_column(sa.String(200))
    vision_enabled: Mapped[bool] = mapped_column(server_default=sa.false(), default=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    strengths: Mapped[str | None] = mapped_column(sa.Text)
    # Deleting an API that chat models still use is refused (Khoj cascades and loses them).
    ai_model_api_id: Mapped[int | None] = mapped_column(fk("ai_model_api.id", "RESTRICT"), index=True)

    ai_model_api: Mapped[AiModelApi | None] = relationship(back_populates="chat_models")

    @property
    def display_name(self) -> str:
        return self.friendly_name or self.name

    def __str__(self) -> str:
        return self.display_name


class VoiceModelOption(TimestampedModel):
    __tablename__ = "voice_model_option"

    model_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    price_tier: Mapped[str] = mapped_column(
        choice(PRICE_TIERS, "voice_model_price_tier"), server_default="standard", default="standard"
    )

    def __str__(self) -> str:
        return self.name


class SearchModelConfig(TimestampedModel):
    """How text is embedded. Exactly one config is active (a partial unique index enforces it)."""

    __tablename__ = "search_model_config"
    __table_args__ = (
        sa.Index("uq_search_model_config_active", "is_active", unique=True, postgresql_where=sa.text("is_active")),
        sa.CheckConstraint(
            "bi_encoder_confidence_threshold >= 0 AND bi_encoder_confidence_threshold <= 2",
            name="confidence_threshold_range",
        ),
    )

    name: Mapped[str] = mapped_column(sa.String(200), unique=True, server_default="default", default="default")
    model_type: Mapped[str] = mapped_column(
        choice(SEARCH_MODEL_TYPES, "search_model_type"), server_default="text", default="text"
    )
    bi_encoder: Mapped[str] = mapped_column(
        sa.String(200), server_default="all-MiniLM-L6-v2", default="all-MiniLM-L6-v2"
    )
    embeddings_inference_endpoint_type: Mapped[str] = mapped_column(
        choice(SEARCH_ENDPOINT_TYPES, "search_endpoint_type"), server_default="local", default="local"
    )
    embeddings_inference_endpoint: Mapped[str | None] = mapped_column(sa.String(2048))
    embeddings_inference_endpoint_api_key: Mapped[str | None] = mapped_column(
        EncryptedString("search_model_config.embeddings_inference_endpoint_api_key")
    )
    # Cosine distance above which a result is dropped (Khoj's default 0.18).
    bi_encoder_confidence_threshold: Mapped[float] = mapped_column(server_default="0.18", default=0.18)
    cross_encoder: Mapped[str | None] = mapped_column(sa.String(200))
    cross_encoder_inference_endpoint: Mapped[str | None] = mapped_column(sa.String(2048))
    cross_encoder_inference_endpoint_api_key: Mapped[str | None] = mapped_column(
        EncryptedString("search_model_config.cross_encoder_inference_endpoint_api_key")
    )
    is_active: Mapped[bool] = mapped_column(server_default=sa.false(), default=False)

    def __str__(self) -> str:
        return self.name


class ServerChatSettings(TimestampedModel):
    """Defaults for users who made no choice. Lower priority wins when several rows exist."""

    __tablename__ = "server_chat_settings"

    chat_default_id: Mapped[int | None] = mapped_column(fk("chat_model.id", "SET NULL"))
    chat_advanced_id: Mapped[int | None] = mapped_column(fk("chat_model.id", "SET NULL"))
    web_scraper_id: Mapped[int | None] = mapped_column(fk("web_scraper.id", "SET NULL"))
    priority: Mapped[int | None] = mapped_column(unique=True)

    chat_default: Mapped[ChatModel | None] = relationship(foreign_keys=[chat_default_id])
    chat_advanced: Mapped[ChatModel | None] = relationship(foreign_keys=[chat_advanced_id])
    web_scraper: Mapped["WebScraper | None"] = relationship()  # noqa: F821


class UserConversationConfig(TimestampedModel):
    """The user's chosen chat model. A deleted model clears the choice; the server default applies."""

    __tablename__ = "user_conversation_config"

    user_id: Mapped[int] = mapped_column(fk("khoj_user.id", "CASCADE"), unique=True)
    setting_id: Mapped[int | None] = mapped_column(fk("chat_model.id", "SET NULL"), index=True)

    setting: Mapped[ChatModel | None] = relationship()


class UserVoiceModelConfig(TimestampedModel):
    __tablename__ = "user_voice_model_config"

    user_id: Mapped[int] = mapped_column(fk("khoj_user.id", "CASCADE"), unique=True)
    setting_id: Mapped[int | None] = mapped_column(fk("voice_model_option.id", "SET NULL"), index=True)

    setting: Mapped[VoiceModelOption | None] = relationship()
