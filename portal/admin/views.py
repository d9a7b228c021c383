"""Admin pages that are not plain model lists: the dashboard, object history, the user's detail page.

The model lists themselves are declared in users.py, catalog.py and content.py with the shared
machinery in listing.py.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import render_template
from markupsafe import Markup

from ..auth import admin_required
from ..extensions import db
from ..models import (
    Agent, AuditLog, Conversation, Entry, GithubConfig, GithubRepoConfig, KhojApiUser, KhojUser, NotionConfig,
    WebScraper,
)
from . import bp
from . import catalog, content, users  # noqa: F401  (registers the model admins)
from .charts import daily_chart
from .listing import admin_for, now, registry

__all__ = ["bp"]


@bp.app_template_filter("admin_value")
def admin_value(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Markup):
        return value
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return "—" if value is None else value


@bp.app_context_processor
def admin_navigation():
    def admin_sections():
        from flask_login import current_user

        groups: dict[str, list] = {}
        for admin in registry.values():
            if admin.permission == "superuser" and not current_user.is_superuser:
                continue
            groups.setdefault(admin.group, []).append(admin)
        order = ["Accounts", "AI models", "Integrations", "Content", "Operations"]
        return sorted(groups.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))

    return {"admin_sections": admin_sections}


def _count(stmt) -> int:
    return db.session.execute(stmt).scalar() or 0


def _per_day(column, days: int = 30) -> list[tuple[date, int]]:
    start = (now() - timedelta(days=days - 1)).date()
    day = sa.func.date(sa.func.timezone("UTC", column))
    rows = dict(db.session.execute(
        sa.select(day, sa.func.count()).where(column >= start).group_by(day)
    ).all())
    return [(start + timedelta(days=i), rows.get(start + timedelta(days=i), 0)) for i in range(days)]


@bp.get("/")
@admin_required
def dashboard():
    from ..core.locks import stale_locks
    from ..subscriptions import state as sub_state
    from .users import state_clause

    week_ago = now() - timedelta(days=7)
    from ..models import Subscription

    # One pass over subscriptions: each row lands in the first state whose SQL rule it meets.
    live = (sub_state.TRIAL, sub_state.SUBSCRIBED, sub_state.UNSUBSCRIBED)
    state = sa.case(*[(state_clause(s), s) for s in live], else_=sub_state.EXPIRED)
    found = dict(db.session.execute(sa.select(state, sa.func.count()).select_from(Subscription).group_by(state)).all())
    state_counts = {s: found.get(s, 0) for s in live + (sub_state.EXPIRED,)}
    privacy = dict(db.session.execute(
        sa.select(Agent.privacy_level, sa.func.count()).group_by(Agent.privacy_level)).all())
    counts = {
        "users": _count(sa.select(sa.func.count()).select_from(KhojUser)),
        "active_7d": _count(sa.select(sa.func.count()).select_from(KhojUser).where(KhojUser.last_login >= week_ago)),
        "entries": _count(sa.select(sa.func.count()).select_from(Entry)),
        "conversations": _count(sa.select(sa.func.count()).select_from(Conversation)),
        "notion": _count(sa.select(sa.func.count()).select_from(NotionConfig)),
        "github": _count(sa.select(sa.func.count()).select_from(GithubConfig)),
        "github_repos": _count(sa.select(sa.func.count()).select_from(GithubRepoConfig)),
        "web_scrapers": _count(sa.select(sa.func.count()).select_from(WebScraper)),
    }
    signups = _per_day(KhojUser.date_joined)
    indexed = _per_day(Entry.created_at)
    recent = list(db.session.scalars(
        sa.select(AuditLog).options(sa.orm.joinedload(AuditLog.actor)).order_by(AuditLog.id.desc()).limit(10)))
    return render_template(
        "admin/dashboard.html", counts=counts, states=state_counts, privacy=privacy,
        signups_chart=daily_chart(signups, "Sign-ups per day"), entries_chart=daily_chart(indexed, "Entries indexed per day"),
        signups_total=sum(n for _, n in signups), indexed_total=sum(n for _, n in indexed),
        stale=stale_locks(), recent=recent, admin_for=admin_for,
    )


@bp.get("/history/<object_type>/<object_id>")
@admin_required
def history(object_type: str, object_id: str):
    target_admin = admin_for(object_type)
    events = list(db.session.scalars(
        sa.select(AuditLog).options(sa.orm.joinedload(AuditLog.actor))
        .where(AuditLog.object_type == object_type[:100], AuditLog.object_id == object_id[:100])
        .order_by(AuditLog.id.desc()).limit(500)
    ))
    label = f"{object_type.replace('_', ' ')} #{object_id}"
    if target_admin is not None and object_id.isdigit():
        obj = db.session.get(target_admin.model, int(object_id))
        if obj is not None:
            label = target_admin.label(obj)
    return render_template("admin/history.html", events=events, object_type=object_type, object_id=object_id,
                           target_admin=target_admin, label=label)


@bp.get("/users/<int:id>/")
@admin_required
def user_detail(id: int):
    from ..subscriptions.state import subscription_state

    user = db.session.get(KhojUser, id)
    if user is None:
        from flask import abort

        abort(404)
    tokens = list(db.session.scalars(
        sa.select(KhojApiUser).where(KhojApiUser.user_id == user.id).order_by(KhojApiUser.id.desc())))
    agents = list(db.session.scalars(sa.select(Agent).where(Agent.creator_id == user.id).order_by(Agent.name)))
    notion = db.session.scalars(sa.select(NotionConfig).where(NotionConfig.user_id == user.id)).first()
    github = db.session.scalars(
        sa.select(GithubConfig).where(GithubConfig.user_id == user.id).options(sa.orm.selectinload(GithubConfig.repos))
    ).first()
    entry_counts = db.session.execute(
        sa.select(Entry.file_type, sa.func.count()).where(Entry.user_id == user.id)
        .group_by(Entry.file_type).order_by(Entry.file_type)).all()
    conversations = _count(sa.select(sa.func.count()).select_from(Conversation).where(Conversation.user_id == user.id))
    return render_template(
        "admin/user_detail.html", user=user, admin=registry["users"], state=subscription_state(user.subscription),
        tokens=tokens, agents=agents, notion=notion, github=github, entry_counts=entry_counts,
        entry_total=sum(n for _, n in entry_counts), conversations=conversations,
    )
