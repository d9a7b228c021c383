"""Admin pages for AI models, server settings, web scrapers, process locks and integrations."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy.orm import joinedload, selectinload
from wtforms import BooleanField, FloatField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, URL

from .. import audit
from ..auth import admin_required
from ..extensions import db
from ..models import (
    AiModelApi, ChatModel, GithubConfig, KhojUser, NotionConfig, ProcessLock, SearchModelConfig,
    ServerChatSettings, VoiceModelOption, WebScraper,
)
from ..models.choices import (
    CHAT_MODEL_TYPES, PRICE_TIERS, SEARCH_ENDPOINT_TYPES, SEARCH_MODEL_TYPES, SYNC_STATUSES, WEB_SCRAPER_TYPES,
)
from . import bp
from .listing import (
    Action, ChoiceFilter, Column, DeleteRefused, ModelAdmin, fk_choices, now, optional_int, register,
)


INT_MAX = 2_147_483_647  # PostgreSQL integer columns


def SecretField(label: str, description: str = ""):
    """Write-only: never filled from the stored value; blank on edit keeps the stored secret."""
    return PasswordField(label, validators=[Optional(), Length(max=4000)], description=description)


def _user_email(obj):
    return obj.user.email if obj.user is not None else None


# --------------------------------------------------------------------------- AI model APIs


class AiModelApiForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    api_key = SecretField("API key")
    api_base_url = StringField("API base URL", validators=[Optional(), URL(require_tld=False), Length(max=2048)],
                               description="Leave blank for the provider's default.")


@register
class AiModelApiAdmin(ModelAdmin):
    model = AiModelApi
    slug = "ai_model_apis"
    noun = "AI model API"
    title = "AI model APIs"
    group = "AI models"
    columns = [
        Column("name", sort=AiModelApi.name, link=True),
        Column("api_key", "API key", secret=True),
        Column("api_base_url", "Base URL"),
        Column("chat_models", "Chat models", render=lambda a: len(a.chat_models)),
        Column("updated_at", "Updated", sort=AiModelApi.updated_at),
    ]
    search_fields = [AiModelApi.name, AiModelApi.api_base_url]
    search_help = "Name or base URL"
    form_class = AiModelApiForm
    secret_fields = ("api_key",)
    list_options = (selectinload(AiModelApi.chat_models),)
    default_sort = "name"

    def validate(self, form, obj):
        if obj is None and not form.api_key.data:
            return {"api_key": "An API key is required."}
        return {}


# --------------------------------------------------------------------------- chat and voice models


class ChatModelForm(FlaskForm):
    name = StringField("Model name", validators=[DataRequired(), Length(max=200)],
                       description="As the provider names it, e.g. gpt-4o-mini.")
    friendly_name = StringField("Friendly name", validators=[Optional(), Length(max=200)])
    model_type = SelectField("Type", choices=CHAT_MODEL_TYPES)
    price_tier = SelectField("Price tier", choices=PRICE_TIERS)
    ai_model_api_id = SelectField("API", coerce=optional_int, validate_choice=True)
    max_prompt_size = IntegerField("Max prompt size", validators=[Optional(), NumberRange(min=1, max=INT_MAX)])
    subscribed_max_prompt_size = IntegerField("Max prompt size for subscribers",
                                              validators=[Optional(), NumberRange(min=1, max=INT_MAX)])
    tokenizer = StringField("Tokenizer", validators=[Optional(), Length(max=200)])
    vision_enabled = BooleanField("Vision enabled")
    description = TextAreaField("Description", validators=[Optional()])
    strengths = TextAreaField("Strengths", validators=[Optional()])


@register
class ChatModelAdmin(ModelAdmin):
    model = ChatModel
    slug = "chat_models"
    noun = "chat model"
    title = "Chat models"
    group = "AI models"
    columns = [
        Column("name", sort=ChatModel.name, link=True),
        Column("friendly_name", "Friendly name", sort=ChatModel.friendly_name),
        Column("model_type", "Type", sort=ChatModel.model_type),
        Column("price_tier", "Tier", sort=ChatModel.price_tier),
        Column("ai_model_api", "API", render=lambda m: m.ai_model_api.name if m.ai_model_api else None),
        Column("max_prompt_size", "Max prompt"),
        Column("vision_enabled", "Vision"),
    ]
    search_fields = [ChatModel.name, ChatModel.friendly_name, AiModelApi.name]
    search_help = "Name or API"
    filters = [
        ChoiceFilter("type", "Type", ChatModel.model_type, CHAT_MODEL_TYPES),
        ChoiceFilter("tier", "Tier", ChatModel.price_tier, PRICE_TIERS),
    ]
    form_class = ChatModelForm
    default_sort = "name"

    def query(self):
        return (sa.select(ChatModel).outerjoin(ChatModel.ai_model_api)
                .options(sa.orm.contains_eager(ChatModel.ai_model_api)))

    def prepare_form(self, form, obj):
        form.ai_model_api_id.choices = fk_choices(AiModelApi, order=AiModelApi.name, blank="— none (local) —")

    def validate(self, form, obj):
        if obj is not None and form.price_tier.data != "free":
            is_default = db.session.execute(
                sa.select(ServerChatSettings.id).where(ServerChatSettings.chat_default_id == obj.id).limit(1)).first()
            if is_default:
                return {"price_tier": "This is the server's default chat model, which must stay free tier. "
                                      "Choose another default in Server chat settings first."}
        return {}


class VoiceModelForm(FlaskForm):
    model_id = StringField("Model id", validators=[DataRequired(), Length(max=200)])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    price_tier = SelectField("Price tier", choices=PRICE_TIERS)


@register
class VoiceModelAdmin(ModelAdmin):
    model = VoiceModelOption
    slug = "voice_models"
    noun = "voice model"
    title = "Voice models"
    group = "AI models"
    columns = [
        Column("name", sort=VoiceModelOption.name, link=True),
        Column("model_id", "Model id", sort=VoiceModelOption.model_id),
        Column("price_tier", "Tier", sort=VoiceModelOption.price_tier),
    ]
    search_fields = [VoiceModelOption.name, VoiceModelOption.model_id]
    filters = [ChoiceFilter("tier", "Tier", VoiceModelOption.price_tier, PRICE_TIERS)]
    form_class = VoiceModelForm
    default_sort = "name"


# --------------------------------------------------------------------------- search model configs


class SearchModelForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    model_type = SelectField("Model type", choices=SEARCH_MODEL_TYPES)
    bi_encoder = StringField("Bi-encoder", validators=[DataRequired(), Length(max=200)])
    embeddings_inference_endpoint_type = SelectField("Embeddings endpoint type", choices=SEARCH_ENDPOINT_TYPES)
    embeddings_inference_endpoint = StringField("Embeddings endpoint", validators=[Optional(), Length(max=2048)])
    embeddings_inference_endpoint_api_key = SecretField("Embeddings endpoint API key")
    bi_encoder_confidence_threshold = FloatField("Confidence threshold", validators=[NumberRange(min=0, max=2)],
                                                 description="Cosine distance above which results are dropped.")
    cross_encoder = StringField("Cross-encoder", validators=[Optional(), Length(max=200)])
    cross_encoder_inference_endpoint = StringField("Cross-encoder endpoint", validators=[Optional(), Length(max=2048)])
    cross_encoder_inference_endpoint_api_key = SecretField("Cross-encoder endpoint API key")
    is_active = BooleanField("Active", description="Exactly one config is active; activating this one deactivates the others.")


@register
class SearchModelAdmin(ModelAdmin):
    model = SearchModelConfig
    slug = "search_models"
    noun = "search model config"
    title = "Search model configs"
    group = "AI models"
    columns = [
        Column("name", sort=SearchModelConfig.name, link=True),
        Column("bi_encoder", "Bi-encoder"),
        Column("embeddings_inference_endpoint_type", "Endpoint type"),
        Column("embeddings_inference_endpoint_api_key", "Endpoint key", secret=True),
        Column("bi_encoder_confidence_threshold", "Threshold"),
        Column("cross_encoder", "Cross-encoder"),
        Column("cross_encoder_inference_endpoint_api_key", "Cross-encoder key", secret=True),
        Column("is_active", "Active", sort=SearchModelConfig.is_active),
    ]
    search_fields = [SearchModelConfig.name, SearchModelConfig.bi_encoder]
    form_class = SearchModelForm
    secret_fields = ("embeddings_inference_endpoint_api_key", "cross_encoder_inference_endpoint_api_key")
    default_sort = "name"

    def delete(self, obj):
        if obj.is_active:
            raise DeleteRefused("This is the active search model config; activate another one first.")
        super().delete(obj)

    def populate(self, form, obj):
        super().populate(form, obj)
        if obj.is_active:
            db.session.execute(sa.update(SearchModelConfig).where(SearchModelConfig.is_active)
                               .where(SearchModelConfig.id != (obj.id or -1)).values(is_active=False))


# --------------------------------------------------------------------------- server chat settings


class ServerChatSettingsForm(FlaskForm):
    chat_default_id = SelectField("Default chat model", coerce=optional_int,
                                  description="Used by everyone who made no choice; must be a free-tier model.")
    chat_advanced_id = SelectField("Advanced chat model", coerce=optional_int)
    web_scraper_id = SelectField("Web scraper", coerce=optional_int)
    priority = IntegerField("Priority", validators=[Optional(), NumberRange(min=-INT_MAX, max=INT_MAX)],
                            description="Lower wins when several rows exist.")


@register
class ServerChatSettingsAdmin(ModelAdmin):
    model = ServerChatSettings
    slug = "server_chat_settings"
    noun = "server chat settings row"
    title = "Server chat settings"
    group = "AI models"
    columns = [
        Column("id", "Id", sort=ServerChatSettings.id, link=True),
        Column("chat_default", "Default model", render=lambda s: str(s.chat_default) if s.chat_default else None),
        Column("chat_advanced", "Advanced model", render=lambda s: str(s.chat_advanced) if s.chat_advanced else None),
        Column("web_scraper", "Web scraper", render=lambda s: str(s.web_scraper) if s.web_scraper else None),
        Column("priority", sort=ServerChatSettings.priority),
    ]
    search_fields = None
    form_class = ServerChatSettingsForm
    default_sort = "priority"
    list_options = (joinedload(ServerChatSettings.chat_default), joinedload(ServerChatSettings.chat_advanced),
                    joinedload(ServerChatSettings.web_scraper))

    def label(self, obj):
        return f"server chat settings #{obj.id}"

    def prepare_form(self, form, obj):
        models = fk_choices(ChatModel, order=ChatModel.name, blank="— none —",
                            label=lambda m: f"{m.display_name} ({m.price_tier})")
        form.chat_default_id.choices = models
        form.chat_advanced_id.choices = models
        form.web_scraper_id.choices = fk_choices(WebScraper, order=WebScraper.priority, blank="— first by priority —")

    def validate(self, form, obj):
        if form.chat_default_id.data is not None:
            model = db.session.get(ChatModel, form.chat_default_id.data)
            if model is not None and model.price_tier != "free":
                return {"chat_default_id": "The default chat model must be a free-tier model, so every user can use it."}
        return {}


# --------------------------------------------------------------------------- web scrapers

KEYED_SCRAPERS = ("Firecrawl", "Olostep", "Exa")  # Jina works without a key; Direct needs none


def _reorder_buttons(scraper):
    token = generate_csrf()
    parts = []
    for direction, label in (("up", "↑"), ("down", "↓")):
        url = escape(url_for("admin.web_scrapers_move", id=scraper.id, direction=direction))
        parts.append(
            f'<form method="post" action="{url}" class="d-inline">'
            f'<input type="hidden" name="csrf_token" value="{escape(token)}">'
            f'<button type="submit" class="btn btn-outline-secondary btn-sm py-0" '
            f'aria-label="Move {escape(scraper.name)} {direction}">{label}</button></form>'
        )
    return Markup(" ".join(parts))


class WebScraperForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=200)], description="Defaults to the type.")
    type = SelectField("Type", choices=WEB_SCRAPER_TYPES)
    api_key = SecretField("API key", "Defaults to the <TYPE>_API_KEY environment variable. Direct needs none.")
    api_url = StringField("API URL", validators=[Optional(), Length(max=2048)],
                          description="Defaults to the <TYPE>_API_URL environment variable.")
    priority = IntegerField("Priority", validators=[Optional(), NumberRange(min=-INT_MAX, max=INT_MAX)],
                            description="Lower is tried first. Defaults to last.")


@register
class WebScraperAdmin(ModelAdmin):
    model = WebScraper
    slug = "web_scrapers"
    noun = "web scraper"
    title = "Web scrapers"
    group = "Integrations"
    columns = [
        Column("priority", sort=WebScraper.priority),
        Column("name", sort=WebScraper.name, link=True),
        Column("type", sort=WebScraper.type),
        Column("api_key", "API key", secret=True),
        Column("api_url", "API URL"),
        Column("order", "Reorder", render=_reorder_buttons, csv=lambda s: s.priority),
    ]
    search_fields = [WebScraper.name]
    filters = [ChoiceFilter("type", "Type", WebScraper.type, WEB_SCRAPER_TYPES)]
    form_class = WebScraperForm
    secret_fields = ("api_key",)
    default_sort = "priority"

    def validate(self, form, obj):
        kind = form.type.data
        if kind not in WEB_SCRAPER_TYPES:
            return {}  # the type field already carries its own error
        key = form.api_key.data or (obj.api_key if obj is not None else None) \
            or current_app.config.get(f"{kind.upper()}_API_KEY")
        if kind in KEYED_SCRAPERS and not key:
            return {"api_key": f"{kind} needs an API key: enter one or set {kind.upper()}_API_KEY."}
        return {}

    def populate(self, form, obj):
        super().populate(form, obj)
        kind = obj.type
        obj.name = obj.name or kind
        if kind == "Direct":
            obj.api_key = None
        elif not obj.api_key:
            obj.api_key = current_app.config.get(f"{kind.upper()}_API_KEY")
        if not obj.api_url and kind != "Direct":
            obj.api_url = current_app.config.get(f"{kind.upper()}_API_URL")
        if obj.priority is None:
            top = db.session.execute(sa.select(sa.func.max(WebScraper.priority))).scalar()
            obj.priority = (top or 0) + 1


@bp.post("/web_scrapers/<int:id>/move")
@admin_required
def web_scrapers_move(id: int):
    scraper = db.session.get(WebScraper, id) or abort(404)
    up = request.args.get("direction") == "up"
    neighbour_q = sa.select(WebScraper).where(
        WebScraper.priority < scraper.priority if up else WebScraper.priority > scraper.priority
    ).order_by(WebScraper.priority.desc() if up else WebScraper.priority.asc()).limit(1)
    neighbour = db.session.scalars(neighbour_q).first()
    if neighbour is not None:
        mine, theirs = scraper.priority, neighbour.priority
        # priority is unique: park one row on a free value while swapping.
        scraper.priority = (db.session.execute(sa.select(sa.func.min(WebScraper.priority))).scalar() or 0) - 1
        db.session.flush()
        neighbour.priority = mine
        db.session.flush()
        scraper.priority = theirs
        audit.record("web_scrapers.update", actor=current_user, obj=scraper, changes={"priority": [mine, theirs]})
        audit.record("web_scrapers.update", actor=current_user, obj=neighbour, changes={"priority": [theirs, mine]})
        db.session.commit()
        flash(f"Moved {scraper.name} {'up' if up else 'down'}.", "success")
    return redirect(WebScraperAdmin().url("list"))


# --------------------------------------------------------------------------- process locks


def _lock_age(lock):
    seconds = int((now() - lock.started_at).total_seconds())
    return f"{seconds // 3600}h {seconds % 3600 // 60}m" if seconds >= 3600 else f"{seconds // 60}m {seconds % 60}s"


def _lock_stale(lock):
    from ..core.locks import is_stale

    return is_stale(lock, now())


def _release(admin, locks, actor):
    for lock in locks:
        audit.record("process_locks.delete", actor=actor, obj=lock, changes={"name": lock.name})
        db.session.delete(lock)
    return f"Released {len(locks)} lock{'s' if len(locks) != 1 else ''}."


@register
class ProcessLockAdmin(ModelAdmin):
    model = ProcessLock
    slug = "process_locks"
    noun = "process lock"
    title = "Process locks"
    group = "Operations"
    columns = [
        Column("name", sort=ProcessLock.name, link=True),
        Column("started_at", "Started", sort=ProcessLock.started_at),
        Column("age", "Age", render=_lock_age),
        Column("expires", "Expires", render=lambda l: l.started_at + timedelta(seconds=l.max_duration_in_seconds)),
        Column("stale", "Stale", render=_lock_stale),
    ]
    search_fields = [ProcessLock.name]
    actions = [Action("release", "Release (delete) lock", _release, danger=True,
                      description="A process that still runs may then be joined by another one.")]
    form_class = None
    can_create = False
    can_edit = False
    default_sort = "started_at"
    empty_message = "No process holds a lock right now."
    list_buttons = (("Clear stale locks", "admin.process_locks_clear_stale"),)

    def label(self, obj):
        return obj.name


@bp.post("/process_locks/clear-stale")
@admin_required
def process_locks_clear_stale():
    from ..core.locks import clear_stale

    cleared = clear_stale()
    if cleared:
        audit.record("process_locks.clear_stale", actor=current_user, object_type="process_lock",
                     changes={"cleared": cleared})
    db.session.commit()
    flash(f"Cleared {cleared} stale lock{'s' if cleared != 1 else ''}." if cleared else "No stale locks.", "success")
    return redirect(ProcessLockAdmin().url("list"))


# --------------------------------------------------------------------------- Notion and GitHub


class NotionForm(FlaskForm):
    token = SecretField("Token")


class GithubForm(FlaskForm):
    pat_token = SecretField("Personal access token")


@register
class NotionAdmin(ModelAdmin):
    model = NotionConfig
    slug = "notion_configs"
    noun = "Notion config"
    title = "Notion configs"
    group = "Integrations"
    columns = [
        Column("user", "User", render=_user_email, sort=KhojUser.email, link=True),
        Column("token", "Token", secret=True),
        Column("sync_status", "Sync", sort=NotionConfig.sync_status),
        Column("last_synced_at", "Last sync", sort=NotionConfig.last_synced_at),
        Column("files_indexed", "Files"),
        Column("sync_error", "Error"),
    ]
    search_fields = [KhojUser.email]
    search_help = "User email"
    filters = [ChoiceFilter("status", "Sync status", NotionConfig.sync_status, SYNC_STATUSES)]
    form_class = NotionForm
    secret_fields = ("token",)
    can_create = False

    def query(self):
        return sa.select(NotionConfig).join(NotionConfig.user).options(sa.orm.contains_eager(NotionConfig.user))

    def label(self, obj):
        return f"Notion of {obj.user.email}"


@register
class GithubAdmin(ModelAdmin):
    model = GithubConfig
    slug = "github_configs"
    noun = "GitHub config"
    title = "GitHub configs"
    group = "Integrations"
    columns = [
        Column("user", "User", render=_user_email, sort=KhojUser.email, link=True),
        Column("pat_token", "Token", secret=True),
        Column("repos", "Repositories",
               render=lambda g: ", ".join(f"{r.owner}/{r.name}@{r.branch} ({r.sync_status})" for r in g.repos)),
        Column("updated_at", "Updated", sort=GithubConfig.updated_at),
    ]
    search_fields = [KhojUser.email]
    search_help = "User email"
    form_class = GithubForm
    secret_fields = ("pat_token",)
    can_create = False
    list_options = (selectinload(GithubConfig.repos),)

    def query(self):
        return sa.select(GithubConfig).join(GithubConfig.user).options(sa.orm.contains_eager(GithubConfig.user))

    def label(self, obj):
        return f"GitHub of {obj.user.email}"

