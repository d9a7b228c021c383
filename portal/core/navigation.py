"""The navigation bar: each area's entry point, shown once the area has that page and the user may see it."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    description: str = ""
    admin: bool = False


MAIN = (
    NavItem("search.index", "Search", "Search your notes and documents, and upload new ones."),
    NavItem("agents.index", "Agents", "Create agents with their own personality, tools and model."),
    NavItem("agents.conversations", "Conversations", "Browse, export and import your chats."),
    NavItem("models.index", "Models", "Choose your chat and voice models."),
    NavItem("integrations.index", "Integrations", "Connect Notion and GitHub, import web pages."),
    NavItem("admin.dashboard", "Admin", "Manage users, models and settings.", admin=True),
)
ACCOUNT = (
    NavItem("subscriptions.plan", "Plan"),
    NavItem("accounts.tokens", "API tokens"),
    NavItem("accounts.profile", "Profile"),
)
ANONYMOUS = (
    NavItem("accounts.login", "Sign in"),
    NavItem("accounts.signup", "Create account"),
)


def register_navigation(app: Flask) -> None:
    @app.context_processor
    def navigation():
        endpoints = current_app.view_functions

        def visible(items):
            return [i for i in items if i.endpoint in endpoints and (not i.admin or current_user.is_admin)]

        def nav_items():
            return visible(MAIN) if current_user.is_authenticated else []

        def account_nav_items():
            return visible(ACCOUNT) if current_user.is_authenticated else visible(ANONYMOUS)

        return {"nav_items": nav_items, "account_nav_items": account_nav_items, "endpoints": endpoints}
