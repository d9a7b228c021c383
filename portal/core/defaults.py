"""What must exist on every start: the schema at head, the default agent and a search model config."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask

from ..extensions import db
from ..models import Agent, SearchModelConfig

log = logging.getLogger(__name__)

DEFAULT_AGENT_SLUG = "khoj"
DEFAULT_AGENT_PERSONALITY = (
    "You are Khoj, a smart, curious and helpful personal assistant. "
    "Answer from the user's notes and documents when they are relevant."
)
# Any constant works: it names one advisory lock shared by every process that might migrate at once.
MIGRATION_LOCK_KEY = 7_110_411


def migrate_and_seed_defaults(app: Flask) -> None:
    """Apply pending migrations (one process at a time, under an advisory lock), then the defaults."""
    from flask_migrate import upgrade

    with app.app_context():
        with db.engine.connect() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
            try:
                upgrade()
            finally:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
                conn.commit()
        ensure_defaults()


def ensure_defaults() -> None:
    """Create the default public agent "Khoj" and an active search model config if missing."""
    if db.session.execute(sa.select(Agent.id).where(Agent.slug == DEFAULT_AGENT_SLUG)).first() is None:
        db.session.add(
            Agent(
                slug=DEFAULT_AGENT_SLUG, name="Khoj", personality=DEFAULT_AGENT_PERSONALITY,
                managed_by_admin=True, creator_id=None, privacy_level="public", is_approved=True,
                style_color="orange", style_icon="Lightbulb",
            )
        )
        log.info("created the default agent 'Khoj'")
    if db.session.execute(sa.select(SearchModelConfig.id).where(SearchModelConfig.is_active)).first() is None:
        existing = db.session.execute(
            sa.select(SearchModelConfig).where(SearchModelConfig.name == "default")
        ).scalar_one_or_none()
        if existing is None:
            db.session.add(SearchModelConfig(name="default", is_active=True))
        else:
            existing.is_active = True
        log.info("activated the default search model config")
    db.session.commit()
