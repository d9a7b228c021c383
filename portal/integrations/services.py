"""Integrations: connect GitHub and Notion, queue and run syncs, import web pages.

Views and the API call the functions in the first half with the acting user; the background jobs
(portal/jobs/tasks.py) call `run_github_sync` / `run_notion_sync` with ids. Each file is indexed in
its own transaction through portal.search.indexing, so a sync that stops half-way (error, killed
worker) leaves whole files only; the next sync picks up from there. Entries of files that disappeared
are deleted only after a complete listing.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import Entry, GithubConfig, GithubRepoConfig, KhojUser, NotionConfig
from .errors import RateLimitReached, SyncError, TransientSyncError

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,99})$")
BRANCH_RE = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)[^\s~^:?*\[\\\x00-\x1f\x7f]{1,255}(?<![/.])$")
GITHUB_TASK = "integrations.sync_github_repo"
NOTION_TASK = "integrations.sync_notion"


class IntegrationError(ValueError):
    """Bad input from the user: `field` names the form field it belongs to (None for the whole form)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- GitHub: settings


def github_config(user: KhojUser) -> GithubConfig | None:
    return db.session.scalar(sa.select(GithubConfig).where(GithubConfig.user_id == user.id))


def user_repo(user: KhojUser, repo_id: int) -> GithubRepoConfig | None:
    """One of the user's repos (another user's id → None, so views answer 404)."""
    return db.session.scalar(
        sa.select(GithubRepoConfig).join(GithubConfig)
        .where(GithubRepoConfig.id == repo_id, GithubConfig.user_id == user.id)
    )


def save_github_token(user: KhojUser, token: str | None) -> GithubConfig:
    """Create the connection or replace its token; a blank token keeps the stored one."""
    token = (token or "").strip()
    config = github_config(user)
    if config is None:
        if not token:
            raise IntegrationError("Paste a GitHub personal access token.", "token")
        config = GithubConfig(user=user, pat_token=token)
        db.session.add(config)
    elif token:
        config.pat_token = token
    if token and (len(token) > 255 or any(c.isspace() for c in token)):
        raise IntegrationError("That does not look like a GitHub token (no spaces, at most 255 characters).",
                               "token")
    db.session.flush()
    return config


def clean_repo(owner: str, name: str, branch: str | None) -> tuple[str, str, str]:
    owner, name = (owner or "").strip(), (name or "").strip()
    branch = (branch or "").strip() or "main"
    if name.endswith(".git"):
        name = name[:-4]
    if not NAME_RE.match(owner):
        raise IntegrationError("Owner: letters, digits, '-', '_' or '.', up to 100 characters.", "owner")
    if not NAME_RE.match(name):
        raise IntegrationError("Repository: letters, digits, '-', '_' or '.', up to 100 characters.", "name")
    if not BRANCH_RE.match(branch):
        raise IntegrationError("Branch: a valid git branch name (no spaces, '..', '~', '^', ':' or '\\').",
                               "branch")
    return owner, name, branch


def add_repo(user: KhojUser, owner: str, name: str, branch: str | None = None) -> GithubRepoConfig:
    config = github_config(user)
    if config is None:
        raise IntegrationError("Save a GitHub token first.", "token")
    owner, name, branch = clean_repo(owner, name, branch)
    for repo in config.repos:
        if (repo.owner.lower(), repo.name.lower(), repo.branch) == (owner.lower(), name.lower(), branch):
            raise IntegrationError(f"{owner}/{name} ({branch}) is already connected.", "name")
    repo = GithubRepoConfig(github_config=config, owner=owner, name=name, branch=branch)
    db.session.add(repo)
    db.session.flush()
    return repo


def repo_prefix(repo: GithubRepoConfig) -> str:
    """Entries of a repo have file paths under its github.com blob URL."""
    from .github import blob_url

    return blob_url(repo.owner, repo.name, repo.branch, "")


def _prefix_clause(prefix: str):
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Entry.file_path.like(escaped + "%", escape="\\")


def remove_repo(user: KhojUser, repo: GithubRepoConfig, *, delete_entries: bool) -> int:
    deleted = _delete_paths(user, _indexed_paths(user, "github", repo_prefix(repo))) if delete_entries else 0
    db.session.delete(repo)
    db.session.flush()
    return deleted


def _disconnect(user: KhojUser, config, source: str, delete_entries: bool) -> int:
    from ..search.indexing import delete_files

    deleted = delete_files(user, file_source=source, commit=False) if delete_entries else 0
    if config is not None:
        db.session.delete(config)
    db.session.flush()
    return deleted


def disconnect_github(user: KhojUser, *, delete_entries: bool) -> int:
    """Delete the token and repos; with delete_entries, every GitHub entry of the user too."""
    return _disconnect(user, github_config(user), "github", delete_entries)


# --------------------------------------------------------------------------- Notion: settings


def notion_config(user: KhojUser) -> NotionConfig | None:
    return db.session.scalar(sa.select(NotionConfig).where(NotionConfig.user_id == user.id))


def save_notion_token(user: KhojUser, token: str | None) -> NotionConfig:
    token = (token or "").strip()
    config = notion_config(user)
    if token and (len(token) > 255 or any(c.isspace() for c in token)):
        raise IntegrationError("That does not look like a Notion integration token.", "token")
    if config is None:
        if not token:
            raise IntegrationError("Paste a Notion integration token.", "token")
        config = NotionConfig(user=user, token=token)
        db.session.add(config)
    elif token:
        config.token = token
    db.session.flush()
    return config


def disconnect_notion(user: KhojUser, *, delete_entries: bool) -> int:
    return _disconnect(user, notion_config(user), "notion", delete_entries)


# --------------------------------------------------------------------------- queueing


def queue_github_sync(user: KhojUser, repo: GithubRepoConfig | None = None) -> list[GithubRepoConfig]:
    """Mark the repo (or every repo of the user) queued, commit, and defer one job per repo."""
    from ..jobs.queue import defer

    config = github_config(user)
    if config is None:
        raise IntegrationError("Connect GitHub first.")
    repos = [repo] if repo is not None else list(config.repos)
    if not repos:
        raise IntegrationError("Add a repository first.")
    for item in repos:
        if item.sync_status != "running":
            item.sync_status = "queued"
    db.session.commit()
    for item in repos:
        defer(GITHUB_TASK, repo_id=item.id, lock=f"github-repo-{item.id}",
              queueing_lock=f"github-repo-{item.id}")
    return repos


def queue_notion_sync(user: KhojUser) -> NotionConfig:
    from ..jobs.queue import defer

    config = notion_config(user)
    if config is None:
        raise IntegrationError("Connect Notion first.")
    if config.sync_status != "running":
        config.sync_status = "queued"
    db.session.commit()
    defer(NOTION_TASK, config_id=config.id, lock=f"notion-{config.id}", queueing_lock=f"notion-{config.id}")
    return config


def queue_all(user: KhojUser) -> dict:
    """Sync everything the user connected (POST /api/content/sync)."""
    queued = {"github": [], "notion": False}
    if github_config(user) is not None and github_config(user).repos:
        queued["github"] = [r.id for r in queue_github_sync(user)]
    if notion_config(user) is not None:
        queue_notion_sync(user)
        queued["notion"] = True
    return queued


# --------------------------------------------------------------------------- status


def status_dict(item) -> dict:
    return {
        "status": item.sync_status,
        "last_synced_at": item.last_synced_at.isoformat() if item.last_synced_at else None,
        "files_indexed": item.files_indexed,
        "chunks_indexed": item.chunks_indexed,
        "chunks_embedded": item.chunks_embedded,
        "error": item.sync_error,
        "notes": item.sync_notes,
    }


def repo_dict(repo: GithubRepoConfig) -> dict:
    return {"id": repo.id, "owner": repo.owner, "name": repo.name, "branch": repo.branch, **status_dict(repo)}


def sync_status(user: KhojUser) -> dict:
    from ..crypto import mask_secret

    github = github_config(user)
    notion = notion_config(user)
    return {
        "github": None if github is None else {
            "token": mask_secret(github.pat_token), "repos": [repo_dict(r) for r in github.repos],
        },
        "notion": None if notion is None else {"token": mask_secret(notion.token), **status_dict(notion)},
    }


# --------------------------------------------------------------------------- web pages


def import_url(user: KhojUser, url: str):
    """Fetch `url` through the scrapers and index it as one entry set with its URL (in the request:
    one page is quick, and the user waits for the answer). Returns (Page, IndexResult)."""
    from urllib.parse import urlsplit

    from ..search.indexing import IndexingError, index_document
    from .scrapers import ScrapeError, scrape

    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2048:
        raise IntegrationError("Enter a full http:// or https:// address (at most 2048 characters).", "url")
    try:
        page = scrape(url)
    except ScrapeError as exc:
        raise IntegrationError(exc.message, "url") from exc
    text = page.text if page.text.lstrip().startswith("#") else f"# {page.title}\n\n{page.text}"
    try:
        result = index_document(user, file_path=url, text=text, file_type="markdown", file_source="web", url=url)
    except IndexingError as exc:
        raise IntegrationError(exc.message, "url") from exc
    log.info("imported a web page for user %s via %s (%d chunks)", user.id, page.scraper, result.chunks_total)
    return page, result


# --------------------------------------------------------------------------- running a sync (in a job)


@dataclass
class SyncTally:
    files: int = 0
    chunks_embedded: int = 0
    skipped_binary: list[str] = field(default_factory=list)
    skipped_large: list[str] = field(default_factory=list)
    skipped_other: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def notes(self, limit_words: str) -> str | None:
        parts = []
        if self.skipped_binary:
            parts.append(f"{len(self.skipped_binary)} binary file(s) skipped")
        if self.skipped_large:
            parts.append(f"{len(self.skipped_large)} file(s) over {limit_words} skipped ({_names(self.skipped_large)})")
        if self.skipped_other:
            parts.append(f"skipped: {_names(self.skipped_other)}")
        return "; ".join(parts) + "." if parts else None


def _names(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _start(item) -> None:
    item.sync_status = "running"
    item.sync_error = None
    db.session.commit()


def _finish(item, prefix_paths: tuple[str, str], tally: SyncTally, *, status: str, error: str | None,
            notes: str | None) -> None:
    """Record the outcome; file and chunk counts are read back from the database, so they are true
    even after a partial sync."""
    db.session.rollback()
    source, prefix = prefix_paths
    files, chunks = db.session.execute(
        sa.select(sa.func.count(sa.distinct(Entry.file_path)), sa.func.count(Entry.id))
        .where(Entry.user_id == _owner_id(item), Entry.agent_id.is_(None), Entry.file_source == source,
               _prefix_clause(prefix))
    ).one()
    item.sync_status = status
    item.sync_error = error
    item.sync_notes = notes
    item.files_indexed = files
    item.chunks_indexed = chunks
    item.chunks_embedded = tally.chunks_embedded
    if status == "done":
        item.last_synced_at = _now()
    db.session.commit()


def _owner_id(item) -> int:
    return item.github_config.user_id if isinstance(item, GithubRepoConfig) else item.user_id


def _indexed_paths(user: KhojUser, source: str, prefix: str) -> list[str]:
    return list(db.session.scalars(
        sa.select(Entry.file_path).distinct().where(
            Entry.user_id == user.id, Entry.agent_id.is_(None), Entry.file_source == source,
            _prefix_clause(prefix))
    ))


def _delete_paths(user: KhojUser, paths) -> int:
    from ..search.indexing import delete_file

    return sum(delete_file(user, path) for path in paths)


def _index_one(user, tally: SyncTally, **kwargs) -> None:
    """Index one file in its own transaction; a file the indexer cannot read is skipped with a note."""
    from ..search.indexing import EmbeddingUnavailable, FileTooLarge, IndexingError, QuotaExceeded, index_document

    try:
        result = index_document(user, **kwargs)
    except EmbeddingUnavailable as exc:
        raise TransientSyncError(exc.message) from exc
    except (QuotaExceeded, FileTooLarge) as exc:
        raise SyncError(f"Your indexing quota is full: {exc.message}") from exc
    except IndexingError as exc:
        db.session.rollback()
        tally.skipped_other.append(kwargs["file_path"].rsplit("/", 1)[-1])
        log.info("skipped %s: %s", kwargs["file_path"], exc.message)
        return
    tally.files += 1
    tally.chunks_embedded += result.chunks_added


def _failure_message(exc: SyncError, attempt: int, max_attempts: int) -> tuple[str, str]:
    """(status, message) for a failed attempt: transient errors with attempts left stay queued."""
    if isinstance(exc, TransientSyncError):
        if attempt < max_attempts:
            return "queued", f"{exc.message} Retrying automatically (attempt {attempt} of {max_attempts})."
        return "failed", f"{exc.message} Gave up after {attempt} attempt(s); press Sync now to try again."
    return "failed", exc.message


def run_github_sync(repo_id: int, *, attempt: int = 1, max_attempts: int = 1) -> SyncTally | None:
    """The job body: list the branch, index each text file, delete vanished files, record the outcome.
    Raises SyncError after recording a failure (so the queue marks the job failed or retries it)."""
    from .github import MAX_FILE_BYTES, GithubClient, blob_url, decode_text, file_type_for, is_binary_name

    repo = db.session.get(GithubRepoConfig, repo_id)
    if repo is None:
        return None  # removed after it was queued
    user = repo.github_config.user
    prefix = repo_prefix(repo)
    limit = int(current_app.config.get("GITHUB_MAX_FILE_BYTES") or MAX_FILE_BYTES)
    limit_words = f"{limit // 1024} KB" if limit < 1024 * 1024 else f"{limit / (1024 * 1024):g} MB"
    tally = SyncTally()
    _start(repo)
    client = GithubClient(current_app.config["GITHUB_API_URL"], repo.github_config.pat_token)
    owner, name, branch = repo.owner, repo.name, repo.branch
    log.info("GitHub sync of %s/%s@%s started (repo %s, attempt %s)", owner, name, branch, repo_id, attempt)
    try:
        files, truncated = client.tree(owner, name, branch)
        for item in files:
            path_url = blob_url(owner, name, branch, item.path)
            if is_binary_name(item.path):
                tally.skipped_binary.append(item.path)
                continue
            if item.size > limit:
                tally.skipped_large.append(item.path)
                continue
            data = client.blob(item)
            if len(data) > limit:
                tally.skipped_large.append(item.path)
                continue
            text = decode_text(data)
            if text is None:
                tally.skipped_binary.append(item.path)
                continue
            tally.seen.add(path_url)
            _index_one(user, tally, file_path=path_url, text=text, file_type=file_type_for(item.path),
                       file_source="github", url=path_url)
        if not truncated:
            vanished = [p for p in _indexed_paths(user, "github", prefix) if p not in tally.seen]
            _delete_paths(user, vanished)
        notes = tally.notes(limit_words)
        if truncated:
            notes = (notes or "") + " GitHub truncated the file listing (very large repository): " \
                                    "files beyond it were not indexed and nothing was removed."
    except SyncError as exc:
        status, message = _failure_message(exc, attempt, max_attempts)
        _finish(repo, ("github", prefix), tally, status=status, error=message, notes=tally.notes(limit_words))
        log.warning("GitHub sync of %s/%s@%s failed: %s", owner, name, branch, exc.message)
        raise
    finally:
        client.close()
    _finish(repo, ("github", prefix), tally, status="done", error=None, notes=notes)
    log.info("GitHub sync of %s/%s@%s done: %d files, %d chunks embedded", owner, name, branch,
             tally.files, tally.chunks_embedded)
    return tally


def run_notion_sync(config_id: int, *, attempt: int = 1, max_attempts: int = 1) -> SyncTally | None:
    from .notion import NOTION_PREFIX, NotionClient

    config = db.session.get(NotionConfig, config_id)
    if config is None:
        return None
    user = config.user
    tally = SyncTally()
    _start(config)
    client = NotionClient(current_app.config["NOTION_API_URL"], config.token,
                          current_app.config.get("NOTION_VERSION") or "2022-06-28")
    databases: list[str] = []
    log.info("Notion sync started (config %s, attempt %s)", config_id, attempt)
    try:
        for kind, item in client.search():
            if kind == "database":
                databases.append(client.title_of(item) or item.get("id", "?"))
                continue
            page = client.page(item["id"])
            title = client.title_of(page) or "Untitled"
            body = client.page_text(item["id"])
            path = client.page_url(page)
            tally.seen.add(path)
            _index_one(user, tally, file_path=path, text=f"# {title}\n\n{body}".strip() + "\n",
                       file_type="notion", file_source="notion", url=path)
        vanished = [p for p in _indexed_paths(user, "notion", NOTION_PREFIX) if p not in tally.seen]
        _delete_paths(user, vanished)
    except SyncError as exc:
        status, message = _failure_message(exc, attempt, max_attempts)
        _finish(config, ("notion", NOTION_PREFIX), tally, status=status, error=message,
                notes=_notion_notes(tally, databases))
        log.warning("Notion sync failed: %s", exc.message)
        raise
    finally:
        client.close()
    _finish(config, ("notion", NOTION_PREFIX), tally, status="done", error=None,
            notes=_notion_notes(tally, databases))
    return tally


def _notion_notes(tally: SyncTally, databases: list[str]) -> str | None:
    notes = tally.notes("the size limit") or ""
    if databases:
        notes = (notes + " " if notes else "") + f"Databases skipped: {_names(databases)}."
    return notes or None


def mark_interrupted(task_name: str, task_kwargs: dict) -> None:
    """A worker stopped mid-job (crash, kill -9): say so in the status before the job runs again."""
    message = "The sync was interrupted (the worker stopped); it has been queued again."
    item = None
    if task_name == GITHUB_TASK:
        item = db.session.get(GithubRepoConfig, task_kwargs.get("repo_id"))
    elif task_name == NOTION_TASK:
        item = db.session.get(NotionConfig, task_kwargs.get("config_id"))
    if item is not None:
        item.sync_status = "failed"
        item.sync_error = message
        db.session.commit()


def reindex_all_sources() -> dict | None:
    """Re-sync every user's GitHub repos and Notion workspace, one at a time, under the
    `index_content` ProcessLock. Returns counts, or None when another process holds the lock."""
    from ..core.locks import held

    with held("index_content", max_duration=6 * 60 * 60) as acquired:
        if not acquired:
            log.info("periodic re-index skipped: another process holds the index_content lock")
            return None
        done = {"github": 0, "notion": 0, "failed": 0}
        repo_ids = list(db.session.scalars(sa.select(GithubRepoConfig.id).order_by(GithubRepoConfig.id)))
        notion_ids = list(db.session.scalars(sa.select(NotionConfig.id).order_by(NotionConfig.id)))
        for repo_id in repo_ids:
            try:
                run_github_sync(repo_id)
                done["github"] += 1
            except SyncError:
                done["failed"] += 1
        for config_id in notion_ids:
            try:
                run_notion_sync(config_id)
                done["notion"] += 1
            except SyncError:
                done["failed"] += 1
        log.info("periodic re-index done: %s", done)
        return done
