"""Conversations: each belongs to one user (loaded through its owner) and optionally an agent.

conversation_log is Khoj's {"chat": [ChatMessage, …]}; every message that enters it is validated by
portal.schemas.ChatMessage. Exports use portal.schemas.ConversationExport / ConversationsExport; an import is
validated completely before anything is written, so a bad file writes nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import defer, selectinload
from pydantic import ValidationError

from .. import audit
from ..extensions import db
from ..models import Conversation
from ..schemas import ChatMessage, Context, ConversationExport, ConversationsExport, validation_errors
from . import services as agents

TITLE_MAX = 500
IMPORT_MAX_CONVERSATIONS = 1000


class ConversationError(Exception):
    """A refused change or import, with one readable line per problem."""

    def __init__(self, errors: list[str], status: int = 422):
        super().__init__("; ".join(errors))
        self.errors, self.status = errors, status


def _user_id(user) -> int:
    return user.id


def conversations_query(user):
    return (
        sa.select(Conversation).where(Conversation.user_id == _user_id(user))
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    )


def list_conversations(user, page: int = 1, per_page: int = 20):
    """A page of the user's conversations without their logs (which can be large); see message_counts."""
    query = conversations_query(user).options(defer(Conversation.conversation_log), selectinload(Conversation.agent))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def message_counts(conversations) -> dict[int, int]:
    """{conversation id: number of messages}, counted by the database in one query."""
    ids = [c.id for c in conversations]
    if not ids:
        return {}
    length = sa.func.coalesce(sa.func.jsonb_array_length(Conversation.conversation_log["chat"]), 0)
    return dict(db.session.execute(sa.select(Conversation.id, length).where(Conversation.id.in_(ids))).all())


def get_own(user, conversation_id: int) -> Conversation | None:
    """The user's conversation with this id; another user's id gives None (callers answer 404)."""
    return db.session.execute(
        sa.select(Conversation).where(Conversation.id == conversation_id, Conversation.user_id == _user_id(user))
    ).scalar_one_or_none()


def messages(conversation: Conversation) -> list[dict]:
    return list((conversation.conversation_log or {}).get("chat") or [])


def display_title(conversation: Conversation) -> str:
    if conversation.title:
        return conversation.title
    for message in messages(conversation):
        if message.get("by") == "you" and isinstance(message.get("message"), str) and message["message"].strip():
            return message["message"].strip()[:80]
    return f"Conversation {conversation.id}"


def rename(user, conversation: Conversation, title: str) -> Conversation:
    title = (title or "").strip()
    if not title:
        raise ConversationError(["Give the conversation a title."])
    if len(title) > TITLE_MAX:
        raise ConversationError([f"The title can be at most {TITLE_MAX} characters long."])
    conversation.title = title
    db.session.flush()
    return conversation


def delete(user, conversation: Conversation) -> None:
    db.session.delete(conversation)
    db.session.flush()


# --------------------------------------------------------------------------- export


def export_one(conversation: Conversation) -> dict:
    """The conversation as a ConversationExport document (validated on the way out)."""
    document = ConversationExport.model_validate({
        "title": conversation.title,
        "agent": conversation.agent.slug if conversation.agent else None,
        "created_at": conversation.created_at,
        "chat": messages(conversation),
    })
    data = document.model_dump(mode="json", exclude={"chat"})
    data["chat"] = [m.to_storage() for m in document.chat]
    return data


def export_all(user) -> dict:
    rows = db.session.execute(conversations_query(user)).scalars()
    return {"conversations": [export_one(c) for c in rows]}


# --------------------------------------------------------------------------- import


def parse_import(raw: bytes | str | dict | list) -> tuple[list[ConversationExport], bool]:
    """A whole export ({"conversations": […]}) or one conversation ({"chat": […]}); errors name the path.
    Returns the conversations and whether the document was a whole export."""
    if isinstance(raw, (bytes, str)):
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ConversationError([f"The file is not valid JSON: {exc}"]) from exc
    else:
        data = raw
    wrapped = isinstance(data, dict) and "conversations" in data
    try:
        if wrapped:
            documents = ConversationsExport.model_validate(data).conversations
        else:
            documents = [ConversationExport.model_validate(data)]
    except ValidationError as exc:
        raise ConversationError(validation_errors(exc)) from exc
    if len(documents) > IMPORT_MAX_CONVERSATIONS:
        raise ConversationError([f"An import holds at most {IMPORT_MAX_CONVERSATIONS} conversations."])
    return documents, wrapped


def import_conversations(user, raw) -> list[Conversation]:
    """Validate everything first (shape, agents the user may read), then write all conversations or none."""
    documents, wrapped = parse_import(raw)
    errors, agent_ids = [], []
    for index, document in enumerate(documents):
        prefix = f"conversations[{index}]." if wrapped else ""
        if document.title and len(document.title) > TITLE_MAX:
            errors.append(f"{prefix}title: The title can be at most {TITLE_MAX} characters long.")
        agent_id = None
        if document.agent:
            agent = agents.get_readable(user, document.agent)
            if agent is None:
                errors.append(f"{prefix}agent: No agent '{document.agent}' that you can use.")
            else:
                agent_id = agent.id
        agent_ids.append(agent_id)
    if errors:
        raise ConversationError(errors)
    created = []
    for document, agent_id in zip(documents, agent_ids):
        conversation = Conversation(
            user_id=user.id, agent_id=agent_id, title=document.title,
            conversation_log={"chat": [m.to_storage() for m in document.chat]},
        )
        if document.created_at is not None:
            conversation.created_at = document.created_at
        db.session.add(conversation)
        created.append(conversation)
    db.session.flush()
    audit.record("conversation.import", actor=user, object_type="conversation",
                 changes={"count": len(created), "ids": [c.id for c in created]})
    return created


# --------------------------------------------------------------------------- display


@dataclass
class Reference:
    label: str
    text: str | None = None
    href: str | None = None


def safe_href(uri: str | None) -> str | None:
    """Only http(s) links become clickable: a stored javascript: or data: URI is shown as text."""
    if not uri:
        return None
    return uri if urlsplit(uri.strip()).scheme.lower() in ("http", "https") else None


def message_view(message: dict) -> dict:
    """What the conversation page shows of one stored message; the template escapes every string."""
    body = message.get("message")
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, indent=1)
    notes = []
    for item in message.get("context") or []:
        if isinstance(item, str):
            notes.append(Reference(label="Note", text=item))
        elif isinstance(item, dict):
            try:
                ref = Context.model_validate(item)
            except ValidationError:
                continue
            uri = ref.resolved_uri
            notes.append(Reference(label=ref.file or "Note", text=ref.compiled, href=safe_href(uri)))
    online = []
    for query, found in (message.get("onlineContext") or {}).items():
        if not isinstance(found, dict):
            continue
        for result in found.get("organic") or []:
            if isinstance(result, dict):
                online.append(Reference(label=result.get("title") or result.get("link") or query,
                                        text=result.get("snippet"), href=safe_href(result.get("link"))))
        pages = found.get("webpages")
        for page in ([pages] if isinstance(pages, dict) else pages or []):
            if isinstance(page, dict):
                online.append(Reference(label=page.get("link") or query, text=page.get("snippet"),
                                        href=safe_href(page.get("link"))))
    code = [Reference(label=query, text=(found or {}).get("code") if isinstance(found, dict) else None)
            for query, found in (message.get("codeContext") or {}).items()]
    return {"by": message.get("by"), "text": text, "created": message.get("created"), "notes": notes,
            "online": online, "code": code}


def validate_message(data: dict) -> dict:
    """One message as it would be stored; raises ConversationError with readable lines."""
    try:
        return ChatMessage.model_validate(data).to_storage()
    except ValidationError as exc:
        raise ConversationError(validation_errors(exc)) from exc
