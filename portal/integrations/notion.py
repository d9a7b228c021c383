"""Notion's API as Khoj uses it: search pages, read each page's title and its blocks recursively.

    POST {api}/v1/search                 {"page_size": 100, "start_cursor": …}
    GET  {api}/v1/pages/{id}             title from the Title/Name/Page/Event property (or any title)
    GET  {api}/v1/blocks/{id}/children   paginated with start_cursor; blocks with has_children recurse
Headers: Authorization: Bearer <token>, Notion-Version.
"""
from __future__ import annotations

from typing import Iterator
from urllib.parse import quote

import requests

from .errors import RateLimitReached, SyncError, TransientSyncError

TIMEOUT = 30
PAGE_SIZE = 100
MAX_DEPTH = 8
NOTION_PREFIX = "https://www.notion.so/"
TITLE_PROPERTIES = ("Title", "title", "Name", "Page", "Event")
# One level below the page title ("# Title"), so every section carries the title in its heading ancestry.
HEADINGS = {"heading_1": "## ", "heading_2": "### ", "heading_3": "#### "}
PREFIXES = {"bulleted_list_item": "- ", "numbered_list_item": "1. ", "to_do": "- [ ] ", "quote": "> "}


class NotionClient:
    def __init__(self, api_url: str, token: str, version: str):
        self.api_url = api_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {token}", "Notion-Version": version,
                                  "User-Agent": "khoj-portal"})

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, what: str, **kwargs) -> dict:
        try:
            response = self.http.request(method, f"{self.api_url}{path}", timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise TransientSyncError(f"Could not reach Notion while reading {what}: {type(exc).__name__}.") from exc
        status = response.status_code
        if status == 200:
            try:
                return response.json()
            except ValueError as exc:
                raise SyncError(f"Notion's answer for {what} was not understood.") from exc
        if status == 401:
            raise SyncError("Notion refused the integration token (401): it was revoked or is wrong. "
                            "Save a new token and sync again.")
        if status == 403:
            raise SyncError(f"Notion denied access to {what} (403): share it with the integration.")
        if status == 404:
            raise SyncError(f"Notion found no {what} (404): share it with the integration.")
        if status == 429:
            retry = response.headers.get("Retry-After")
            raise RateLimitReached("Notion's rate limit was reached; the sync stopped."
                                   + (f" Try again in {retry} seconds." if retry else ""))
        if status >= 500:
            raise TransientSyncError(f"Notion answered {status} while reading {what}; it will be retried.")
        raise SyncError(f"Notion answered {status} while reading {what}.")

    def search(self) -> Iterator[tuple[str, dict]]:
        """("page" | "database", object) for everything shared with the integration."""
        cursor = None
        while True:
            body = {"page_size": PAGE_SIZE}
            if cursor:
                body["start_cursor"] = cursor
            data = self._call("POST", "/v1/search", "the list of pages", json=body)
            for item in data.get("results", []):
                kind = item.get("object")
                if kind in ("page", "database") and item.get("id"):
                    yield kind, item
            cursor = data.get("next_cursor") if data.get("has_more") else None
            if not cursor:
                return

    def page(self, page_id: str) -> dict:
        return self._call("GET", f"/v1/pages/{quote(page_id, safe='')}", f"page {page_id}")

    @staticmethod
    def title_of(obj: dict) -> str:
        if isinstance(obj.get("title"), list):  # databases
            return _plain(obj["title"])
        props = obj.get("properties") or {}
        for name in TITLE_PROPERTIES:
            prop = props.get(name)
            if prop and prop.get("type") == "title":
                return _plain(prop.get("title"))
        for prop in props.values():
            if isinstance(prop, dict) and prop.get("type") == "title":
                return _plain(prop.get("title"))
        return ""

    @staticmethod
    def page_url(page: dict) -> str:
        url = page.get("url") or ""
        if url.startswith(NOTION_PREFIX):
            return url
        return NOTION_PREFIX + page["id"].replace("-", "")

    def children(self, block_id: str) -> Iterator[dict]:
        cursor = None
        while True:
            params = {"page_size": PAGE_SIZE}
            if cursor:
                params["start_cursor"] = cursor
            data = self._call("GET", f"/v1/blocks/{quote(block_id, safe='')}/children", f"blocks of {block_id}",
                              params=params)
            yield from data.get("results", [])
            cursor = data.get("next_cursor") if data.get("has_more") else None
            if not cursor:
                return

    def page_text(self, page_id: str) -> str:
        lines: list[str] = []
        self._collect(page_id, lines, 0)
        return "\n".join(lines)

    def _collect(self, block_id: str, lines: list[str], depth: int) -> None:
        for block in self.children(block_id):
            kind = block.get("type", "")
            content = block.get(kind) or {}
            text = _plain(content.get("rich_text") or content.get("text") or [])
            if kind == "child_page":
                text = content.get("title", "")
            if text:
                indent = "  " * depth if kind in PREFIXES else ""
                lines.append(indent + HEADINGS.get(kind, PREFIXES.get(kind, "")) + text)
            if block.get("has_children") and depth < MAX_DEPTH and kind != "child_page":
                self._collect(block["id"], lines, depth + 1)


def _plain(rich_text) -> str:
    if not isinstance(rich_text, list):
        return ""
    return "".join(part.get("plain_text") or (part.get("text") or {}).get("content", "") for part in rich_text
                   if isinstance(part, dict))
