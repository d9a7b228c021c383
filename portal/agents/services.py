"""Agents: who may see, read and change which agent, and how agents are created, changed and deleted.

One rule, one place: every page and JSON endpoint asks `listed_criterion`, `get_readable`, `can_edit` and
`can_delete` below; none of them writes its own visibility test.

- listed = not hidden, and (public admin-managed, or public and approved by an admin, or your own);
- readable by slug = your own, or (not hidden and public or protected); admins read everything;
- editable = your own (admins: all); deletable = editable, except the default agent "Khoj".

Services take the acting user (a KhojUser, None or Flask-Login's anonymous user) and never touch the request.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import sqlalchemy as sa
from slugify import slugify
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from .. import audit
from ..ai_models.services import can_use_model, default_chat_model
from ..core.defaults import DEFAULT_AGENT_SLUG
from ..extensions import db
from ..models import Agent, ChatModel, Conversation, Entry, FileObject
from ..models.choices import INPUT_TOOLS, OUTPUT_MODES, PRIVACY_LEVELS, STYLE_COLORS, STYLE_ICONS

NAME_MAX = 200
PERSONALITY_MAX = 10_000
SLUG_SUFFIX_DIGITS = 6
SLUG_BASE_MAX = 150
SLUG_ATTEMPTS = 20

# Khoj names its icons after Phosphor's React components; these are the files in static/icons/agents/.
# Khoj's web app draws nothing for "Health": Phosphor's heartbeat stands in for it.
ICON_FILES = {
    "Lightbulb": "lightbulb", "Health": "heartbeat", "Robot": "robot", "Aperture": "aperture",
    "GraduationCap": "graduation-cap", "Jeep": "jeep", "Island": "island", "MathOperations": "math-operations",
    "Asclepius": "asclepius", "Couch": "couch", "Code": "code", "Atom": "atom",
    "ClockCounterClockwise": "clock-counter-clockwise", "PencilLine": "pencil-line", "Chalkboard": "chalkboard",
    "Cigarette": "cigarette", "CraneTower": "crane-tower", "Heart": "heart", "Leaf": "leaf",
    "NewspaperClipping": "newspaper-clipping", "OrangeSlice": "orange-slice", "SmileyMelting": "smiley-melting",
    "YinYang": "yin-yang", "SneakerMove": "sneaker-move", "Student": "student", "Oven": "oven", "Gavel": "gavel",
    "Broadcast": "broadcast",
}

PRIVACY_EXPLANATIONS = {
    "private": "Only you can see and use this agent.",
    "protected": "Anyone with the link can see and use this agent; it is not listed.",
    "public": "Listed for everyone once an administrator approves it.",
}

EDITABLE_FIELDS = (
    "name", "personality", "chat_model_id", "input_tools", "output_modes", "style_color", "style_icon",
    "privacy_level",
)


class AgentError(Exception):
    """Invalid agent data or a refused action: {field: [message, …]}; the key "" is for the whole form."""

    def __init__(self, errors: dict[str, list[str]], status: int = 422):
        super().__init__("; ".join(f"{k or 'agent'}: {' '.join(v)}" for k, v in errors.items()))
        self.errors, self.status = errors, status


class AgentConflict(Exception):
    """Someone else saved the agent since it was loaded (optimistic locking)."""

    message = "This agent was changed by someone else since you opened it. Reload it and apply your changes again."


@dataclass
class AgentFields:
    """What a user may set on an agent. managed_by_admin, approval and hiding are not here on purpose."""

    name: str
    personality: str | None = None
    chat_model_id: int | None = None
    input_tools: list[str] = field(default_factory=list)
    output_modes: list[str] = field(default_factory=list)
    style_color: str = "orange"
    style_icon: str = "Lightbulb"
    privacy_level: str = "private"


# --------------------------------------------------------------------------- who is asking


def _user_id(user) -> int | None:
    return user.id if user is not None and getattr(user, "is_authenticated", False) else None


def _is_admin(user) -> bool:
    return _user_id(user) is not None and bool(getattr(user, "is_admin", False))


# --------------------------------------------------------------------------- visibility rules


def listed_criterion(user):
    """WHERE clause of the agents anyone sees in a list. Hidden agents are never listed, not even to admins."""
    shared = sa.and_(Agent.privacy_level == "public", sa.or_(Agent.managed_by_admin, Agent.is_approved))
    uid = _user_id(user)
    mine = Agent.creator_id == uid if uid is not None else sa.false()
    return sa.and_(sa.not_(Agent.is_hidden), sa.or_(shared, mine))


def readable_criterion(user):
    """WHERE clause of the agents `user` may open by slug. A hidden agent stays readable only to its owner."""
    if _is_admin(user):
        return sa.true()
    uid = _user_id(user)
    shared = sa.and_(sa.not_(Agent.is_hidden), Agent.privacy_level.in_(("public", "protected")))
    return sa.or_(shared, Agent.creator_id == uid) if uid is not None else shared


def listed_agents_query(user):
    # The default agent first, then admin-managed agents, then by name.
    return (
        sa.select(Agent).where(listed_criterion(user))
        .options(selectinload(Agent.creator), selectinload(Agent.chat_model))
        .order_by((Agent.slug != DEFAULT_AGENT_SLUG), sa.not_(Agent.managed_by_admin), sa.func.lower(Agent.name),
                  Agent.id)
    )


def listed_agents(user, page: int = 1, per_page: int = 24):
    return db.paginate(listed_agents_query(user), page=page, per_page=per_page, error_out=False)


def get_readable(user, slug: str) -> Agent | None:
    """The agent with this slug if `user` may read it; None otherwise (callers answer 404)."""
    return db.session.execute(
        sa.select(Agent).where(Agent.slug == slug).where(readable_criterion(user))
    ).scalar_one_or_none()


def is_listed(user, agent: Agent) -> bool:
    return db.session.execute(
        sa.select(Agent.id).where(Agent.id == agent.id).where(listed_criterion(user))
    ).first() is not None


def can_edit(user, agent: Agent) -> bool:
    uid = _user_id(user)
    return uid is not None and (_is_admin(user) or agent.creator_id == uid)


def is_default_agent(agent: Agent) -> bool:
    return agent.slug == DEFAULT_AGENT_SLUG


def can_delete(user, agent: Agent) -> bool:
    return can_edit(user, agent) and not is_default_agent(agent)


# --------------------------------------------------------------------------- chat models


def chat_model_choices(user, owner_is_admin: bool = False) -> list[tuple[ChatModel, bool]]:
    """Every chat model with whether it may be attached (tier-gated like the user's own model choice)."""
    models = db.session.execute(sa.select(ChatModel).order_by(ChatModel.price_tier, ChatModel.name)).scalars()
    return [(m, owner_is_admin or can_use_model(user, m)) for m in models]


def effective_chat_model(agent: Agent) -> ChatModel | None:
    """The model the agent answers with: its own while its owner may use it, else the server default."""
    model = agent.chat_model
    if model is not None and (agent.creator is None or can_use_model(agent.creator, model)):
        return model
    return default_chat_model()


# --------------------------------------------------------------------------- validation


def _normalise(fields: AgentFields) -> AgentFields:
    fields.name = (fields.name or "").strip()
    fields.personality = (fields.personality or "").strip() or None
    fields.input_tools = sorted(set(fields.input_tools or []), key=lambda v: (v not in INPUT_TOOLS, v))
    fields.output_modes = sorted(set(fields.output_modes or []), key=lambda v: (v not in OUTPUT_MODES, v))
    return fields


def _name_taken(name: str, owner_id: int | None, exclude_id: int | None) -> str | None:
    lowered = sa.func.lower(Agent.name) == name.lower()
    others = Agent.id != exclude_id if exclude_id is not None else sa.true()
    public = db.session.execute(
        sa.select(Agent.id).where(lowered, others, Agent.privacy_level == "public")
    ).first()
    if public is not None:
        return "A public agent already has this name. Choose another name."
    mine = Agent.creator_id == owner_id if owner_id is not None else Agent.creator_id.is_(None)
    if db.session.execute(sa.select(Agent.id).where(lowered, others, mine)).first() is not None:
        return ("Another of your agents already has this name." if owner_id is not None
                else "Another admin-managed agent already has this name.")
    return None


def validate(fields: AgentFields, *, owner, agent: Agent | None = None) -> dict[str, list[str]]:
    """Every rule on an agent's fields; `owner` is the creator (None for admin-managed agents)."""
    errors: dict[str, list[str]] = {}

    def err(name, message):
        errors.setdefault(name, []).append(message)

    if not fields.name:
        err("name", "Give the agent a name.")
    elif len(fields.name) > NAME_MAX:
        err("name", f"The name can be at most {NAME_MAX} characters long.")
    else:
        taken = _name_taken(fields.name, _user_id(owner), agent.id if agent else None)
        if taken:
            err("name", taken)
    if fields.personality and len(fields.personality) > PERSONALITY_MAX:
        err("personality", f"The personality can be at most {PERSONALITY_MAX} characters long.")
    for name, value, allowed in (
        ("input_tools", fields.input_tools, INPUT_TOOLS), ("output_modes", fields.output_modes, OUTPUT_MODES),
    ):
        unknown = [v for v in value if v not in allowed]
        if unknown:
            err(name, f"Unknown value(s): {', '.join(map(str, unknown))}. Allowed: {', '.join(allowed)}.")
    for name, value, allowed in (
        ("style_color", fields.style_color, STYLE_COLORS), ("style_icon", fields.style_icon, STYLE_ICONS),
        ("privacy_level", fields.privacy_level, PRIVACY_LEVELS),
    ):
        if value not in allowed:
            err(name, f"'{value}' is not one of: {', '.join(allowed)}.")
    changed_model = agent is None or agent.chat_model_id != fields.chat_model_id
    if fields.chat_model_id is not None and changed_model:
        model = db.session.get(ChatModel, fields.chat_model_id)
        if model is None:
            err("chat_model_id", "This chat model does not exist.")
        elif owner is not None and not can_use_model(owner, model):
            err("chat_model_id", "Subscribe to switch to this chat model.")
    return errors


# --------------------------------------------------------------------------- writes


def new_slug(name: str) -> str:
    """A readable slug of the name plus 6 random digits, unused so far. It never changes afterwards."""
    base = slugify(name, max_length=SLUG_BASE_MAX, word_boundary=True) or "agent"
    rng = random.SystemRandom()
    for _ in range(SLUG_ATTEMPTS):
        slug = f"{base}-{rng.randrange(10 ** SLUG_SUFFIX_DIGITS):0{SLUG_SUFFIX_DIGITS}d}"
        if db.session.execute(sa.select(Agent.id).where(Agent.slug == slug)).first() is None:
            return slug
    raise AgentError({"name": ["Could not find a free link for this name; try again."]}, status=409)


def create_agent(user, fields: AgentFields, *, admin_managed: bool = False) -> Agent:
    """A new agent owned by `user`, or an admin-managed one (no creator) when an admin asks for it."""
    if _user_id(user) is None:
        raise AgentError({"": ["Sign in to create agents."]}, status=401)
    if admin_managed and not _is_admin(user):
        raise AgentError({"": ["Only administrators create admin-managed agents."]}, status=403)
    owner = None if admin_managed else user
    fields = _normalise(fields)
    errors = validate(fields, owner=owner)
    if errors:
        raise AgentError(errors)
    agent = Agent(
        creator_id=None if admin_managed else user.id, managed_by_admin=admin_managed,
        slug=new_slug(fields.name), **{name: getattr(fields, name) for name in EDITABLE_FIELDS},
    )
    db.session.add(agent)
    db.session.flush()
    audit.record("agent.create", actor=user, obj=agent,
                 changes={name: getattr(fields, name) for name in EDITABLE_FIELDS} | {"slug": agent.slug,
                         "managed_by_admin": admin_managed})
    return agent


def update_agent(user, agent: Agent, fields: AgentFields, *, expected_version: int | None = None) -> Agent:
    """Change an agent's fields; the slug stays. A stale `expected_version` raises AgentConflict."""
    if not can_edit(user, agent):
        raise AgentError({"": ["You cannot change this agent."]}, status=403)
    if expected_version is not None and expected_version != agent.version:
        raise AgentConflict()
    fields = _normalise(fields)
    errors = validate(fields, owner=agent.creator, agent=agent)
    if errors:
        raise AgentError(errors)
    for name in EDITABLE_FIELDS:
        setattr(agent, name, getattr(fields, name))
    changes = audit.diff(agent, EDITABLE_FIELDS)
    _flush_or_conflict()
    if changes:
        audit.record("agent.update", actor=user, obj=agent, changes=changes)
    return agent


def deletion_impact(agent: Agent) -> dict[str, int]:
    """What goes with the agent: its knowledge entries and files; its conversations lose the agent."""
    def count(model, column):
        return db.session.execute(sa.select(sa.func.count()).select_from(model).where(column == agent.id)).scalar()

    return {"entries": count(Entry, Entry.agent_id), "files": count(FileObject, FileObject.agent_id),
            "conversations": count(Conversation, Conversation.agent_id)}


def delete_agent(user, agent: Agent, *, expected_version: int | None = None) -> None:
    """Delete the agent; its knowledge entries go with it (ON DELETE CASCADE). The default agent stays."""
    if is_default_agent(agent):
        raise AgentError({"": ["The default agent Khoj cannot be deleted."]}, status=409)
    if not can_delete(user, agent):
        raise AgentError({"": ["You cannot delete this agent."]}, status=403)
    if expected_version is not None and expected_version != agent.version:
        raise AgentConflict()
    audit.record("agent.delete", actor=user, obj=agent,
                 changes={"name": agent.name, "slug": agent.slug, **deletion_impact(agent)})
    db.session.delete(agent)
    _flush_or_conflict()


def moderate(admin, agent: Agent, *, approve: bool | None = None, hide: bool | None = None) -> dict:
    """Approve/unapprove or hide/unhide an agent; one audit row per change. Returns the changes."""
    if not _is_admin(admin):
        raise AgentError({"": ["Only administrators approve or hide agents."]}, status=403)
    if approve is not None:
        agent.is_approved = approve
    if hide is not None:
        agent.is_hidden = hide
    changes = audit.diff(agent, ("is_approved", "is_hidden"))
    _flush_or_conflict()
    if changes:
        action = "agent.approve" if "is_approved" in changes else "agent.hide"
        if "is_approved" in changes and "is_hidden" in changes:
            action = "agent.moderate"
        audit.record(action, actor=admin, obj=agent, changes=changes)
    return changes


def _flush_or_conflict() -> None:
    try:
        db.session.flush()
    except StaleDataError as exc:
        db.session.rollback()
        raise AgentConflict() from exc
