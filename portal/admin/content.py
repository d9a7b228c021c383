"""Admin pages for indexed entries, conversations and the audit log."""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import defer, joinedload

from ..extensions import db
from ..models import Agent, AuditLog, Conversation, Entry, KhojUser, SearchModelConfig
from ..models.choices import FILE_SOURCES, FILE_TYPES
from .listing import ChoiceFilter, Column, Filter, ModelAdmin, like_pattern, register


def user_filter(column, name: str = "user", label: str = "User (email or id)") -> Filter:
    """A text filter matching a user by exact email (case-insensitive) or id."""

    def apply(q, v):
        if v.isdigit():
            return q.where(column == int(v))
        return q.where(column.in_(sa.select(KhojUser.id).where(sa.func.lower(KhojUser.email) == v.lower())))

    return Filter(name, label, apply, None)


def emails_for(ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(KhojUser.id, KhojUser.email).where(KhojUser.id.in_(ids))).all())


def matching_user_ids(pattern: str, limit: int = 1000) -> list[int]:
    """Ids of users whose email matches, resolved first: a literal id list lets the planner use the
    owner index of a big table (a sub-select inside OR would scan it)."""
    return list(db.session.scalars(sa.select(KhojUser.id).where(KhojUser.email.ilike(pattern)).limit(limit))) or [-1]


# --------------------------------------------------------------------------- entries


def _search_models():
    return [(str(i), n) for i, n in db.session.execute(
        sa.select(SearchModelConfig.id, SearchModelConfig.name).order_by(SearchModelConfig.name))]


@register
class EntryAdmin(ModelAdmin):
    model = Entry
    slug = "entries"
    noun = "entry"
    title = "Entries"
    group = "Content"
    columns = [
        Column("id", "Id", sort=Entry.id, link=True),
        Column("owner", "Owner", render=lambda e: e._owner),
        Column("file_type", "Type", sort=Entry.file_type),
        Column("file_source", "Source", sort=Entry.file_source),
        Column("file_path", "Path", sort=Entry.file_path),
        Column("heading", "Heading"),
        Column("search_model", "Search model", render=lambda e: e._search_model),
        Column("created_at", "Indexed", sort=Entry.created_at),
    ]
    search_fields = [Entry.file_path]
    search_help = "Path or user email"
    filters = [
        ChoiceFilter("type", "Type", Entry.file_type, FILE_TYPES),
        ChoiceFilter("source", "Source", Entry.file_source, FILE_SOURCES),
        user_filter(Entry.user_id),
        Filter("model", "Search model", lambda q, v: q.where(Entry.search_model_id == int(v)) if v.isdigit() else q,
               _search_models),
    ]
    can_create = False
    can_edit = False
    list_options = (defer(Entry.embeddings), defer(Entry.raw), defer(Entry.compiled), defer(Entry.search_vector))
    empty_message = "Nothing is indexed yet. Users add content from the Search page or by connecting integrations."

    def label(self, obj):
        return f"entry #{obj.id}" + (f" ({obj.file_path})" if obj.file_path else "")

    def search(self, q):
        pattern = like_pattern(q)
        return sa.or_(Entry.file_path.ilike(pattern), Entry.user_id.in_(matching_user_ids(pattern)))

    def annotate(self, rows):
        emails = emails_for(r.user_id for r in rows)
        agent_ids = {r.agent_id for r in rows if r.agent_id}
        agents = dict(db.session.execute(sa.select(Agent.id, Agent.name).where(Agent.id.in_(agent_ids))).all()) \
            if agent_ids else {}
        models = dict(db.session.execute(sa.select(SearchModelConfig.id, SearchModelConfig.name)).all())
        for row in rows:
            row._owner = emails.get(row.user_id) if row.user_id else f"agent: {agents.get(row.agent_id)}"
            row._search_model = models.get(row.search_model_id)


# --------------------------------------------------------------------------- conversations


@register
class ConversationAdmin(ModelAdmin):
    model = Conversation
    slug = "conversations"
    noun = "conversation"
    title = "Conversations"
    group = "Content"
    permission = "superuser"
    columns = [
        Column("title", sort=Conversation.title, link=True, render=lambda c: c.title or f"(untitled #{c.id})"),
        Column("user", "User", render=lambda c: c._email),
        Column("agent", "Agent", render=lambda c: c._agent),
        Column("messages", "Messages", render=lambda c: c._messages),
        Column("created_at", "Started", sort=Conversation.created_at),
        Column("updated_at", "Last message", sort=Conversation.updated_at),
    ]
    search_fields = [Conversation.title]
    search_help = "Title or user email"
    filters = [user_filter(Conversation.user_id)]
    can_create = False
    can_edit = False
    list_options = (defer(Conversation.conversation_log),)
    default_sort = "-updated_at"

    def export_columns(self):
        return self.columns + [Column("log", "Conversation log", render=lambda c: c.conversation_log)]

    def search(self, q):
        pattern = like_pattern(q)
        return sa.or_(Conversation.title.ilike(pattern), Conversation.user_id.in_(matching_user_ids(pattern)))

    def annotate(self, rows):
        emails = emails_for(r.user_id for r in rows)
        ids = [r.id for r in rows]
        counts = dict(db.session.execute(
            sa.select(Conversation.id, sa.func.coalesce(
                sa.func.jsonb_array_length(Conversation.conversation_log["chat"]), 0))
            .where(Conversation.id.in_(ids))).all()) if ids else {}
        agent_ids = {r.agent_id for r in rows if r.agent_id}
        agents = dict(db.session.execute(sa.select(Agent.id, Agent.name).where(Agent.id.in_(agent_ids))).all()) \
            if agent_ids else {}
        for row in rows:
            row._email = emails.get(row.user_id)
            row._messages = counts.get(row.id, 0)
            row._agent = agents.get(row.agent_id)


# --------------------------------------------------------------------------- audit log


def _object_types():
    return [(t, t) for (t,) in db.session.execute(
        sa.select(AuditLog.object_type).where(AuditLog.object_type.isnot(None)).distinct().order_by(AuditLog.object_type))]


def _actions():
    return [(a, a) for (a,) in db.session.execute(sa.select(AuditLog.action).distinct().order_by(AuditLog.action))]


def _object_filter(q, v):
    kind, _, ident = v.partition(":")
    q = q.where(AuditLog.object_type == kind)
    return q.where(AuditLog.object_id == ident) if ident else q


def _changes(event):
    return ", ".join(sorted(event.changes or {}))


@register
class AuditLogAdmin(ModelAdmin):
    model = AuditLog
    slug = "audit_log"
    noun = "audit event"
    title = "Audit log"
    group = "Operations"
    columns = [
        Column("created_at", "When", sort=AuditLog.created_at),
        Column("actor", "Who", render=lambda e: e.actor.email if e.actor else "system"),
        Column("action", sort=AuditLog.action),
        Column("object", "Object", link=True,
               render=lambda e: f"{e.object_type} #{e.object_id}" if e.object_id else (e.object_type or "—")),
        Column("changes", "Changed fields", render=_changes, csv=lambda e: e.changes),
        Column("ip", "IP"),
    ]
    search_fields = [AuditLog.action]
    filters = [
        user_filter(AuditLog.actor_id, "actor", "Actor (email or id)"),
        Filter("action", "Action", lambda q, v: q.where(AuditLog.action == v), _actions),
        Filter("object", "Object type", _object_filter, _object_types),
    ]
    can_create = False
    can_edit = False
    can_delete = False
    list_options = (joinedload(AuditLog.actor),)
    row_links = False  # each row already links to its object's history
    empty_message = "No changes recorded yet."

    def row_url(self, obj):
        if obj.object_type and obj.object_id:
            return url_for("admin.history", object_type=obj.object_type, object_id=obj.object_id)
        return url_for("admin.audit_log_list", f_action=obj.action)
