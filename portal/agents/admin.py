"""Agents in the shared admin lists (/admin/agents/): privacy filter, name search, bulk approve/hide.

Creating (admin-managed agents), editing and deleting go through the same services as the user pages, so the
name rules, slugs, the protected default agent and the audit rows are the same everywhere.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from ..admin.listing import Action, BoolFilter, ChoiceFilter, Column, ModelAdmin, register
from ..extensions import db
from ..models import Agent, KhojUser
from ..models.choices import PRIVACY_LEVELS
from . import services


def _moderate(label: str, **change):
    def run(admin, rows, actor) -> str:
        try:
            changed = sum(bool(services.moderate(actor, agent, **change)) for agent in rows)
        except services.AgentConflict as exc:
            return exc.message
        return f"{label}: {changed} agent{'s' if changed != 1 else ''} changed."

    return run


def _state(agent: Agent) -> str:
    parts = []
    if agent.is_hidden:
        parts.append("hidden")
    if agent.privacy_level == "public" and not agent.managed_by_admin:
        parts.append("approved" if agent.is_approved else "awaiting approval")
    return ", ".join(parts)


@register
class AgentAdmin(ModelAdmin):
    model = Agent
    slug = "agents"
    title = "Agents"
    group = "Content"
    columns = [
        Column("name", sort=Agent.name, link=True),
        Column("slug", sort=Agent.slug),
        Column("creator", "Creator", render=lambda a: a._creator or "admin-managed"),
        Column("privacy_level", "Privacy", sort=Agent.privacy_level),
        Column("state", "State", render=_state),
        Column("created_at", "Created", sort=Agent.created_at),
    ]
    search_fields = [Agent.name]
    search_help = "Name"
    filters = [
        ChoiceFilter("privacy", "Privacy", Agent.privacy_level, PRIVACY_LEVELS),
        BoolFilter("approved", "Approved", Agent.is_approved),
        BoolFilter("hidden", "Hidden", Agent.is_hidden),
        BoolFilter("managed", "Admin-managed", Agent.managed_by_admin),
    ]
    actions = [
        Action("approve", "Approve (list public agents for everyone)", _moderate("Approved", approve=True)),
        Action("unapprove", "Withdraw approval", _moderate("Approval withdrawn", approve=False)),
        Action("hide", "Hide (never listed, link works for the owner only)", _moderate("Hidden", hide=True)),
        Action("unhide", "Show again", _moderate("Shown again", hide=False)),
    ]
    default_sort = "-created_at"
    # Editing and deleting happen on the agent's own pages (linked from each row), which admins may use for
    # every agent: same rules, the default agent protected, a confirmation before deleting.
    can_edit = False
    can_delete = False
    empty_message = "No agents match."

    def row_url(self, obj) -> str:
        return url_for("agents.detail", slug=obj.slug)

    def annotate(self, rows) -> None:
        ids = {r.creator_id for r in rows if r.creator_id}
        emails = dict(db.session.execute(
            db.select(KhojUser.id, KhojUser.email).where(KhojUser.id.in_(ids))).all()) if ids else {}
        for row in rows:
            row._creator = emails.get(row.creator_id)

    def create_view(self):
        """New admin-managed agent (no creator), through the agents form and services."""
        from .views import agent_form, create_from_form

        form = agent_form(admin_managed=True)
        if form.validate_on_submit() and (agent := create_from_form(form, admin_managed=True)) is not None:
            flash(f"Created the admin-managed agent {agent.name}.", "success")
            return redirect(self.url("list"))
        return render_template("agents/form.html", form=form, agent=None, admin_managed=True,
                               services=services), (422 if form.errors else 200)
