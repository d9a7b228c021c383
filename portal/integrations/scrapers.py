"""Import a web page: the configured web scrapers in ascending priority until one returns content.

Calls, as khoj-behaviour.md describes them:
- Firecrawl  POST {url}/v2/scrape {"url", "formats": ["markdown"]}, Authorization: Bearer <key>
- Olostep    GET {url}?url=…&saveMarkdown=true…, Authorization: Bearer <key>; result `markdown_content`
- Exa        POST {url}/contents {"urls": [url], "text": true}, header x-api-key
- Jina       GET {url}/<page url> (Authorization: Bearer <key> when one is set); the body is markdown
- Direct     plain HTTP GET through the SSRF guard; HTML → text
A scraper's key and URL fall back to the environment (FIRECRAWL_API_KEY/URL, OLOSTEP_…, EXA_…, JINA_…).
With no scraper configured, Direct is used.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import requests
import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import WebScraper
from .urlguard import UnsafeUrl, check_url, guarded_get

log = logging.getLogger(__name__)

TIMEOUT = 30
MAX_PAGE_BYTES = 5 * 1024 * 1024
KEYED = ("Firecrawl", "Olostep", "Exa")


class ScrapeError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ScraperChoice:
    name: str
    type: str
    api_key: str | None
    api_url: str | None
    guard: bool = False  # an admin-entered API URL goes through the SSRF guard; environment ones do not


@dataclass(frozen=True)
class Page:
    url: str
    title: str
    text: str
    scraper: str


def configured_scrapers() -> list[ScraperChoice]:
    config = current_app.config
    rows = db.session.scalars(sa.select(WebScraper).order_by(WebScraper.priority)).all()
    choices = [
        ScraperChoice(
            row.name, row.type,
            row.api_key or config.get(f"{row.type.upper()}_API_KEY"),
            row.api_url or config.get(f"{row.type.upper()}_API_URL"),
            guard=bool(row.api_url),
        )
        for row in rows
    ]
    return choices or [ScraperChoice("Direct", "Direct", None, None)]


def scrape(url: str) -> Page:
    """The page's text from the first scraper that returns some; ScrapeError lists each failure."""
    failures = []
    for choice in configured_scrapers():
        try:
            if choice.guard and choice.type != "Direct":
                check_url(choice.api_url)
            title, text = SCRAPERS[choice.type](choice, url)
        except UnsafeUrl as exc:
            failures.append(f"{choice.name}: {exc}")
            continue
        except ScrapeError as exc:
            failures.append(f"{choice.name}: {exc.message}")
            continue
        except requests.RequestException as exc:
            failures.append(f"{choice.name}: could not connect ({type(exc).__name__})")
            continue
        except (ValueError, KeyError, TypeError):
            failures.append(f"{choice.name}: the answer was not understood")
            continue
        if text and text.strip():
            return Page(url, (title or url).strip()[:300], text.strip(), choice.name)
        failures.append(f"{choice.name}: no content")
    raise ScrapeError("No web scraper returned content. " + "; ".join(failures) + ".")


def _check(response: requests.Response, name: str) -> requests.Response:
    if response.status_code == 401 or response.status_code == 403:
        raise ScrapeError(f"{name} refused the API key ({response.status_code})")
    if response.status_code != 200:
        raise ScrapeError(f"{name} answered {response.status_code}")
    return response


def _need_key(choice: ScraperChoice) -> str:
    if not choice.api_key:
        raise ScrapeError("no API key configured")
    return choice.api_key


def _firecrawl(choice: ScraperChoice, url: str):
    response = _check(requests.post(
        f"{choice.api_url.rstrip('/')}/v2/scrape", json={"url": url, "formats": ["markdown"]},
        headers={"Authorization": f"Bearer {_need_key(choice)}"}, timeout=TIMEOUT), "Firecrawl")
    data = response.json().get("data") or {}
    return (data.get("metadata") or {}).get("title"), data.get("markdown")


def _olostep(choice: ScraperChoice, url: str):
    params = {"url": url, "timeout": 35, "waitBeforeScraping": 1, "saveHtml": "False",
              "saveMarkdown": "True", "removeCSSselectors": "default", "htmlTransformer": "none",
              "removeImages": "True", "fastLane": "True", "expandMarkdown": "True", "expandHtml": "False"}
    response = _check(requests.get(choice.api_url, params=params,
                                   headers={"Authorization": f"Bearer {_need_key(choice)}"},
                                   timeout=TIMEOUT), "Olostep")
    return None, response.json().get("markdown_content")


def _exa(choice: ScraperChoice, url: str):
    response = _check(requests.post(
        f"{choice.api_url.rstrip('/')}/contents", json={"urls": [url], "text": True},
        headers={"x-api-key": _need_key(choice)}, timeout=TIMEOUT), "Exa")
    results = response.json().get("results") or []
    if not results:
        return None, None
    return results[0].get("title"), results[0].get("text")


def _jina(choice: ScraperChoice, url: str):
    headers = {"Authorization": f"Bearer {choice.api_key}"} if choice.api_key else {}
    response = _check(requests.get(f"{(choice.api_url or 'https://r.jina.ai').rstrip('/')}/{url}",
                                   headers=headers, timeout=TIMEOUT), "Jina")
    text = response.text
    match = re.match(r"Title:\s*(.+)\n", text)
    return (match.group(1) if match else None), text


def _direct(choice: ScraperChoice, url: str):
    with requests.Session() as http:
        http.headers["User-Agent"] = "khoj-portal"
        response = _check(guarded_get(url, session=http, stream=True), "The site")
        data = response.raw.read(MAX_PAGE_BYTES + 1, decode_content=True)
        response.close()
    if len(data) > MAX_PAGE_BYTES:
        raise ScrapeError("the page is larger than 5 MB")
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    encoding = response.encoding or "utf-8"
    text = data.decode(encoding, errors="replace")
    if kind in ("text/html", "application/xhtml+xml") or (not kind and "<html" in text[:1000].lower()):
        return html_to_text(text)
    if kind.startswith("text/") or kind in ("application/json", "application/xml"):
        return None, text
    raise ScrapeError(f"the page is not text ({kind or 'unknown type'})")


SCRAPERS = {"Firecrawl": _firecrawl, "Olostep": _olostep, "Exa": _exa, "Jina": _jina, "Direct": _direct}


class _TextExtractor(HTMLParser):
    SKIP = {"script", "style", "noscript", "template", "svg", "head"}
    BLOCK = {"p", "div", "section", "article", "br", "li", "tr", "pre", "blockquote", "h1", "h2", "h3",
             "h4", "h5", "h6", "header", "footer", "main", "nav", "ul", "ol", "table"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
        elif tag in self.SKIP:
            self._skip += 1
        if tag in self.BLOCK:
            self.parts.append("\n")
        if tag in ("h1", "h2", "h3") and not self._skip:
            self.parts.append("#" * int(tag[1]) + " ")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag in self.SKIP and self._skip:
            self._skip -= 1
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return parser.title.strip(), text
