"""Khoj's search query filter syntax.

A query may carry filters next to its free text::

    meeting notes +"budget" -"draft" file:"*.md" -file:"archive/*" dt>="2024-01-01" dt<"March 2024"

* ``+"word"`` — results must contain the word (or phrase); ``-"word"`` — must not.
* ``file:"glob"`` — results must come from a matching file; ``-file:"glob"`` — must not.
* ``dt>="date"``, ``dt<="date"``, ``dt>"date"``, ``dt<"date"`` — date bounds;
  ``dt:"date"``, ``dt="date"`` (and ``dt=="date"``) — that exact day.

:func:`parse_query` separates the filters from the text. It never builds SQL:
values are returned as data for bound parameters, so hostile input is only text.
Anything that does not match a filter exactly stays in the free text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from dateutil import parser as date_parser

#: Operators of ParsedQuery.date_filters (":" and "==" are reported as "=").
DATE_OPERATORS = (">=", "<=", ">", "<", "=")

_MAX_DATE_LENGTH = 100
# Double quotes, straight or curly (phones and word processors turn " into “ ”).
_DQ = "\"\u201c\u201d"
# Date values may also use single quotes, as Khoj allows.
_SQ = "'\u2018\u2019"

_FILTER = re.compile(
    rf"""
    (?<!\w)                                   # a filter does not start inside a word
    (?:
        (?P<file_neg>-)?file:[{_DQ}](?P<file>[^{_DQ}\n]+)[{_DQ}]
      | (?P<sign>[+-])[{_DQ}](?P<word>[^{_DQ}\n]+)[{_DQ}]
      | dt(?P<op>>=|<=|==|[:=<>])
        (?:[{_DQ}](?P<date_d>[^{_DQ}\n]+)[{_DQ}] | [{_SQ}](?P<date_s>[^{_SQ}\n]+)[{_SQ}])
    )
    """,
    re.VERBOSE,
)
_YEAR_FIRST = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")


class QueryFilterError(ValueError):
    """A filter in the query is malformed (for now: a date that cannot be read)."""


@dataclass
class ParsedQuery:
    text: str
    include_words: list[str] = field(default_factory=list)
    exclude_words: list[str] = field(default_factory=list)
    include_files: list[str] = field(default_factory=list)
    exclude_files: list[str] = field(default_factory=list)
    date_filters: list[tuple[str, date]] = field(default_factory=list)

    @property
    def has_filters(self) -> bool:
        return bool(
            self.include_words or self.exclude_words or self.include_files
            or self.exclude_files or self.date_filters
        )


def parse_query(q: str, today: date | None = None) -> ParsedQuery:
    """Split a search query into free text and filters.

    Word and file values are stripped and de-duplicated, in order of appearance.
    ``today`` anchors relative dates ("today", "yesterday", "tomorrow") and the
    default year of partial dates; it defaults to the current local date.

    Raises QueryFilterError for a date filter whose date cannot be read.
    """
    today = today or date.today()
    parsed = ParsedQuery(text="")

    def take(match: re.Match[str]) -> str:
        if not _record(match, parsed, today):
            return match.group(0)  # e.g. +" " — not a usable filter, keep it as text
        return " "

    parsed.text = " ".join(_FILTER.sub(take, q or "").split())
    return parsed


def _record(match: re.Match[str], parsed: ParsedQuery, today: date) -> bool:
    """Add one matched filter to ``parsed``; False if the value is blank."""
    if match.group("file") is not None:
        target = parsed.exclude_files if match.group("file_neg") else parsed.include_files
        return _add(target, match.group("file"))
    if match.group("word") is not None:
        target = parsed.include_words if match.group("sign") == "+" else parsed.exclude_words
        return _add(target, match.group("word"))
    value = match.group("date_d") if match.group("date_d") is not None else match.group("date_s")
    op = match.group("op")
    op = "=" if op in (":", "==") else op
    parsed.date_filters.append((op, parse_date(value, today, context=match.group(0))))
    return True


def _add(target: list[str], value: str) -> bool:
    value = value.strip()
    if not value:
        return False
    if value not in target:
        target.append(value)
    return True


def parse_date(value: str, today: date | None = None, context: str | None = None) -> date:
    """Read a filter date: ISO ``YYYY-MM-DD``, today/yesterday/tomorrow, or what dateutil reads.

    Ambiguous numeric dates are read day first (01/02/2024 is 1 February), as
    Khoj and most of the world do; a four-digit year first means year-month-day.
    Missing parts default to the first month / day of ``today``'s year
    ("March 2024" is 2024-03-01).
    """
    today = today or date.today()
    text = value.strip()
    try:
        return _read_date(text, today)
    except (ValueError, OverflowError):
        shown = (context or text)[:_MAX_DATE_LENGTH]
        raise QueryFilterError(
            f"Cannot read the date in {shown!r}; write it as YYYY-MM-DD, for example dt>=\"2024-01-31\"."
        ) from None


def _read_date(text: str, today: date) -> date:
    lowered = text.lower()
    relative = {"today": 0, "yesterday": -1, "tomorrow": 1}
    if lowered in relative:
        return today + timedelta(days=relative[lowered])
    if not text or len(text) > _MAX_DATE_LENGTH:
        raise ValueError("empty or too long")
    year_first = _YEAR_FIRST.fullmatch(text)
    if year_first:
        return date(*(int(part) for part in year_first.groups()))
    default = datetime(today.year, 1, 1)
    return date_parser.parse(text, default=default, dayfirst=True).date()


def glob_to_like(glob: str, anchored: bool = False) -> str:
    """Turn a file glob into a SQL LIKE pattern (escape character: backslash, PostgreSQL's default).

    ``*`` → ``%``, ``?`` → ``_``; literal ``%``, ``_`` and ``\\`` are escaped. Bracket
    classes (``[abc]``) have no LIKE equivalent and are matched literally.

    Unless ``anchored``, the pattern matches the *end* of a stored path, so
    ``file:"notes.md"`` finds "/home/ana/notes.md" and ``file:"projects/*"``
    finds "/home/ana/projects/x.org" (Khoj matches file filters anywhere in the
    path; matching the end keeps ``*.md`` from matching "x.md.bak"). A glob that
    starts with "/" is an absolute path and is always anchored.
    """
    escaped = "".join(_LIKE_TRANSLATION.get(char, char) for char in glob)
    if anchored or glob.startswith("/") or escaped.startswith("%"):
        return escaped
    return "%" + escaped


_LIKE_TRANSLATION = {"\\": "\\\\", "%": "\\%", "_": "\\_", "*": "%", "?": "_"}
