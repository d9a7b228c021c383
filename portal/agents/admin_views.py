"""Admin pages for agents (/admin/agents): the list with privacy filter, name search and bulk approve/hide,
and creating admin-managed agents. Every change writes an audit row through services."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth import admin_required
from ..extensions import db
from ..models import Agent
from ..models.choices import PRIVACY_LEVELS
from . import services
from .views import agent_form, bp

BULK_ACTIONS = {
    "approve": ("Approve", {"approve": True}),
    "unapprove": ("Withdraw approval", {"approve": False}),
    "hide": ("Hide", {"hide": True}),
    "unhide": ("Show again", {"hide": False}),
}
STATES = {"awaiting": "Awaiting approval", "hidden": "Hidden", "managed": "Admin-managed"}


@bp.get("/admin/agents/")
@admin_required
def admin_list():
    privacy = request.args.get("privacy") or None
    state = request.args.get("state") or None
    q = (request.args.get("q") or "").strip()[:200]
    query = services.admin_agents_query(privacy=privacy, search=q, state=state)
    pagination = db.paginate(query, page=request.args.get("page", 1, type=int), per_page=50, error_out=False)
    return render_template(
        "agents/admin_list.html", pagination=pagination, privacy=privacy, state=state, q=q,
        privacy_levels=PRIVACY_LEVELS, states=STATES, actions=BULK_ACTIONS, services=services,
    )


@bp.post("/admin/agents/bulk")
@admin_required
def admin_bulk():
    action = BULK_ACTIONS.get(request.form.get("action", ""))
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()][:500]
    back = safe_back(request.form.get("next"))
    if action is None or not ids:
        flash("Select agents and an action first.", "warning")
        return redirect(back)
    label, change = action
    rows = db.session.execute(sa.select(Agent).where(Agent.id.in_(ids)).order_by(Agent.id)).scalars().all()
    changed = 0
    try:
        for agent in rows:
            changed += bool(services.moderate(current_user, agent, **change))
    except services.AgentConflict as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(back)
    db.session.commit()
    flash(f"{label}: {changed} agent{'s' if changed != 1 else ''} changed.", "success")
    return redirect(back)


@bp.route("/admin/agents/new", methods=["GET", "POST"])
@admin_required
def admin_create():
    form = agent_form(admin_managed=True)
    if form.validate_on_submit():
        try:
            agent = services.create_agent(current_user, form.to_fields(), admin_managed=True)
        except services.AgentError as exc:
            db.session.rollback()
            form.show_errors(exc.errors)
        else:
            db.session.commit()
            flash(f"Created the admin-managed agent {agent.name}.", "success")
            return redirect(url_for("agents.admin_list"))
    return render_template("agents/form.html", form=form, agent=None, admin_managed=True,
                           services=services), (422 if form.errors else 200)


def safe_back(target: str | None) -> str:
    if target and target.startswith("/admin/agents") and not target.startswith("//"):
        return target
    return url_for("agents.admin_list")
