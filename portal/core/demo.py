"""`flask seed-demo`: a few realistic rows in every table, for trying the portal out.

Demo users get no password (sign in by emailed code, which development writes to the log), so the
command never creates an account anyone could guess into.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from ..auth import generate_token, hash_token, token_hint
from ..extensions import db
from ..models import (
    Agent, AiModelApi, AuditLog, ChatModel, Conversation, GithubConfig, GithubRepoConfig, GoogleUser,
    KhojApiUser, NotionConfig, ProcessLock, ServerChatSettings, UserConversationConfig, UserVoiceModelConfig,
    VoiceModelOption, WebScraper,
)


def _exists(model, **filters) -> bool:
    return db.session.execute(sa.select(model.id).filter_by(**filters).limit(1)).first() is not None


DEMO_NOTES = {
    "notes/vector-search.md": (
        "# Vector search\n## HNSW\nHNSW builds a layered graph: slow to build, fast to query. Raise ef_search "
        "for better recall; iterative scans keep filtered queries complete.\n\n## Hybrid ranking\n"
        "Reciprocal rank fusion merges the dense and the full-text ranking without tuning score scales.\n"
    ),
    "journal/2024-05-02.org": (
        "* Garden log\n** Tomatoes\nPlanted six tomato seedlings on 2024-05-02 along the south fence; "
        "water deeply twice a week.\n** Roses\nPruned the climbing roses above an outward-facing bud.\n"
    ),
}


def seed_demo_data() -> dict[str, int]:
    from ..accounts.services import create_user, find_user_by_email

    counts: dict[str, int] = {}

    def add(obj):
        db.session.add(obj)
        counts[obj.__tablename__] = counts.get(obj.__tablename__, 0) + 1
        return obj

    now = datetime.now(timezone.utc)
    users = {}
    for email, first, last in (("ada@example.com", "Ada", "Lovelace"), ("grace@example.com", "Grace", "Hopper")):
        user = find_user_by_email(email)
        if user is None:
            user = create_user(email, None, first_name=first, last_name=last, verified_email=True)
            counts["khoj_user"] = counts.get("khoj_user", 0) + 1
        users[email] = user
    ada, grace = users["ada@example.com"], users["grace@example.com"]
    if grace.subscription is not None and grace.subscription.type != "trial":
        grace.subscription.type, grace.subscription.enabled_trial_at = "trial", now
        grace.subscription.renewal_date = now + timedelta(days=7)

    if ada.google_user is None:
        add(GoogleUser(user=ada, issuer="https://accounts.google.com", sub=str(10**20 + 42),
                       azp="demo.apps.googleusercontent.com", email=ada.email, name="Ada Lovelace",
                       given_name="Ada", family_name="Lovelace", locale="en"))
    if not ada.api_tokens:
        token = generate_token()  # not printed: a demo row only
        add(KhojApiUser(user=ada, token_hash=hash_token(token), token_hint=token_hint(token), name="Brave Falcon"))

    api = db.session.execute(sa.select(AiModelApi).filter_by(name="OpenAI")).scalar_one_or_none()
    if api is None:
        api = add(AiModelApi(name="OpenAI", api_key="sk-demo-" + secrets.token_hex(16),
                             api_base_url="https://api.openai.com/v1"))
    models = {}
    for name, friendly, tier, vision, size, sub_size in (
        ("gpt-4o-mini", "GPT-4o mini", "free", True, 60000, 120000),
        ("gpt-4o", "GPT-4o", "standard", True, 60000, 120000),
        ("o3-mini", "o3 mini", "standard", False, 60000, None),
    ):
        model = db.session.execute(sa.select(ChatModel).filter_by(name=name)).scalar_one_or_none()
        if model is None:
            model = add(ChatModel(
                name=name, friendly_name=friendly, model_type="openai", price_tier=tier, vision_enabled=vision,
                max_prompt_size=size, subscribed_max_prompt_size=sub_size, ai_model_api=api,
                description=f"{friendly} from OpenAI.",
                strengths="Fast everyday answers." if tier == "free" else "Stronger reasoning and writing.",
            ))
        models[name] = model
    for model_id, name, tier in (("alloy", "Alloy", "free"), ("nova", "Nova", "standard")):
        if not _exists(VoiceModelOption, model_id=model_id):
            add(VoiceModelOption(model_id=model_id, name=name, price_tier=tier))
    scrapers = {}
    for name, kind, priority in (("Direct", "Direct", 100), ("Jina", "Jina", 50)):
        scraper = db.session.execute(sa.select(WebScraper).filter_by(name=name)).scalar_one_or_none()
        scrapers[name] = scraper or add(WebScraper(name=name, type=kind, priority=priority))
    db.session.flush()
    if not _exists(ServerChatSettings, priority=0):
        add(ServerChatSettings(chat_default=models["gpt-4o-mini"], chat_advanced=models["gpt-4o"],
                               web_scraper=scrapers["Direct"], priority=0))
    if db.session.execute(sa.select(UserConversationConfig).filter_by(user_id=ada.id)).first() is None:
        add(UserConversationConfig(user_id=ada.id, setting=models["gpt-4o-mini"]))
    voice = db.session.execute(sa.select(VoiceModelOption).filter_by(model_id="alloy")).scalar_one()
    if db.session.execute(sa.select(UserVoiceModelConfig).filter_by(user_id=ada.id)).first() is None:
        add(UserVoiceModelConfig(user_id=ada.id, setting=voice))

    agents = (
        (ada, "Research Buddy", "You help me read papers and keep notes tidy.", "protected", "teal", "Atom"),
        (grace, "Code Reviewer", "You review code for clarity and bugs.", "private", "indigo", "Code"),
    )
    for creator, name, persona, privacy, color, icon in agents:
        if not _exists(Agent, creator_id=creator.id, name=name):
            add(Agent(creator=creator, name=name, personality=persona, privacy_level=privacy,
                      style_color=color, style_icon=icon, input_tools=["notes", "online"], output_modes=[],
                      chat_model=models["gpt-4o-mini"], slug=f"{name.lower().replace(' ', '-')}-{secrets.randbelow(10**6):06d}"))

    if db.session.execute(sa.select(GithubConfig).filter_by(user_id=ada.id)).first() is None:
        config = add(GithubConfig(user_id=ada.id, pat_token="ghp_demo" + secrets.token_hex(16)))
        add(GithubRepoConfig(github_config=config, owner="khoj-ai", name="khoj", branch="master"))
    if db.session.execute(sa.select(NotionConfig).filter_by(user_id=grace.id)).first() is None:
        add(NotionConfig(user_id=grace.id, token="secret_demo" + secrets.token_hex(16)))
    if not _exists(Conversation, user_id=ada.id):
        add(Conversation(user_id=ada.id, title="Reading list", conversation_log={"chat": [
            {"by": "you", "message": "What did I note about HNSW indexes?", "created": now.isoformat(),
             "context": [], "onlineContext": {}, "codeContext": {}, "trainOfThought": [], "turnId": "t1"},
            {"by": "khoj", "message": "You noted that HNSW trades build time for fast approximate search.",
             "created": now.isoformat(), "context": [], "onlineContext": {}, "codeContext": {},
             "trainOfThought": [], "turnId": "t1"},
        ]}))
    if not _exists(ProcessLock, name="scheduled_job"):
        add(ProcessLock(name="scheduled_job", max_duration_in_seconds=600))
    db.session.flush()
    from ..search.indexing import index_document

    for path, note in DEMO_NOTES.items():  # through the search service, so the notes are searchable
        result = index_document(ada, file_path=path, data=note.encode("utf-8"), commit=False)
        if result.chunks_added:
            counts["entry"] = counts.get("entry", 0) + result.chunks_added
    add(AuditLog(action="demo.seed", object_type="portal", changes={"tables": sorted(counts)}))
    return counts
