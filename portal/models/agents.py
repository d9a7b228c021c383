"""Agents and conversations."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import TimestampedModel, choice, fk
from .choices import INPUT_TOOLS, OUTPUT_MODES, PRIVACY_LEVELS, STYLE_COLORS, STYLE_ICONS


def _array_within(column: str, values) -> str:
    allowed = ", ".join(f"'{value}'" for value in values)
    return f"{column} <@ ARRAY[{allowed}]::varchar[]"


class Agent(TimestampedModel):
    __tablename__ = "agent"
    __table_args__ = (
        # A null creator means the agent is managed by admins, and only then.
        sa.CheckConstraint("managed_by_admin = (creator_id IS NULL)", name="managed_by_admin_iff_no_creator"),
        sa.CheckConstraint(_array_within("input_tools", INPUT_TOOLS), name="input_tools_known"),
        sa.CheckConstraint(_array_within("output_modes", OUTPUT_MODES), name="output_modes_known"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
    )

    creator_id: Mapped[int | None] = mapped_column(fk("khoj_user.id", "CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    personality: Mapped[str | None] = mapped_column(sa.Text)
    # Empty means "all allowed", as in Khoj.
    input_tools: Mapped[list[str]] = mapped_column(
        ARRAY(sa.String(20)), server_default="{}", default=list
    )
    output_modes: Mapped[list[str]] = mapped_column(
        ARRAY(sa.String(20)), server_default="{}", default=list
    )
    managed_by_admin: Mapped[bool] = mapped_column(server_default=sa.false(), default=False)
    # Null means "the server's default chat model". Deleting a chat model that agents use is refused.
    chat_model_id: Mapped[int | None] = mapped_column(fk("chat_model.id", "RESTRICT"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(200), unique=True)
    style_color: Mapped[str] = mapped_column(
        choice(STYLE_COLORS, "agent_style_color"), server_default="orange", default="orange"
    )
    style_icon: Mapped[str] = mapped_column(
        choice(STYLE_ICONS, "agent_style_icon"), server_default="Lightbulb", default="Lightbulb"
    )
    privacy_level: Mapped[str] = mapped_column(
        choice(PRIVACY_LEVELS, "agent_privacy_level"), server_default="private", default="private"
    )
    is_hidden: Mapped[bool] = mapped_column(server_default=sa.false(), default=False)
    # A user's public agent is listed for everyone only once an admin approves it.
    is_approved: Mapped[bool] = mapped_column(server_default=sa.false(), default=False)
    # Optimistic locking: two editors saving at once get a conflict, not a silent overwrite.
    version: Mapped[int] = mapped_column(server_default="1", default=1)

    creator: Mapped["KhojUser | None"] = relationship()  # noqa: F821
    chat_model: Mapped["ChatModel | None"] = relationship()  # noqa: F821

    __mapper_args__ = {"version_id_col": version}

    def __str__(self) -> str:
        return self.name


class Conversation(TimestampedModel):
    """A chat. conversation_log is Khoj's {"chat": [ChatMessage, …]}, validated by portal.schemas."""

    __tablename__ = "conversation"
    __table_args__ = (sa.Index("ix_conversation_user_id_updated_at", "user_id", "updated_at"),)

    user_id: Mapped[int] = mapped_column(fk("khoj_user.id", "CASCADE"))
    agent_id: Mapped[int | None] = mapped_column(fk("agent.id", "SET NULL"), index=True)
    title: Mapped[str | None] = mapped_column(sa.String(500))
    slug: Mapped[str | None] = mapped_column(sa.String(200))
    conversation_log: Mapped[dict] = mapped_column(
        JSONB, server_default=sa.text("""'{"chat": []}'::jsonb"""), default=lambda: {"chat": []}
    )

    user: Mapped["KhojUser"] = relationship()  # noqa: F821
    agent: Mapped[Agent | None] = relationship()
