"""Chat and voice model choice over JSON (Khoj: GET/POST /api/model/chat, POST /api/model/voice).

POST accepts {"id": 3} as a JSON body, or Khoj's shape `?id=3` as a query parameter.
"""
from __future__ import annotations

from flask import g, jsonify, request
from pydantic import BaseModel, ConfigDict, StrictInt

from ..ai_models import services
from ..extensions import db
from . import ApiError, bp, parse_body, token_required
from .openapi import describe


class ModelChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: StrictInt


def _choice_id() -> int:
    if not request.get_data() and "id" in request.args:
        raw = request.args["id"]
        if not raw.isdigit():
            raise ApiError("id must be a whole number.", 422)
        return int(raw)
    return parse_body(ModelChoice).id


def _listing(kind: str, models, effective) -> dict:
    user = g.api_user
    return {
        "selected": services.saved_choice(user, kind),
        "effective": services.model_json(user, effective, kind) if effective is not None else None,
        "options": [services.model_json(user, m, kind) for m in models],
    }


def _select(kind: str):
    try:
        model = services.select_model(g.api_user, kind, _choice_id())
    except services.ModelChoiceError as exc:
        raise ApiError(exc.message, exc.status) from exc
    db.session.commit()
    return jsonify({"status": "ok", "selected": services.model_json(g.api_user, model, kind)})


@bp.get("/models/chat")
@token_required
def chat_models():
    return jsonify(_listing("chat", services.chat_models(), services.effective_chat_model(g.api_user)))


@bp.post("/models/chat")
@describe(body=ModelChoice)
@token_required
def select_chat_model():
    return _select("chat")


@bp.get("/models/voice")
@token_required
def voice_models():
    return jsonify(_listing("voice", services.voice_models(), services.effective_voice_model(g.api_user)))


@bp.post("/models/voice")
@describe(body=ModelChoice)
@token_required
def select_voice_model():
    return _select("voice")
