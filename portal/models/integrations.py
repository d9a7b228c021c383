"""Notion and GitHub connections, and the web scrapers used to import pages."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crypto import EncryptedString
from .base import TimestampedModel, choice, fk
from .choices import SYNC_STATUSES, WEB_SCRAPER_TYPES


class SyncStatusMixin:
    """What the user sees of a sync: status, when, how much, and the error in words."""

    sync_status: Mapped[str] = mapped_column(
        choice(SYNC_STATUSES, "sync_status"), server_default="never", default="never"
    )
    last_synced_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    files_indexed: Mapped[int] = mapped_column(server_default="0", default=0)
    chunks_indexed: Mapped[int] = mapped_column(server_default="0", default=0)
    # Chunks embedded by the last sync (new or changed); unchanged chunks keep their vectors.
    chunks_embedded: Mapped[int] = mapped_column(server_default="0", default=0)
    sync_error: Mapped[str | None] = mapped_column(sa.Text)
    # What the last sync left out, in words (binaries, files over the size limit, Notion databases).
    sync_notes: Mapped[str | None] = mapped_column(sa.Text)


class NotionConfig(SyncStatusMixin, TimestampedModel):
    __tablename__ = "notion_config"

    user_id: Mapped[int] = mapped_column(fk("khoj_user.id", "CASCADE"), unique=True)
    token: Mapped[str] = mapped_column(EncryptedString("notion_config.token"))

    user: Mapped["KhojUser"] = relationship()  # noqa: F821


class GithubConfig(TimestampedModel):
    __tablename__ = "github_config"

    user_id: Mapped[int] = mapped_column(fk("khoj_user.id", "CASCADE"), unique=True)
    pat_token: Mapped[str] = mapped_column(EncryptedString("github_config.pat_token"))

    user: Mapped["KhojUser"] = relationship()  # noqa: F821
    repos: Mapped[list[GithubRepoConfig]] = relationship(
        back_populates="github_config", cascade="all, delete-orphan", passive_deletes=True,
        order_by="GithubRepoConfig.id",
    )


class GithubRepoConfig(SyncStatusMixin, TimestampedModel):
    __tablename__ = "github_repo_config"
    __table_args__ = (sa.UniqueConstraint("github_config_id", "owner", "name", "branch"),)

    github_config_id: Mapped[int] = mapped_column(fk("github_config.id", "CASCADE"))
    owner: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(100))
    branch: Mapped[str] = mapped_column(sa.String(255), server_default="main", default="main")

    github_config: Mapped[GithubConfig] = relationship(back_populates="repos")


class WebScraper(TimestampedModel):
    """Tried in ascending priority until one returns content."""

    __tablename__ = "web_scraper"

    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    type: Mapped[str] = mapped_column(
        choice(WEB_SCRAPER_TYPES, "web_scraper_type"), server_default="Direct", default="Direct"
    )
    api_key: Mapped[str | None] = mapped_column(EncryptedString("web_scraper.api_key"))
    api_url: Mapped[str | None] = mapped_column(sa.String(2048))
    priority: Mapped[int] = mapped_column(unique=True)

    def __str__(self) -> str:
        return self.name
