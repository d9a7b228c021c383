"""Integrations JSON API: GitHub and Notion settings, queueing syncs, their status, URL import."""
from __future__ import annotations

from typing import Literal

from flask import g, jsonify
from pydantic import BaseModel, Field

from ..extensions import db
from ..integrations import services
from . import ApiError, bp, parse_body, token_required
from .openapi import describe


class RepoBody(BaseModel):
    owner: str = Field(max_length=100)
    name: str = Field(max_length=100)
    branch: str | None = Field(default=None, max_length=255)


class GithubBody(BaseModel):
    token: str | None = Field(default=None, max_length=255)
    repos: list[RepoBody] | None = Field(default=None, max_length=100)


class NotionBody(BaseModel):
    token: str = Field(max_length=255)


class SyncBody(BaseModel):
    source: Literal["all", "github", "notion"] = "all"
    repo_id: int | None = None


class UrlBody(BaseModel):
    url: str = Field(max_length=2048)


def _fail(exc: services.IntegrationError, status: int = 422):
    db.session.rollback()
    details = [{"field": exc.field, "message": exc.message}] if exc.field else None
    raise ApiError(exc.message, status, details) from exc


def _github_json(user):
    status = services.sync_status(user)["github"]
    return status or {"token": None, "repos": []}


@bp.get("/content/github")
@token_required
def content_github():
    return jsonify(_github_json(g.api_user))


@bp.post("/content/github")
@describe(body=GithubBody)
@token_required
def content_github_save():
    """Save the token (optional once connected) and, when `repos` is given, make it the repo list:
    repos not listed are removed (their entries stay), listed ones are kept or added."""
    body = parse_body(GithubBody)
    user = g.api_user
    try:
        config = services.save_github_token(user, body.token)
        if body.repos is not None:
            wanted = [services.clean_repo(r.owner, r.name, r.branch) for r in body.repos]
            keys = {(o.lower(), n.lower(), b) for o, n, b in wanted}
            for repo in list(config.repos):
                if (repo.owner.lower(), repo.name.lower(), repo.branch) not in keys:
                    services.remove_repo(user, repo, delete_entries=False)
            db.session.expire(config, ["repos"])
            have = {(r.owner.lower(), r.name.lower(), r.branch) for r in config.repos}
            for owner, name, branch in wanted:
                if (owner.lower(), name.lower(), branch) not in have:
                    services.add_repo(user, owner, name, branch)
                    have.add((owner.lower(), name.lower(), branch))
    except services.IntegrationError as exc:
        _fail(exc)
    db.session.commit()
    return jsonify(_github_json(user))


@bp.get("/content/notion")
@token_required
def content_notion():
    return jsonify(services.sync_status(g.api_user)["notion"] or {"token": None})


@bp.post("/content/notion")
@describe(body=NotionBody)
@token_required
def content_notion_save():
    body = parse_body(NotionBody)
    try:
        services.save_notion_token(g.api_user, body.token)
    except services.IntegrationError as exc:
        _fail(exc)
    db.session.commit()
    return jsonify(services.sync_status(g.api_user)["notion"])


@bp.post("/content/sync")
@describe(body=SyncBody, status=202)
@token_required
def content_sync():
    """Queue syncs: {"source": "all" | "github" | "notion", "repo_id": optional}. Answers 202."""
    from flask import request

    body = parse_body(SyncBody) if request.get_data() else SyncBody()
    user = g.api_user
    try:
        if body.repo_id is not None:
            repo = services.user_repo(user, body.repo_id)
            if repo is None:
                raise ApiError("No such repository.", 404)
            queued = {"github": [r.id for r in services.queue_github_sync(user, repo)], "notion": False}
        elif body.source == "github":
            queued = {"github": [r.id for r in services.queue_github_sync(user)], "notion": False}
        elif body.source == "notion":
            services.queue_notion_sync(user)
            queued = {"github": [], "notion": True}
        else:
            queued = services.queue_all(user)
            if not queued["github"] and not queued["notion"]:
                raise services.IntegrationError("Nothing to sync: connect GitHub (with a repository) or Notion first.")
    except services.IntegrationError as exc:
        _fail(exc, 409)
    return jsonify({"queued": queued, "status": services.sync_status(user)}), 202


@bp.get("/content/sync/status")
@token_required
def content_sync_status():
    return jsonify(services.sync_status(g.api_user))


@bp.post("/content/url")
@describe(body=UrlBody, status=201)
@token_required
def content_url():
    from ..ratelimit import hit

    body = parse_body(UrlBody)
    hit("integrations.url", str(g.api_user.id), limit=30, window=3600)
    db.session.commit()
    try:
        page, result = services.import_url(g.api_user, body.url)
    except services.IntegrationError as exc:
        _fail(exc)
    return jsonify({"url": page.url, "title": page.title, "scraper": page.scraper,
                    "chunks": result.chunks_total, "chunks_added": result.chunks_added}), 201
