"""The user's model choice: chat and voice model cards, standard tier gated by the plan."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ..extensions import db
from ..subscriptions.state import billing_configured
from . import services

# The "models" area (AI model APIs, chat/voice model choice); the package name avoids portal.models.
bp = Blueprint("models", __name__)


@bp.get("/models")
@login_required
def index():
    user = current_user
    return render_template(
        "models/index.html",
        chat_models=services.chat_models(), voice_models=services.voice_models(),
        saved_chat_id=services.saved_choice(user, "chat"), saved_voice_id=services.saved_choice(user, "voice"),
        effective_chat=services.effective_chat_model(user), effective_voice=services.effective_voice_model(user),
        subscribed=services.user_is_subscribed(user), billing=billing_configured(current_app.config),
        can_use=lambda model: services.can_use_model(user, model),
        prompt_size=lambda model: services.max_prompt_size(user, model),
    )


@bp.post("/models/chat/<int:model_id>")
@login_required
def choose_chat(model_id: int):
    return _choose("chat", model_id)


@bp.post("/models/voice/<int:model_id>")
@login_required
def choose_voice(model_id: int):
    return _choose("voice", model_id)


def _choose(kind: str, model_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400, "The form expired or was not sent from this site. Reload the page and try again.")
    try:
        model = services.select_model(current_user, kind, model_id)
    except services.ModelChoiceError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "warning")
    else:
        db.session.commit()
        flash(f"Your {kind} model is now {model}.", "success")
    return redirect(url_for(".index"))
