"""Indexing: turn one file into searchable entries, atomically, embedding only what changed.

    result = index_document(user, file_path="notes/ideas.md", data=b"# Ideas\\n...")

Transactions: each call runs inside a SAVEPOINT and, by default (``commit=True``), commits when the
file is fully written. A failure (bad file, quota, embedding endpoint down) rolls back that file only
and raises :class:`IndexingError`; entries of other files and the caller's earlier work are untouched.
Pass ``commit=False`` to batch several files into the caller's own transaction (the caller commits).

Per file: chunk → compare md5 ``hashed_value`` of each chunk with the stored ones → embed only new
chunks → insert them, delete chunks that vanished → keep the full text in FileObject. A per-file
advisory lock serialises two indexers working on the same file at once.

Quota (``portal.subscriptions.state.indexing_quota_bytes``): one file larger than the whole quota is
:class:`FileTooLarge` (HTTP 413); a file that would push the user's indexed total past the quota is
:class:`QuotaExceeded` (HTTP 429, as Khoj answers "Too much data indexed").
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import Entry, FileObject, SearchModelConfig
from ..models.choices import FILE_SOURCES, FILE_TYPES

log = logging.getLogger(__name__)

MAX_PATH_LENGTH = 1024


class IndexingError(Exception):
    """A file could not be indexed; ``status`` is the HTTP status an API should answer with."""

    status = 400

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class FileTooLarge(IndexingError):
    status = 413


class QuotaExceeded(IndexingError):
    status = 429


class EmbeddingUnavailable(IndexingError):
    status = 503


@dataclass(frozen=True)
class IndexResult:
    file_path: str
    chunks_total: int
    chunks_added: int
    chunks_deleted: int
    chunks_unchanged: int
    deleted_file: bool = False


def _choices(pairs) -> set[str]:
    return {value if isinstance(value, str) else value[0] for value in pairs}


# --------------------------------------------------------------------------- model selection


def active_search_model() -> SearchModelConfig:
    config = db.session.execute(
        sa.select(SearchModelConfig).where(SearchModelConfig.is_active).limit(1)
    ).scalar_one_or_none()
    if config is None:  # ensure_defaults() creates one; a deleted config falls back to the local model
        config = SearchModelConfig(name="default", is_active=True)
    return config


def embedder_for(config: SearchModelConfig):
    from .embeddings import get_embedder

    return get_embedder(
        config.embeddings_inference_endpoint_type or "local",
        config.embeddings_inference_endpoint,
        config.embeddings_inference_endpoint_api_key,
        config.bi_encoder or "",
    )


# --------------------------------------------------------------------------- ownership


def owner_clause(model, user, agent=None):
    """Rows of one owner: the agent's knowledge when `agent` is given, else the user's own."""
    if agent is not None:
        return model.agent_id == agent.id
    return sa.and_(model.user_id == user.id, model.agent_id.is_(None))


def _owner_values(user, agent) -> dict:
    return {"user_id": None, "agent_id": agent.id} if agent is not None else {"user_id": user.id, "agent_id": None}


def _lock_file(user, agent, file_path: str) -> None:
    owner = f"a{agent.id}" if agent is not None else f"u{user.id}"
    db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"index|{owner}|{file_path}"))))


# --------------------------------------------------------------------------- quota


def indexed_bytes(user, exclude_path: str | None = None) -> int:
    """Bytes of text this user has indexed (their own files and their agents' files)."""
    from ..models import Agent

    agent_ids = sa.select(Agent.id).where(Agent.creator_id == user.id)
    query = sa.select(sa.func.coalesce(sa.func.sum(sa.func.octet_length(FileObject.raw_text)), 0)).where(
        sa.or_(FileObject.user_id == user.id, FileObject.agent_id.in_(agent_ids))
    )
    if exclude_path is not None:
        query = query.where(FileObject.file_name != exclude_path)
    return int(db.session.execute(query).scalar_one())


def quota_bytes(user) -> int:
    from ..subscriptions.state import indexing_quota_bytes

    return int(indexing_quota_bytes(user, current_app.config))


# Bytes indexed per user, remembered for a few seconds: summing every file's size for each file of a
# bulk sync would make indexing n files O(n²). Deletes forget the user's entry at once.
_USAGE_TTL = 30.0
_usage: dict[int, tuple[float, int]] = {}


# How many entries each owner can search (BM25's N for the search service), remembered for a minute:
# counting a large owner's rows costs more than the rest of a search (about 200 ms for 100,000
# entries), and a slightly stale N barely moves an IDF weight. Indexing or deleting here forgets them all.
ENTRY_COUNT_TTL = 60.0
ENTRY_COUNTS: dict[tuple, tuple[float, int]] = {}


def forget_entry_counts() -> None:
    ENTRY_COUNTS.clear()


def _forget_usage(user) -> None:
    _usage.pop(getattr(user, "id", None), None)


def check_quota(user, file_path: str, size: int, agent=None) -> None:
    quota = quota_bytes(user)
    if size > quota:
        raise FileTooLarge(
            f"{file_path} is {_mb(size)}, larger than your whole indexing quota of {_mb(quota)}."
        )
    now = time.monotonic()
    cached = _usage.get(user.id)
    if cached is None or now - cached[0] > _USAGE_TTL:
        cached = (now, indexed_bytes(user))
    old = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(sa.func.octet_length(FileObject.raw_text)), 0))
        .where(owner_clause(FileObject, user, agent), FileObject.file_name == file_path)
    ).scalar_one()
    used = max(0, cached[1] - int(old))
    if used + size > quota:
        _forget_usage(user)
        raise QuotaExceeded(
            f"Indexing {file_path} ({_mb(size)}) would exceed your quota: {_mb(used)} of {_mb(quota)} used. "
            "Delete some files or upgrade your plan."
        )
    _usage[user.id] = (cached[0], used + size)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 100 * 1024 else f"{size / 1024:.1f} KB"


# --------------------------------------------------------------------------- indexing


def _chunk(file_path: str, data: bytes | None, text: str | None, file_type: str | None):
    """(entry file type, full text, chunks). Text from integrations is chunked by its declared type."""
    from . import chunking

    try:
        if data is None and file_type is not None and chunking.file_type_for(file_path) == "plaintext":
            # e.g. a Notion page or an extension-less GitHub file: chunk by the declared type.
            chunker = {"org": chunking.chunk_org, "plaintext": chunking.chunk_plaintext}.get(
                file_type, chunking.chunk_markdown)
            clean = text.replace("\x00", "")
            return file_type, clean, chunker(clean, file_path)
        detected, full_text, chunks = chunking.chunk_file(
            file_path, data if data is not None else text.encode("utf-8"))
    except ValueError as exc:  # ChunkingError: not text, bad PDF, bad encoding
        raise IndexingError(str(exc), 415) from exc
    return (file_type or detected), full_text, chunks


def index_document(
    user,
    *,
    file_path: str,
    data: bytes | None = None,
    text: str | None = None,
    file_type: str | None = None,
    file_source: str = "computer",
    url: str | None = None,
    agent=None,
    commit: bool = True,
    vectors: dict | None = None,
) -> IndexResult:
    """Index one file for `user` (or for `agent`'s knowledge, charged to `user`). See the module doc.

    `vectors` ({hashed_value: vector}, from `embed_ahead`) spares the model the chunks it covers."""
    file_path = (file_path or "").strip()
    if not file_path:
        raise IndexingError("A file name is required.")
    if len(file_path) > MAX_PATH_LENGTH:
        raise IndexingError(f"The file name is longer than {MAX_PATH_LENGTH} characters.")
    if file_source not in _choices(FILE_SOURCES):
        raise IndexingError(f"Unknown file source {file_source!r}.")
    if file_type is not None and file_type not in _choices(FILE_TYPES):
        raise IndexingError(f"Unknown file type {file_type!r}.")
    if data is None and text is None:
        raise IndexingError("Nothing to index: pass data or text.")

    if (data is not None and len(data) == 0) or (data is None and text == ""):
        # Khoj's convention: a zero-byte upload deletes the file.
        deleted = delete_file(user, file_path, agent=agent, commit=commit)
        return IndexResult(file_path, 0, 0, deleted, 0, deleted_file=True)

    size = len(data) if data is not None else len(text.encode("utf-8"))
    try:
        with db.session.begin_nested():
            check_quota(user, file_path, size, agent)
            result = _write_file(user, agent, file_path, data, text, file_type, file_source, url, vectors or {})
    except IndexingError:
        _forget_usage(user)
        raise
    except Exception as exc:
        _forget_usage(user)
        from .embeddings import EmbeddingError

        if isinstance(exc, EmbeddingError):
            log.warning("embedding failed for %s: %s", file_path, exc)
            raise EmbeddingUnavailable(f"The embedding model is unavailable: {exc}") from exc
        raise
    if commit:
        db.session.commit()
    forget_entry_counts()
    return result


def _write_file(user, agent, file_path, data, text, file_type, file_source, url, ready: dict) -> IndexResult:
    kind, full_text, chunks = _chunk(file_path, data, text, file_type)
    _lock_file(user, agent, file_path)
    owner = owner_clause(Entry, user, agent)
    existing = db.session.execute(
        sa.select(Entry.id, Entry.hashed_value).where(owner, Entry.file_path == file_path)
    ).all()

    wanted: dict[str, object] = {}
    for chunk in chunks:
        wanted.setdefault(chunk.hashed_value, chunk)  # identical chunks in one file are stored once
    kept: set[str] = set()
    stale_ids: list[int] = []
    for entry_id, hashed in existing:
        if hashed in wanted and hashed not in kept:
            kept.add(hashed)
        else:
            stale_ids.append(entry_id)
    new_chunks = [c for h, c in wanted.items() if h not in kept]

    file_object = db.session.execute(
        sa.select(FileObject).where(owner_clause(FileObject, user, agent), FileObject.file_name == file_path)
    ).scalar_one_or_none()
    if file_object is None:
        file_object = FileObject(file_name=file_path, raw_text=full_text, **_owner_values(user, agent))
        db.session.add(file_object)
    else:
        file_object.raw_text = full_text
        file_object.updated_at = sa.func.now()  # the file list's "indexed at", even when nothing changed
    db.session.flush()

    if stale_ids:
        db.session.execute(sa.delete(Entry).where(Entry.id.in_(stale_ids)))
    if new_chunks:
        config = active_search_model()
        missing = [c for c in new_chunks if c.hashed_value not in ready]
        if missing:
            ready = {**ready, **dict(zip((c.hashed_value for c in missing),
                                         embedder_for(config).embed_documents([c.compiled for c in missing])))}
        vectors = [ready[c.hashed_value] for c in new_chunks]
        name = file_path.replace("\\", "/").rsplit("/", 1)[-1]
        rows = [
            {
                **_owner_values(user, agent),
                "embeddings": vector,
                "raw": chunk.raw,
                "compiled": chunk.compiled,
                "heading": chunk.heading,
                "file_source": file_source,
                "file_type": kind,
                "file_path": file_path,
                "file_name": name,
                "url": url,
                "hashed_value": chunk.hashed_value,
                "search_model_id": config.id,
                "file_object_id": file_object.id,
            }
            for chunk, vector in zip(new_chunks, vectors)
        ]
        db.session.execute(sa.insert(Entry), rows)
    if kept:
        # Unchanged chunks keep their vectors; only their metadata follows the file.
        db.session.execute(
            sa.update(Entry)
            .where(owner, Entry.file_path == file_path, Entry.hashed_value.in_(kept))
            .where(sa.or_(Entry.url.is_distinct_from(url), Entry.file_object_id.is_distinct_from(file_object.id),
                          Entry.file_type != kind, Entry.file_source != file_source))
            .values(url=url, file_object_id=file_object.id, file_type=kind, file_source=file_source)
        )
    return IndexResult(file_path, len(wanted), len(new_chunks), len(stale_ids), len(kept))


def embed_ahead(user, files: list[dict], *, agent=None) -> dict:
    """Embed the new chunks of several files in one go, for `index_document(..., vectors=)`.

    `files` are dicts of index_document's arguments (file_path, data or text, file_type). A note is one
    or two chunks, so embedding file by file runs the model on batches of one or two, far slower per
    chunk than the full, length-sorted batches used here. Chunks the owner already holds at the same
    path are skipped, as index_document would skip them; a file that cannot be chunked is left for
    index_document to report. Returns {hashed_value: vector} (hashed_value is the md5 of the text embedded).
    """
    pending: dict[tuple[str, str], str] = {}
    for item in files:
        try:
            _, _, chunks = _chunk(item["file_path"], item.get("data"), item.get("text"), item.get("file_type"))
        except IndexingError:
            continue
        for chunk in chunks:
            pending[(item["file_path"], chunk.hashed_value)] = chunk.compiled
    if not pending:
        return {}
    paths = sorted({path for path, _ in pending})
    held = set(db.session.execute(
        sa.select(Entry.file_path, Entry.hashed_value).where(owner_clause(Entry, user, agent), Entry.file_path.in_(paths))
    ).all())
    todo = {hashed: text for (path, hashed), text in pending.items() if (path, hashed) not in held}
    if not todo:
        return {}
    hashes = list(todo)
    vectors = embedder_for(active_search_model()).embed_documents([todo[h] for h in hashes])
    return dict(zip(hashes, vectors))


# --------------------------------------------------------------------------- deleting


def delete_file(user, file_path: str, *, agent=None, commit: bool = True) -> int:
    """Delete one file's entries and full text; returns the number of entries deleted (0 if unknown)."""
    _forget_usage(user)
    forget_entry_counts()
    with db.session.begin_nested():
        _lock_file(user, agent, file_path)
        deleted = db.session.execute(
            sa.delete(Entry).where(owner_clause(Entry, user, agent), Entry.file_path == file_path)
        ).rowcount
        db.session.execute(
            sa.delete(FileObject).where(owner_clause(FileObject, user, agent), FileObject.file_name == file_path)
        )
    if commit:
        db.session.commit()
    return deleted


def delete_files(user, file_type: str | None = None, file_source: str | None = None, *, agent=None,
                 commit: bool = True) -> int:
    """Delete every file of the owner, or those of one type and/or source; returns entries deleted."""
    _forget_usage(user)
    forget_entry_counts()
    with db.session.begin_nested():
        query = sa.delete(Entry).where(owner_clause(Entry, user, agent))
        if file_type:
            query = query.where(Entry.file_type == file_type)
        if file_source:
            query = query.where(Entry.file_source == file_source)
        deleted = db.session.execute(query).rowcount
        # Full texts of files that no longer have any entry go with them.
        remaining = sa.select(Entry.id).where(Entry.file_object_id == FileObject.id).exists()
        orphan = sa.delete(FileObject).where(owner_clause(FileObject, user, agent), ~remaining)
        if file_type is None and file_source is None:
            orphan = sa.delete(FileObject).where(owner_clause(FileObject, user, agent))
        db.session.execute(orphan)
    if commit:
        db.session.commit()
    return deleted


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class IndexedFile:
    file_path: str
    file_type: str
    file_source: str
    chunks: int
    size: int
    indexed_at: object


def list_files(user, *, agent=None, file_type: str | None = None, page: int = 1, per_page: int = 50):
    """Files of the owner with chunk counts, newest first: (rows, total)."""
    owner = owner_clause(FileObject, user, agent)
    counts = (
        sa.select(
            Entry.file_object_id.label("fid"),
            sa.func.count().label("chunks"),
            sa.func.min(Entry.file_type).label("file_type"),
            sa.func.min(Entry.file_source).label("file_source"),
        )
        .where(owner_clause(Entry, user, agent))
        .group_by(Entry.file_object_id)
        .subquery()
    )
    query = (
        sa.select(
            FileObject.file_name, counts.c.file_type, counts.c.file_source,
            sa.func.coalesce(counts.c.chunks, 0), sa.func.octet_length(FileObject.raw_text),
            FileObject.updated_at,
        )
        .outerjoin(counts, counts.c.fid == FileObject.id)
        .where(owner)
    )
    if file_type:
        query = query.where(counts.c.file_type == file_type)
    total = db.session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = db.session.execute(
        query.order_by(FileObject.updated_at.desc(), FileObject.file_name)
        .limit(per_page).offset((max(page, 1) - 1) * per_page)
    ).all()
    return [IndexedFile(r[0], r[1] or "plaintext", r[2] or "computer", r[3], r[4] or 0, r[5]) for r in rows], total


def type_counts(user, *, agent=None) -> dict[str, int]:
    """Number of files per file type (for the type filter and the delete-a-type form)."""
    rows = db.session.execute(
        sa.select(Entry.file_type, sa.func.count(sa.distinct(Entry.file_path)))
        .where(owner_clause(Entry, user, agent))
        .group_by(Entry.file_type)
        .order_by(Entry.file_type)
    ).all()
    return {kind: count for kind, count in rows}


def list_all_paths(user, *, agent=None, file_source: str | None = None) -> list[str]:
    """Every indexed file path of the owner (optionally of one source)."""
    query = sa.select(Entry.file_path).distinct().where(owner_clause(Entry, user, agent)).order_by(Entry.file_path)
    if file_source:
        query = query.where(Entry.file_source == file_source)
    return [path for path in db.session.execute(query).scalars() if path]


def file_exists(user, file_path: str, *, agent=None) -> bool:
    """Whether the owner has this file (its text or any of its entries)."""
    in_files = sa.select(FileObject.id).where(owner_clause(FileObject, user, agent), FileObject.file_name == file_path)
    in_entries = sa.select(Entry.id).where(owner_clause(Entry, user, agent), Entry.file_path == file_path)
    return db.session.execute(sa.select(sa.or_(in_files.exists(), in_entries.exists()))).scalar_one()
