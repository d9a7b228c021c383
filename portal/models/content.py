"""Indexed content: whole files and their searchable entries (chunks with embeddings)."""
from __future__ import annotations

import uuid as uuid_lib

import sqlalchemy as sa
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import TimestampedModel, choice, fk
from .choices import FILE_SOURCES, FILE_TYPES

EMBEDDING_DIMENSIONS = 384


class FileObject(TimestampedModel):
    """The full text of one indexed file, owned by a user or by an agent."""

    __tablename__ = "file_object"
    __table_args__ = (
        sa.CheckConstraint("user_id IS NOT NULL OR agent_id IS NOT NULL", name="has_owner"),
        sa.UniqueConstraint("user_id", "agent_id", "file_name", postgresql_nulls_not_distinct=True),
    )

    user_id: Mapped[int | None] = mapped_column(fk("khoj_user.id", "CASCADE"), index=True)
    agent_id: Mapped[int | None] = mapped_column(fk("agent.id", "CASCADE"), index=True)
    file_name: Mapped[str] = mapped_column(sa.String(1024))
    raw_text: Mapped[str] = mapped_column(sa.Text)


class Entry(TimestampedModel):
    """One searchable chunk. vector(384) so it can carry an HNSW index (Khoj's unsized column cannot)."""

    __tablename__ = "entry"
    __table_args__ = (
        sa.CheckConstraint("user_id IS NOT NULL OR agent_id IS NOT NULL", name="has_owner"),
        sa.Index(
            "ix_entry_embeddings_hnsw", "embeddings",
            postgresql_using="hnsw", postgresql_ops={"embeddings": "vector_cosine_ops"},
            postgresql_with={"m": 16, "ef_construction": 64},
        ),
        sa.Index("ix_entry_search_vector", "search_vector", postgresql_using="gin"),
        sa.Index("ix_entry_user_id_file_path", "user_id", "file_path"),
        sa.Index("ix_entry_agent_id_file_path", "agent_id", "file_path"),
        sa.Index("ix_entry_user_id_hashed_value", "user_id", "hashed_value"),
        sa.Index("ix_entry_created_at", "created_at"),
        # The admin's path search (ILIKE '%…%').
        sa.Index("ix_entry_file_path_trgm", "file_path", postgresql_using="gin",
                 postgresql_ops={"file_path": "gin_trgm_ops"}),
        # The admin's type and source filters: newest first within the filter, and a cheap capped count.
        sa.Index("ix_entry_file_type_id", "file_type", "id"),
        sa.Index("ix_entry_file_source_id", "file_source", "id"),
    )

    user_id: Mapped[int | None] = mapped_column(fk("khoj_user.id", "CASCADE"))
    agent_id: Mapped[int | None] = mapped_column(fk("agent.id", "CASCADE"))
    embeddings = mapped_column(Vector(EMBEDDING_DIMENSIONS), nullable=False)
    raw: Mapped[str] = mapped_column(sa.Text)
    compiled: Mapped[str] = mapped_column(sa.Text)
    heading: Mapped[str | None] = mapped_column(sa.Text)
    file_source: Mapped[str] = mapped_column(
        choice(FILE_SOURCES, "entry_file_source"), server_default="computer", default="computer"
    )
    file_type: Mapped[str] = mapped_column(
        choice(FILE_TYPES, "entry_file_type"), server_default="plaintext", default="plaintext"
    )
    file_path: Mapped[str | None] = mapped_column(sa.String(1024))
    file_name: Mapped[str | None] = mapped_column(sa.String(1024))
    url: Mapped[str | None] = mapped_column(sa.String(2048))
    hashed_value: Mapped[str] = mapped_column(sa.String(32))
    corpus_id: Mapped[uuid_lib.UUID] = mapped_column(
        UUID(as_uuid=True), default=uuid_lib.uuid4, server_default=sa.text("gen_random_uuid()")
    )
    search_model_id: Mapped[int | None] = mapped_column(fk("search_model_config.id", "SET NULL"), index=True)
    file_object_id: Mapped[int | None] = mapped_column(fk("file_object.id", "CASCADE"), index=True)
    # Full-text index over heading and compiled text, kept by the database itself.
    search_vector = mapped_column(
        TSVECTOR,
        sa.Computed("to_tsvector('english', coalesce(heading, '') || ' ' || compiled)", persisted=True),
    )

    file_object: Mapped[FileObject | None] = relationship()
