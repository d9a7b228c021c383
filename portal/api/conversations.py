"""Conversations JSON API: the token user's own conversations, export and import (all or nothing)."""
from __future__ import annotations

from flask import g, jsonify, request

from ..agents import conversations as service
from ..extensions import db
from ..schemas import ConversationExport, ConversationsExport
from . import ApiError, bp, token_required
from .openapi import describe


def summary(conversation, count: int | None = None) -> dict:
    return {
        "id": conversation.id,
        "title": service.display_title(conversation),
        "agent": conversation.agent.slug if conversation.agent else None,
        "messages": count if count is not None else len(service.messages(conversation)),
        "created_at": conversation.created_at.isoformat(),
        "updated_at": conversation.updated_at.isoformat(),
    }


@bp.get("/conversations")
@describe(summary="Your conversations, newest first (?page=, ?per_page= up to 200)")
@token_required
def list_conversations():
    page = max(1, request.args.get("page", 1, type=int))
    per_page = min(max(1, request.args.get("per_page", 50, type=int)), 200)
    pagination = service.list_conversations(g.api_user, page=page, per_page=per_page)
    counts = service.message_counts(pagination.items)
    return jsonify({"conversations": [summary(c, counts.get(c.id, 0)) for c in pagination.items],
                    "page": pagination.page,
                    "pages": pagination.pages, "total": pagination.total})


@bp.get("/conversations/export")
@describe(summary="Export all your conversations", response=ConversationsExport)
@token_required
def export_conversations():
    return jsonify(service.export_all(g.api_user))


@bp.get("/conversations/<int:conversation_id>/export")
@describe(summary="Export one of your conversations", response=ConversationExport)
@token_required
def export_conversation(conversation_id: int):
    conversation = service.get_own(g.api_user, conversation_id)
    if conversation is None:
        raise ApiError("Conversation not found.", 404)
    return jsonify(service.export_one(conversation))


@bp.post("/conversations/import")
@describe(summary="Import an export (all conversations or none); 422 lists every validation error",
          body=ConversationsExport, status=201)
@token_required
def import_conversations():
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError("The request body must be JSON.", 400)
    try:
        created = service.import_conversations(g.api_user, data)
    except service.ConversationError as exc:
        db.session.rollback()
        # One object per error; `message` is the exact line of portal.schemas.validation_errors ("path: problem").
        details = [{"message": line} for line in exc.errors]
        raise ApiError("Nothing was imported: the document is not valid.", exc.status, details) from exc
    db.session.commit()
    return jsonify({"imported": len(created), "conversations": [summary(c) for c in created]}), 201
