"""Integration pages: GitHub and Notion connections with per-source sync status, and URL import.

Thin views; the work is in services.py. Syncs run in background jobs; the page polls
/integrations/status (static/js/integrations.js) to show the status change.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..audit import record
from ..crypto import mask_secret
from ..extensions import db
from . import services
from .forms import DisconnectForm, RepoForm, TokenForm, UrlForm

bp = Blueprint("integrations", __name__)


def _page(*, github_form=None, repo_form=None, notion_form=None, url_form=None, status=200):
    github = services.github_config(current_user)
    notion = services.notion_config(current_user)
    return render_template(
        "integrations/index.html", github=github, notion=notion, mask_secret=mask_secret,
        github_form=github_form or TokenForm(prefix="github"), repo_form=repo_form or RepoForm(prefix="repo"),
        notion_form=notion_form or TokenForm(prefix="notion"), url_form=url_form or UrlForm(prefix="url"),
        disconnect_form=DisconnectForm(),
    ), status


def _field_error(form, exc: services.IntegrationError) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    if target is not None:
        target.errors = list(target.errors) + [exc.message]
    else:
        form.form_errors.append(exc.message)


@bp.get("/integrations")
@login_required
def index():
    return _page()


@bp.get("/integrations/status")
@login_required
def status():
    """The signed-in user's sync status (the page polls it; scripts use /api/content/sync/status)."""
    return jsonify(services.sync_status(current_user))


def _save_token(kind: str, save, secret_field: str, created_message: str):
    form = TokenForm(prefix=kind)
    if form.validate_on_submit():
        try:
            created = (services.github_config if kind == "github" else services.notion_config)(current_user) is None
            config = save(current_user, form.token.data)
        except services.IntegrationError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            record(f"integrations.{kind}_token_saved", actor=current_user, obj=config,
                   changes={secret_field: "changed"} if form.token.data else None)
            db.session.commit()
            flash(created_message if created else f"{kind.capitalize()} token saved.", "success")
            return redirect(url_for("integrations.index"))
    return _page(**{f"{kind}_form": form}, status=422)


def _disconnect(kind: str, config, disconnect, body: str):
    if config is None:
        return redirect(url_for("integrations.index"))
    form = DisconnectForm()
    label = "GitHub" if kind == "github" else "Notion"
    if form.validate_on_submit():
        deleted = disconnect(current_user, delete_entries=form.delete_entries.data)
        record(f"integrations.{kind}_disconnected", actor=current_user, object_type=f"{kind}_config",
               object_id=config.id, changes={"entries_deleted": deleted})
        db.session.commit()
        flash(f"{label} disconnected: the token is deleted" + (f", and {deleted} entries." if deleted else "."),
              "success")
        return redirect(url_for("integrations.index"))
    return render_template("integrations/confirm.html", form=form, title=f"Disconnect {label}?", body=body,
                           action=url_for(f"integrations.{kind}_disconnect"), submit="Disconnect")


@bp.post("/integrations/github/token")
@login_required
def github_token():
    return _save_token("github", services.save_github_token, "pat_token",
                       "GitHub connected. Add a repository to sync.")


@bp.post("/integrations/github/repos")
@login_required
def github_repo_add():
    form = RepoForm(prefix="repo")
    if form.validate_on_submit():
        try:
            repo = services.add_repo(current_user, form.owner.data, form.name.data, form.branch.data)
        except services.IntegrationError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(f"Added {repo.owner}/{repo.name} ({repo.branch}). Press Sync now to index it.", "success")
            return redirect(url_for("integrations.index"))
    return _page(repo_form=form, status=422)


def _repo_or_404(repo_id: int):
    repo = services.user_repo(current_user, repo_id)
    if repo is None:
        abort(404)
    return repo


def _queue(action) -> None:
    try:
        action()
    except services.IntegrationError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        flash("Sync queued. The status below updates as it runs.", "success")


@bp.post("/integrations/github/repos/<int:repo_id>/sync")
@login_required
def github_repo_sync(repo_id: int):
    repo = _repo_or_404(repo_id)
    _queue(lambda: services.queue_github_sync(current_user, repo))
    return redirect(url_for("integrations.index"))


@bp.post("/integrations/github/sync")
@login_required
def github_sync():
    _queue(lambda: services.queue_github_sync(current_user))
    return redirect(url_for("integrations.index"))


@bp.route("/integrations/github/repos/<int:repo_id>/remove", methods=["GET", "POST"])
@login_required
def github_repo_remove(repo_id: int):
    repo = _repo_or_404(repo_id)
    form = DisconnectForm()
    if form.validate_on_submit():
        label = f"{repo.owner}/{repo.name} ({repo.branch})"
        deleted = services.remove_repo(current_user, repo, delete_entries=form.delete_entries.data)
        db.session.commit()
        flash(f"Removed {label}" + (f" and {deleted} indexed entries." if form.delete_entries.data else
                                    "; its indexed entries stay searchable."), "success")
        return redirect(url_for("integrations.index"))
    return render_template("integrations/confirm.html", form=form,
                           title=f"Remove {repo.owner}/{repo.name} ({repo.branch})?",
                           body="The repository will no longer be synced.",
                           action=url_for("integrations.github_repo_remove", repo_id=repo.id), submit="Remove")


@bp.route("/integrations/github/disconnect", methods=["GET", "POST"])
@login_required
def github_disconnect():
    config = services.github_config(current_user)
    body = f"The token and the {len(config.repos)} repositories are deleted." if config else ""
    return _disconnect("github", config, services.disconnect_github, body)


@bp.post("/integrations/notion/token")
@login_required
def notion_token():
    return _save_token("notion", services.save_notion_token, "token",
                       "Notion connected. Press Sync now to index the pages shared with the integration.")


@bp.post("/integrations/notion/sync")
@login_required
def notion_sync():
    _queue(lambda: services.queue_notion_sync(current_user))
    return redirect(url_for("integrations.index"))


@bp.route("/integrations/notion/disconnect", methods=["GET", "POST"])
@login_required
def notion_disconnect():
    return _disconnect("notion", services.notion_config(current_user), services.disconnect_notion,
                       "The integration token is deleted and Notion is no longer synced.")


@bp.post("/integrations/url")
@login_required
def import_url():
    form = UrlForm(prefix="url")
    if form.validate_on_submit():
        from ..ratelimit import hit

        hit("integrations.url", str(current_user.id), limit=30, window=3600)
        db.session.commit()
        try:
            page, result = services.import_url(current_user, form.url.data)
        except services.IntegrationError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            flash(f"Imported “{page.title}” ({result.chunks_total} entries, via {page.scraper}).", "success")
            return redirect(url_for("integrations.index"))
    return _page(url_form=form, status=422)
