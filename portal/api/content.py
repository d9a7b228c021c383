"""Khoj's content endpoints: upload (PUT replace / PATCH sync), list, size, delete.

Multipart field `files`, as Khoj's desktop, Obsidian and Emacs clients send it. Each file is indexed
in its own transaction: one bad file is reported and does not undo the others.
"""
from __future__ import annotations

import math

import sqlalchemy as sa
from flask import current_app, g, jsonify, request
from pydantic import BaseModel, Field

from ..extensions import db
from ..ratelimit import hit
from . import ApiError, bp, parse_query, token_required
from .openapi import describe


class FilesParams(BaseModel):
    page: int = Field(0, ge=0, le=1_000_000, description="Page of 10 files, from 0")
    truncated: bool = Field(True, description="Cut raw_text at 1000 characters")


class FileParam(BaseModel):
    filename: str = Field(min_length=1, description="The file's path as uploaded")

INDEX_LIMIT = (30, 60)  # upload requests per user per minute
FILES_PER_PAGE = 10     # Khoj's page size for /api/content/files
TRUNCATE_AT = 1000


def _rate_limit(user) -> None:
    limit, window = current_app.config.get("INDEX_RATE_LIMIT", INDEX_LIMIT)
    hit("api-index", f"user:{user.id}", limit, window, "Too many uploads. Please wait a moment.")


def index_uploads(user, uploads, *, replace: bool) -> tuple[dict, int]:
    """Index uploaded files, each in its own transaction; with `replace`, computer files not uploaded are
    deleted after. The new chunks of all files are embedded together first (full model batches).

    Returns (JSON body, status): 200 when every file was indexed, else the first error's status
    (413 too large, 429 over quota, 415 unsupported type…) with per-file details.
    """
    from ..search.embeddings import EmbeddingError
    from ..search.indexing import IndexingError, delete_file, embed_ahead, index_document, list_all_paths

    results, errors, named = [], [], []
    for upload in uploads:
        name = (upload.filename or "").strip()
        if not name:
            errors.append({"file": "", "error": "A file without a name was skipped."})
            continue
        named.append((name, upload.read()))
    try:
        ready = embed_ahead(user, [{"file_path": name, "data": data} for name, data in named if data])
    except EmbeddingError:
        ready = {}  # each file then meets the same error in index_document and reports it
    for name, data in named:
        try:
            result = index_document(user, file_path=name, data=data, file_source="computer", vectors=ready)
        except IndexingError as exc:
            db.session.rollback()
            errors.append({"file": name, "error": exc.message, "status": exc.status})
            continue
        results.append({
            "file": name, "chunks": result.chunks_total, "added": result.chunks_added,
            "deleted": result.chunks_deleted, "unchanged": result.chunks_unchanged,
            "deleted_file": result.deleted_file,
        })
    removed = []
    if replace and not errors:
        uploaded = {r["file"] for r in results}
        for path in list_all_paths(user, file_source="computer"):
            if path not in uploaded:
                delete_file(user, path)
                removed.append(path)
    body = {"status": "ok" if not errors else "error", "indexed": results, "removed": removed}
    if errors:
        body["errors"] = errors
        body["error"] = errors[0]["error"]
        return body, max((e.get("status", 400) for e in errors), key=lambda s: (s in (413, 429), s))
    return body, 200


def _uploads():
    uploads = request.files.getlist("files")
    if not uploads:
        raise ApiError("Send the files as multipart form data in the field 'files'.", 422)
    return uploads


@bp.put("/content")
@describe(summary="Replace your computer files with these", multipart={"files": "Files to index"})
@token_required
def put_content():
    _rate_limit(g.api_user)
    body, status = index_uploads(g.api_user, _uploads(), replace=True)
    return jsonify(body), status


@bp.patch("/content")
@describe(summary="Add or update these files", multipart={"files": "Files to index"})
@token_required
def patch_content():
    _rate_limit(g.api_user)
    body, status = index_uploads(g.api_user, _uploads(), replace=False)
    return jsonify(body), status


@bp.get("/content/files")
@describe(query=FilesParams)
@token_required
def content_files():
    from ..models import FileObject
    from ..search.indexing import owner_clause

    params = parse_query(FilesParams)
    page, truncated = params.page, params.truncated
    owner = owner_clause(FileObject, g.api_user)
    total = db.session.execute(sa.select(sa.func.count()).select_from(FileObject).where(owner)).scalar_one()
    rows = db.session.execute(
        sa.select(FileObject).where(owner).order_by(FileObject.file_name)
        .limit(FILES_PER_PAGE).offset(page * FILES_PER_PAGE)
    ).scalars()
    files = [{
        "file_name": f.file_name,
        "raw_text": f.raw_text[:TRUNCATE_AT] if truncated else f.raw_text,
        "updated_at": f.updated_at.isoformat(),
    } for f in rows]
    return jsonify({"files": files, "num_pages": math.ceil(total / FILES_PER_PAGE)})


@bp.get("/content/size")
@token_required
def content_size():
    from ..search.indexing import indexed_bytes, quota_bytes

    used = indexed_bytes(g.api_user)
    return jsonify({"indexed_data_size_in_mb": math.ceil(used / (1024 * 1024)), "indexed_bytes": used,
                    "quota_bytes": quota_bytes(g.api_user)})


@bp.delete("/content/file")
@describe(query=FileParam)
@token_required
def delete_content_file():
    from ..search.indexing import delete_file

    filename = request.args.get("filename", "")
    if not filename:
        raise ApiError("The query parameter 'filename' is required.", 422)
    deleted = delete_file(g.api_user, filename)
    return jsonify({"status": "ok", "deleted_count": deleted})
