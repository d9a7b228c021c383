"""Conversation pages: list, open, rename, delete, export one or all, import. Always the signed-in user's own."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..extensions import db
from . import conversations as service
from .forms import ConfirmForm, ImportForm, RenameForm
from .views import bp


def own_or_404(conversation_id: int):
    conversation = service.get_own(current_user, conversation_id)
    if conversation is None:
        abort(404)
    return conversation


def json_download(data: dict, filename: str) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/conversations")
@login_required
def conversations():
    page = request.args.get("page", 1, type=int)
    pagination = service.list_conversations(current_user, page=page)
    return render_template("agents/conversations.html", pagination=pagination, service=service,
                           counts=service.message_counts(pagination.items))


@bp.route("/conversations/<int:conversation_id>", methods=["GET", "POST"])
@login_required
def conversation(conversation_id: int):
    conversation = own_or_404(conversation_id)
    form = RenameForm(title=conversation.title or service.display_title(conversation))
    status = 200
    if form.validate_on_submit():
        try:
            service.rename(current_user, conversation, form.title.data)
        except service.ConversationError as exc:
            db.session.rollback()
            form.title.errors = list(form.title.errors) + exc.errors
        else:
            db.session.commit()
            flash("Renamed the conversation.", "success")
            return redirect(url_for("agents.conversation", conversation_id=conversation.id))
    if form.errors:
        status = 422
    views = [service.message_view(m) for m in service.messages(conversation)]
    return render_template("agents/conversation.html", conversation=conversation, messages=views, form=form,
                           service=service), status


@bp.route("/conversations/<int:conversation_id>/delete", methods=["GET", "POST"])
@login_required
def delete_conversation(conversation_id: int):
    conversation = own_or_404(conversation_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        title = service.display_title(conversation)
        service.delete(current_user, conversation)
        db.session.commit()
        flash(f"Deleted the conversation {title}.", "success")
        return redirect(url_for("agents.conversations"))
    return render_template("agents/conversation_delete.html", conversation=conversation, form=form,
                           service=service)


@bp.get("/conversations/<int:conversation_id>/export")
@login_required
def export_conversation(conversation_id: int):
    conversation = own_or_404(conversation_id)
    return json_download(service.export_one(conversation), f"conversation-{conversation.id}.json")


@bp.get("/conversations/export")
@login_required
def export_conversations():
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return json_download(service.export_all(current_user), f"conversations-{stamp}.json")


@bp.route("/conversations/import", methods=["GET", "POST"])
@login_required
def import_conversations():
    form = ImportForm()
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            created = service.import_conversations(current_user, form.file.data.read())
        except service.ConversationError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash(f"Imported {len(created)} conversation{'s' if len(created) != 1 else ''}.", "success")
            return redirect(url_for("agents.conversations"))
    status = 422 if errors or form.errors else 200
    return render_template("agents/conversation_import.html", form=form, errors=errors), status
