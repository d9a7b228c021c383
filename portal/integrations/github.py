"""GitHub's REST API as Khoj uses it: the recursive tree of a branch, then each blob in raw form.

    GET {api}/repos/{owner}/{name}/git/trees/{branch}?recursive=true   Authorization: token <pat>
    GET <blob url from the tree>                        Accept: application/vnd.github.v3.raw

Errors become SyncError subclasses with a sentence for the user; the token never appears in them.
"""
from __future__ import annotations

import logging
import posixpath
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

import requests

from .errors import RateLimitReached, SyncError, TransientSyncError

log = logging.getLogger(__name__)

TIMEOUT = 30
MAX_FILE_BYTES = 1024 * 1024  # files larger than this are skipped (Khoj's GitHub sync skips large files too)

MARKDOWN = {".md", ".markdown", ".mdx"}
ORG = {".org"}
# Never fetched: known binary formats. Anything else is fetched and skipped if it is not UTF-8 text.
BINARY = {
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tif", ".tiff", ".psd", ".svgz",
    ".pdf", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".jar", ".war", ".whl", ".egg",
    ".exe", ".dll", ".so", ".dylib", ".o", ".a", ".lib", ".bin", ".class", ".pyc", ".pyo", ".wasm",
    ".mp3", ".mp4", ".m4a", ".wav", ".flac", ".ogg", ".avi", ".mov", ".mkv", ".webm",
    ".ttf", ".otf", ".woff", ".woff2", ".eot", ".sqlite", ".db", ".parquet", ".pkl", ".npy", ".onnx",
    ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".key", ".numbers", ".pages",
}


@dataclass(frozen=True)
class TreeFile:
    path: str
    sha: str
    size: int
    url: str


def file_type_for(path: str) -> str:
    ext = posixpath.splitext(path)[1].lower()
    if ext in MARKDOWN:
        return "markdown"
    if ext in ORG:
        return "org"
    return "plaintext"


def is_binary_name(path: str) -> bool:
    return posixpath.splitext(path)[1].lower() in BINARY


def decode_text(data: bytes) -> str | None:
    """The file as text, or None for binary content (NUL bytes or not UTF-8)."""
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def blob_url(owner: str, name: str, branch: str, path: str) -> str:
    """The page a search result links to."""
    return f"https://github.com/{owner}/{name}/blob/{branch}/{quote(path)}"


class GithubClient:
    def __init__(self, api_url: str, token: str):
        self.api_url = api_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {token}"
        self.http.headers["User-Agent"] = "khoj-portal"
        self.rate_limit_reset: datetime | None = None
        self.exhausted = False

    def close(self) -> None:
        self.http.close()

    def _get(self, url: str, what: str, **kwargs) -> requests.Response:
        if self.exhausted:
            raise self._rate_limit_error()
        try:
            response = self.http.get(url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise TransientSyncError(f"Could not reach GitHub while fetching {what}: {type(exc).__name__}.") from exc
        self._note_rate_limit(response)
        status = response.status_code
        if status == 200:
            return response
        if status == 401:
            raise SyncError("GitHub refused the access token (401): it was revoked or has expired. "
                            "Save a new token and sync again.")
        if status in (403, 429) and (self.exhausted or "rate limit" in response.text.lower()):
            self.exhausted = True
            raise self._rate_limit_error()
        if status == 403:
            raise SyncError(f"GitHub denied access to {what} (403): the token lacks the 'repo' or "
                            "'contents: read' permission.")
        if status == 404:
            raise SyncError(f"GitHub found no {what} (404): check the owner, name and branch, and that the "
                            "token can see the repository.")
        if status >= 500:
            raise TransientSyncError(f"GitHub answered {status} while fetching {what}; it will be retried.")
        raise SyncError(f"GitHub answered {status} while fetching {what}.")

    def _note_rate_limit(self, response: requests.Response) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset = response.headers.get("X-RateLimit-Reset")
        if reset and reset.isdigit():
            self.rate_limit_reset = datetime.fromtimestamp(int(reset), timezone.utc)
        if remaining is not None and remaining.strip() == "0":
            self.exhausted = True

    def _rate_limit_error(self) -> RateLimitReached:
        when = (f" It resets at {self.rate_limit_reset:%H:%M} UTC." if self.rate_limit_reset else "")
        return RateLimitReached(f"GitHub's API rate limit is used up; the sync stopped.{when} "
                                "Sync again after that.")

    def tree(self, owner: str, name: str, branch: str) -> tuple[list[TreeFile], bool]:
        """Every blob of the branch, and whether GitHub truncated the listing."""
        url = (f"{self.api_url}/repos/{quote(owner, safe='')}/{quote(name, safe='')}/git/trees/"
               f"{quote(branch, safe='')}")
        response = self._get(url, f"branch '{branch}' of {owner}/{name}", params={"recursive": "true"},
                             headers={"Accept": "application/vnd.github+json"})
        try:
            body = response.json()
            files = [
                TreeFile(item["path"], item["sha"], int(item.get("size") or 0), item["url"])
                for item in body.get("tree", []) if item.get("type") == "blob"
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise SyncError("GitHub's answer for the repository tree was not understood.") from exc
        return files, bool(body.get("truncated"))

    def blob(self, item: TreeFile) -> bytes:
        # Only follow blob URLs on the configured API host: the tree's URLs come from the remote side.
        url = item.url if item.url.startswith(self.api_url + "/") else None
        if url is None:
            raise SyncError(f"GitHub listed {item.path} at an unexpected address; the sync stopped.")
        response = self._get(url, f"the file {item.path}", headers={"Accept": "application/vnd.github.v3.raw"})
        return response.content
