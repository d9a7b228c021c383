"""The Khoj Portal application factory."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

from . import config as config_module
from .config import ConfigError
from .extensions import bootstrap, csrf, db, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app. `overrides` win over the environment (tests pass their database URL here)."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("PORTAL_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    settings = config_module.from_env()
    settings.update(overrides or {})
    app.config.update(settings)
    configure_logging(app)
    configure_secrets(app)
    configure_database(app)
    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_cli(app)
    if app.config.get("PORTAL_AUTO_MIGRATE") and not app.config.get("TESTING"):
        from .core.defaults import migrate_and_seed_defaults

        migrate_and_seed_defaults(app)
    return app


def configure_logging(app: Flask) -> None:
    from .logging_setup import setup_logging

    setup_logging(app.config["LOG_LEVEL"])


def configure_secrets(app: Flask) -> None:
    from .crypto import KeyRing, install_keyring
    from .keys import resolve_secrets

    resolve_secrets(app.config, app.instance_path)
    old_keys = [k for k in (app.config.get("PORTAL_ENCRYPTION_OLD_KEYS") or "").split(",") if k.strip()]
    install_keyring(KeyRing(app.config["PORTAL_ENCRYPTION_KEY"], old_keys))


def configure_database(app: Flask) -> None:
    from .database import check_database_url, check_reachable, start_embedded

    url = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        if app.config.get("DATABASE_URL"):
            url = check_database_url(app.config["DATABASE_URL"])
        else:
            url = start_embedded(Path(app.instance_path) / "pgdata")
            app.config["EMBEDDED_DATABASE"] = True
        check_reachable(url)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    timeout = int(app.config["DB_STATEMENT_TIMEOUT_MS"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("pool_size", app.config["DB_POOL_SIZE"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault(
        "connect_args", {"connect_timeout": 5, "options": f"-c statement_timeout={timeout}"}
    )


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401  (registers every table on the metadata)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), compare_type=True)
    csrf.init_app(app)
    app.config.setdefault("BOOTSTRAP_SERVE_LOCAL", True)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    from .auth import configure_login

    configure_login(app)


def register_blueprints(app: Flask) -> None:
    from .accounts.views import bp as accounts_bp
    from .admin.views import bp as admin_bp
    from .agents.views import bp as agents_bp
    from .ai_models.views import bp as models_bp
    from .api import bp as api_bp
    from .core.views import bp as core_bp
    from .integrations.views import bp as integrations_bp
    from .search.views import bp as search_bp
    from .subscriptions.views import bp as subscriptions_bp

    for blueprint in (
        core_bp, accounts_bp, subscriptions_bp, models_bp, agents_bp, integrations_bp, search_bp, admin_bp,
    ):
        app.register_blueprint(blueprint)
    # The JSON API authenticates by Bearer token only, so CSRF does not apply to it.
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp)


def register_request_hooks(app: Flask) -> None:
    from .core.errors import register_error_handlers
    from .core.headers import register_security_headers

    from .core.input_guard import register_input_guard
    from .core.navigation import register_navigation

    register_input_guard(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_navigation(app)


def register_cli(app: Flask) -> None:
    from .cli import register_commands

    register_commands(app)


__all__ = ["create_app", "ConfigError"]
