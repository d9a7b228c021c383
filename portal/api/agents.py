"""Agents JSON API, in Khoj's agent shape. Like the whole API it needs a Bearer token (anonymous visitors
browse the HTML pages). Every visibility decision goes through portal.agents.services."""
from __future__ import annotations

import math
from typing import Literal, Optional, Union

import sqlalchemy as sa
from flask import g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from ..agents import services
from ..agents.services import NAME_MAX, PERSONALITY_MAX, AgentFields
from ..extensions import db
from ..models import Agent, ChatModel
from ..models.choices import INPUT_TOOLS, OUTPUT_MODES, PRIVACY_LEVELS, STYLE_COLORS, STYLE_ICONS
from . import ApiError, bp, parse_body, parse_query, token_required
from .openapi import describe

# Service field names → the API's (Khoj's) field names.
API_FIELD = {"personality": "persona", "style_color": "color", "style_icon": "icon", "chat_model_id": "chat_model"}

Privacy = Literal[PRIVACY_LEVELS]
Color = Literal[STYLE_COLORS]
Icon = Literal[STYLE_ICONS]
Tool = Literal[INPUT_TOOLS]
Mode = Literal[OUTPUT_MODES]


class AgentCreate(BaseModel):
    """POST /api/agents. Unknown keys (managed_by_admin, is_approved, …) are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=NAME_MAX)
    persona: Optional[str] = Field(default=None, max_length=PERSONALITY_MAX)
    privacy_level: Privacy = "private"
    color: Color = "orange"
    icon: Icon = "Lightbulb"
    chat_model: Optional[str] = Field(default=None, description="A chat model's name; null = server default")
    input_tools: list[Tool] = Field(default_factory=list)
    output_modes: list[Mode] = Field(default_factory=list)


class AgentUpdate(BaseModel):
    """PATCH /api/agents[/<slug>]: only the keys sent change. `version` (optional) guards against lost updates."""

    model_config = ConfigDict(extra="forbid")

    slug: Optional[str] = None
    version: Optional[int] = None
    name: Optional[str] = Field(default=None, min_length=1, max_length=NAME_MAX)
    persona: Optional[str] = Field(default=None, max_length=PERSONALITY_MAX)
    privacy_level: Optional[Privacy] = None
    color: Optional[Color] = None
    icon: Optional[Icon] = None
    chat_model: Optional[str] = None
    input_tools: Optional[list[Tool]] = None
    output_modes: Optional[list[Mode]] = None


class AgentOut(BaseModel):
    """An agent as the API answers it (Khoj's agent JSON plus moderation state and the lock version)."""

    slug: str
    name: str
    persona: Optional[str]
    creator: Optional[str] = Field(description="The creator's uuid; null for admin-managed agents")
    managed_by_admin: bool
    color: Color
    icon: Icon
    privacy_level: Privacy
    chat_model: Optional[str] = Field(description="Chat model name; null = the server default")
    input_tools: list[Tool]
    output_modes: list[Mode]
    is_approved: bool
    is_hidden: bool
    is_creator: bool
    version: int


AGENTS_PER_PAGE = 50  # default page size when paging
AGENTS_PER_PAGE_MAX = 200


class AgentsParams(BaseModel):
    """GET /api/agents. Without `page` and `per_page` the answer is Khoj's plain list of every listed agent;
    with either, one page of them in an object with the totals."""

    model_config = ConfigDict(extra="ignore")

    page: int = Field(default=0, ge=0, le=1_000_000, description="Page number, from 0")
    per_page: int = Field(default=AGENTS_PER_PAGE, ge=1, le=AGENTS_PER_PAGE_MAX, description="Agents per page")

    @property
    def paged(self) -> bool:
        return bool({"page", "per_page"} & self.model_fields_set)


class AgentPage(BaseModel):
    """One page of GET /api/agents (when `page` or `per_page` is given)."""

    agents: list[AgentOut]
    page: int = Field(description="This page's number, from 0")
    per_page: int
    total: int = Field(description="Agents listed for you, on all pages")
    num_pages: int


def agent_json(agent: Agent, user=None) -> dict:
    return {
        "slug": agent.slug,
        "name": agent.name,
        "persona": agent.personality,
        "creator": str(agent.creator.uuid) if agent.creator else None,
        "managed_by_admin": agent.managed_by_admin,
        "color": agent.style_color,
        "icon": agent.style_icon,
        "privacy_level": agent.privacy_level,
        "chat_model": agent.chat_model.name if agent.chat_model else None,
        "input_tools": list(agent.input_tools or []),
        "output_modes": list(agent.output_modes or []),
        "is_approved": agent.is_approved,
        "is_hidden": agent.is_hidden,
        "is_creator": user is not None and agent.creator_id == getattr(user, "id", None),
        "version": agent.version,
    }


def chat_model_id(name: str | None) -> int | None:
    if name is None:
        return None
    model_id = db.session.execute(sa.select(ChatModel.id).where(ChatModel.name == name)).scalar_one_or_none()
    if model_id is None:
        raise ApiError("The agent is not valid.", 422,
                       [{"field": "chat_model", "message": f"No chat model named '{name}'."}])
    return model_id


def agent_error(exc: services.AgentError) -> ApiError:
    if exc.status != 422:
        return ApiError(" ".join(m for msgs in exc.errors.values() for m in msgs), exc.status)
    details = [{"field": API_FIELD.get(name, name) or "agent", "message": message}
               for name, messages in exc.errors.items() for message in messages]
    return ApiError("The agent is not valid.", 422, details)


def editable_or_error(user, slug: str) -> Agent:
    agent = services.get_readable(user, slug)
    if agent is None:
        raise ApiError("Agent not found.", 404)
    if not services.can_edit(user, agent):
        raise ApiError("You cannot change this agent.", 403)
    return agent


def commit_or_error(action):
    try:
        result = action()
    except services.AgentConflict as exc:
        db.session.rollback()
        raise ApiError(exc.message, 409) from exc
    except services.AgentError as exc:
        db.session.rollback()
        raise agent_error(exc) from exc
    db.session.commit()
    return result


@bp.get("/agents")
@describe(summary="Agents listed for you: public admin-managed or approved agents, and your own. "
                  "Without ?page= or ?per_page= a plain list of all of them (as Khoj answers); with either, "
                  "one page (from 0, default 50, at most 200 per page) and the totals",
          query=AgentsParams, response=Union[list[AgentOut], AgentPage])
@token_required
def list_agents():
    params = parse_query(AgentsParams)
    query = services.listed_agents_query(g.api_user)
    if not params.paged:
        agents = db.session.execute(query).scalars()
        return jsonify([agent_json(agent, g.api_user) for agent in agents])
    page, per_page = params.page, params.per_page
    total = db.session.execute(
        sa.select(sa.func.count()).select_from(Agent).where(services.listed_criterion(g.api_user))
    ).scalar_one()
    agents = db.session.execute(query.limit(per_page).offset(page * per_page)).scalars()
    return jsonify({"agents": [agent_json(agent, g.api_user) for agent in agents], "page": page,
                    "per_page": per_page, "total": total, "num_pages": math.ceil(total / per_page)})


@bp.get("/agents/<slug>")
@describe(summary="An agent you may read (public, protected or your own)", response=AgentOut)
@token_required
def get_agent(slug: str):
    agent = services.get_readable(g.api_user, slug)
    if agent is None:
        raise ApiError("Agent not found.", 404)
    return jsonify(agent_json(agent, g.api_user))


@bp.post("/agents")
@describe(summary="Create an agent", body=AgentCreate, response=AgentOut, status=201)
@token_required
def create_agent():
    body = parse_body(AgentCreate)
    fields = AgentFields(
        name=body.name, personality=body.persona, chat_model_id=chat_model_id(body.chat_model),
        input_tools=list(body.input_tools), output_modes=list(body.output_modes),
        style_color=body.color, style_icon=body.icon, privacy_level=body.privacy_level,
    )
    agent = commit_or_error(lambda: services.create_agent(g.api_user, fields))
    return jsonify(agent_json(agent, g.api_user)), 201


@bp.patch("/agents")
@bp.patch("/agents/<slug>")
@describe(summary="Change your agent (only the keys sent); a stale `version` is 409", body=AgentUpdate,
          response=AgentOut)
@token_required
def update_agent(slug: str | None = None):
    body = parse_body(AgentUpdate)
    slug = slug or body.slug
    if not slug:
        raise ApiError("Say which agent to change: PATCH /api/agents/<slug>, or \"slug\" in the body.", 400)
    agent = editable_or_error(g.api_user, slug)
    sent = body.model_fields_set
    fields = AgentFields(
        name=body.name if "name" in sent else agent.name,
        personality=body.persona if "persona" in sent else agent.personality,
        chat_model_id=chat_model_id(body.chat_model) if "chat_model" in sent else agent.chat_model_id,
        input_tools=list(body.input_tools or []) if "input_tools" in sent else list(agent.input_tools),
        output_modes=list(body.output_modes or []) if "output_modes" in sent else list(agent.output_modes),
        style_color=body.color or agent.style_color, style_icon=body.icon or agent.style_icon,
        privacy_level=body.privacy_level or agent.privacy_level,
    )
    commit_or_error(lambda: services.update_agent(g.api_user, agent, fields, expected_version=body.version))
    return jsonify(agent_json(agent, g.api_user))


@bp.delete("/agents/<slug>")
@describe(summary="Delete your agent and its knowledge entries (not the default agent)")
@token_required
def delete_agent(slug: str):
    agent = editable_or_error(g.api_user, slug)
    version = request.args.get("version", type=int)
    commit_or_error(lambda: services.delete_agent(g.api_user, agent, expected_version=version))
    return jsonify({"status": "deleted", "slug": slug})


