"""Agent pages: the list, an agent's page (its shareable link), create, edit, delete.

Thin views: every access decision is a call into services (listed / readable / editable / deletable).
Conversation pages are in conversation_views.py, the admin pages in admin_views.py.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..extensions import db
from . import services
from .forms import AgentForm, ConfirmForm

bp = Blueprint("agents", __name__)


def readable_or_404(slug: str):
    agent = services.get_readable(current_user, slug)
    if agent is None:
        abort(404)
    return agent


def editable_or_abort(slug: str):
    """Someone else's private agent is 404 (it does not exist for them); a readable one is 403."""
    agent = readable_or_404(slug)
    if not services.can_edit(current_user, agent):
        abort(403)
    return agent


def expected_version(form) -> int | None:
    raw = (form.version.data or "").strip()
    return int(raw) if raw.isdigit() else None


def agent_form(agent=None, *, admin_managed: bool = False) -> AgentForm:
    form = AgentForm(obj=agent) if agent is not None else AgentForm()
    owner = agent.creator if agent is not None else (None if admin_managed else current_user)
    form.set_chat_models(services.chat_model_choices(owner, owner_is_admin=owner is None),
                         current_id=agent.chat_model_id if agent is not None else None)
    if request.method == "GET" and agent is not None:
        form.chat_model.data = str(agent.chat_model_id or "")
        form.version.data = str(agent.version)
    return form


def create_from_form(form: AgentForm, *, admin_managed: bool = False):
    """Create the agent of a validated form and commit; on refusal put the errors on the form, return None."""
    try:
        agent = services.create_agent(current_user, form.to_fields(), admin_managed=admin_managed)
    except services.AgentError as exc:
        db.session.rollback()
        form.show_errors(exc.errors)
        return None
    db.session.commit()
    return agent


@bp.get("/agents")
def index():
    page = request.args.get("page", 1, type=int)
    pagination = services.listed_agents(current_user, page=page)
    return render_template("agents/index.html", pagination=pagination, services=services)


@bp.route("/agents/new", methods=["GET", "POST"])
@login_required
def create():
    form = agent_form()
    if form.validate_on_submit() and (agent := create_from_form(form)) is not None:
        flash(f"Created the agent {agent.name}.", "success")
        return redirect(url_for("agents.detail", slug=agent.slug))
    return render_template("agents/form.html", form=form, agent=None, services=services), (
        422 if form.errors or form.form_errors else 200)


@bp.get("/agents/<slug>")
def detail(slug: str):
    agent = readable_or_404(slug)
    return render_template(
        "agents/detail.html", agent=agent, services=services,
        can_edit=services.can_edit(current_user, agent), can_delete=services.can_delete(current_user, agent),
        chat_model=services.effective_chat_model(agent),
    )


@bp.route("/agents/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str):
    agent = editable_or_abort(slug)
    form = agent_form(agent)
    status = 200
    if form.validate_on_submit():
        try:
            services.update_agent(current_user, agent, form.to_fields(), expected_version=expected_version(form))
        except services.AgentConflict as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
            status = 409
        except services.AgentError as exc:
            db.session.rollback()
            form.show_errors(exc.errors)
        else:
            db.session.commit()
            flash(f"Saved the agent {agent.name}.", "success")
            return redirect(url_for("agents.detail", slug=agent.slug))
    if status == 200 and (form.errors or form.form_errors):
        status = 422
    return render_template("agents/form.html", form=form, agent=agent, services=services), status


@bp.route("/agents/<slug>/delete", methods=["GET", "POST"])
@login_required
def delete(slug: str):
    agent = editable_or_abort(slug)
    if services.is_default_agent(agent):
        flash("The default agent Khoj cannot be deleted.", "warning")
        return redirect(url_for("agents.detail", slug=agent.slug))
    form = ConfirmForm()
    if request.method == "GET":
        form.version.data = str(agent.version)
    elif form.validate_on_submit():
        name = agent.name
        try:
            services.delete_agent(current_user, agent, expected_version=expected_version(form))
        except services.AgentConflict as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return redirect(url_for("agents.detail", slug=slug))
        db.session.commit()
        flash(f"Deleted the agent {name}.", "success")
        return redirect(url_for("agents.index"))
    return render_template("agents/delete.html", agent=agent, form=form, impact=services.deletion_impact(agent))


from . import admin, conversation_views  # noqa: E402,F401  (register the admin list and conversation routes)
