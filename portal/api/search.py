"""GET /api/search — Khoj's search endpoint, same query parameters and JSON shape (dashed keys)."""
from __future__ import annotations

from flask import current_app, g, jsonify, request
from pydantic import BaseModel, Field

from ..models.choices import FILE_TYPES
from ..ratelimit import hit
from . import ApiError, bp, token_required
from .openapi import describe


class SearchParams(BaseModel):
    """Khoj's query parameters (documented for the OpenAPI file; parsed leniently below, as Khoj does)."""

    q: str = Field(description="The query, with Khoj's filters: +\"word\", -\"word\", file:\"glob\", dt>=\"date\"")
    n: int = Field(5, ge=1, le=100, description="How many results")
    t: str = Field("all", description="File type, or all")
    r: bool = Field(False, description="Re-rank (accepted; no cross-encoder here)")
    max_distance: float | None = Field(None, description="Largest cosine distance to keep")
    dedupe: bool = Field(True, description="Drop duplicate chunks")

SEARCH_LIMIT = (120, 60)  # searches per user per minute


def parse_bool(value: str | None, default: bool, name: str) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ApiError(f"'{name}' must be true or false.", 422)


def result_json(result) -> dict:
    """One Khoj SearchResponse."""
    return {
        "entry": result.entry,
        "score": result.distance,
        "cross-score": result.fused,
        "additional": {
            "source": result.file_source,
            "file": result.file_path,
            "uri": result.url,
            "compiled": result.compiled,
            "heading": result.heading,
        },
        "corpus-id": result.corpus_id,
    }


@bp.get("/search")
@describe(query=SearchParams)
@token_required
def search():
    from ..search.services import SearchError
    from ..search.services import search as run_search

    user = g.api_user
    query = request.args.get("q", "")
    if not query.strip():
        raise ApiError("The query parameter 'q' is required.", 422)
    try:
        n = int(request.args.get("n", 5))
    except ValueError:
        raise ApiError("'n' must be a whole number.", 422) from None
    if not 1 <= n <= 50:
        raise ApiError("'n' must be between 1 and 50.", 422)
    file_type = (request.args.get("t") or "all").strip().lower()
    if file_type != "all" and file_type not in FILE_TYPES:
        raise ApiError(f"Unknown content type '{file_type}'. Use all or one of: {', '.join(FILE_TYPES)}.", 422)
    max_distance = request.args.get("max_distance")
    if max_distance not in (None, ""):
        try:
            max_distance = float(max_distance)
        except ValueError:
            raise ApiError("'max_distance' must be a number.", 422) from None
        if not 0 <= max_distance <= 2:
            raise ApiError("'max_distance' must be between 0 and 2.", 422)
    else:
        max_distance = None
    dedupe = parse_bool(request.args.get("dedupe"), True, "dedupe")
    parse_bool(request.args.get("r"), False, "r")  # re-ranking: accepted for Khoj clients; no cross-encoder here
    limit, window = current_app.config.get("SEARCH_RATE_LIMIT", SEARCH_LIMIT)
    hit("api-search", f"user:{user.id}", limit, window, "Too many searches. Please wait a moment.")
    try:
        results = run_search(user, query, n=n, file_type=None if file_type == "all" else file_type,
                             max_distance=max_distance, dedupe=dedupe)
    except SearchError as exc:
        raise ApiError(exc.message, exc.status) from None
    return jsonify([result_json(r) for r in results])

