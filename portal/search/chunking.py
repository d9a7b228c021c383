"""Turn an uploaded file into search entries ("chunks"), the way Khoj does.

Each chunk carries:

* ``compiled`` — the text that is embedded and full-text indexed. It is the file
  name, then the heading ancestry of the section, then the chunk's body. The
  file name is kept (as Khoj does) because it often names the topic
  ("2024-03 board meeting.md") and lets a search for it find the file; it costs
  a few tokens of the model's 256. The ancestry gives a chunk from the middle
  of a long document the context its own body lacks. Heading lines are kept as
  written (Khoj shifts them one level down under a "# file name" line; a plain
  first line says the same without rewriting the user's levels).
* ``raw`` — the chunk's own text as shown in search results: the section's
  heading line (if any) and the body piece.
* ``heading`` — the heading ancestry lines joined by newlines ("page N" for
  PDFs, None for plain text and text before the first heading).
* ``hashed_value`` — md5 hex of ``compiled``. It decides whether a chunk must be
  re-embedded, so output is deterministic: same input, same chunks, same hashes.

Bodies hold at most :data:`MAX_WORDS` words (whitespace-separated, as Khoj
counts). A longer section is split on paragraphs, then lines, then sentences,
and words as the last resort; neighbouring small pieces are packed back
together up to the limit.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_WORDS = 256

FILE_TYPE_MARKDOWN = "markdown"
FILE_TYPE_ORG = "org"
FILE_TYPE_PDF = "pdf"
FILE_TYPE_PLAINTEXT = "plaintext"

_EXTENSION_TYPES = {
    ".md": FILE_TYPE_MARKDOWN,
    ".markdown": FILE_TYPE_MARKDOWN,
    ".org": FILE_TYPE_ORG,
    ".pdf": FILE_TYPE_PDF,
}


class ChunkingError(ValueError):
    """The file cannot be turned into text (broken PDF, binary data, unknown encoding)."""


@dataclass(frozen=True)
class Chunk:
    compiled: str
    raw: str
    heading: str | None
    hashed_value: str


def make_chunk(compiled: str, raw: str, heading: str | None) -> Chunk:
    """Build a Chunk, computing ``hashed_value`` from ``compiled``."""
    digest = hashlib.md5(compiled.encode("utf-8"), usedforsecurity=False).hexdigest()
    return Chunk(compiled=compiled, raw=raw, heading=heading, hashed_value=digest)


# --------------------------------------------------------------------------- text clean-up

# Control characters other than tab and newline: NUL cannot be stored in PostgreSQL text,
# the others only disturb tokenisers and display.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINE_RUNS = re.compile(r"\n{3,}")


def normalise_whitespace(text: str) -> str:
    """Unify line ends, drop control characters and trailing spaces, squeeze blank-line runs.

    Indentation inside lines is kept (code blocks, nested lists rely on it).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = _CONTROL_CHARS.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_LINE_RUNS.sub("\n\n", text).strip()


def _one_line(text: str) -> str:
    """Collapse all whitespace to single spaces (for file names and heading lines)."""
    return " ".join(_CONTROL_CHARS.sub("", text).split())


def count_words(text: str) -> int:
    return len(text.split())


# --------------------------------------------------------------------------- splitting


def _split_sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+", text)


# From coarse to fine: (how to split, how to glue pieces back together).
_SPLITTERS: list[tuple[Callable[[str], list[str]], str]] = [
    (lambda text: re.split(r"\n\s*\n", text), "\n\n"),
    (lambda text: text.split("\n"), "\n"),
    (_split_sentences, " "),
]


def split_to_limit(text: str, limit: int = MAX_WORDS) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` words, keeping paragraphs whole when possible."""
    return _split(text.strip(), limit, 0)


def _split(text: str, limit: int, level: int) -> list[str]:
    if not text:
        return []
    if count_words(text) <= limit:
        return [text]
    for splitter, glue in _SPLITTERS[level:]:
        level += 1
        parts = [part.strip() for part in splitter(text) if part.strip()]
        if len(parts) > 1:
            pieces = [piece for part in parts for piece in _split(part, limit, level)]
            return _pack(pieces, limit, glue)
    words = text.split()
    return [" ".join(words[i:i + limit]) for i in range(0, len(words), limit)]


def _pack(pieces: list[str], limit: int, glue: str) -> list[str]:
    """Greedily join neighbouring pieces while the result stays within ``limit`` words."""
    packed: list[str] = []
    current: list[str] = []
    words = 0
    for piece in pieces:
        size = count_words(piece)
        if current and words + size > limit:
            packed.append(glue.join(current))
            current, words = [], 0
        current.append(piece)
        words += size
    if current:
        packed.append(glue.join(current))
    return packed


# --------------------------------------------------------------------------- outlines (markdown, org)


@dataclass
class _Section:
    ancestry: list[str]  # heading lines from the top level down to this section's own heading
    body_lines: list[str]


# A heading line gives (level, normalised heading line); None for other lines.
_HeadingParser = Callable[[str], "tuple[int, str] | None"]

_MARKDOWN_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_MARKDOWN_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ORG_HEADING = re.compile(r"^(\*+)[ \t]+(.*)$")


def _markdown_heading(line: str) -> tuple[int, str] | None:
    match = _MARKDOWN_HEADING.match(line)
    if not match:
        return None
    level = len(match.group(1))
    return level, _one_line(f"{match.group(1)} {match.group(2) or ''}")


def _org_heading(line: str) -> tuple[int, str] | None:
    match = _ORG_HEADING.match(line)
    if not match:
        return None
    return len(match.group(1)), _one_line(line)


def _markdown_sections(text: str) -> list[_Section]:
    """Split markdown on ATX headings (# … ######), ignoring '#' lines inside fenced code.

    Setext headings (underlined with === or ---) are not recognised: '---' is far
    more often a rule or front matter, and guessing wrong would split mid-text.
    """
    return _sections(text, _markdown_heading, fence=_MARKDOWN_FENCE)


def _sections(text: str, parse_heading: _HeadingParser, fence: re.Pattern[str] | None = None) -> list[_Section]:
    stack: list[tuple[int, str]] = []  # (level, heading line) of the current ancestry
    sections = [_Section(ancestry=[], body_lines=[])]
    open_fence: str | None = None
    for line in text.split("\n"):
        fence_match = fence.match(line) if fence else None
        if fence_match:
            marker = fence_match.group(1)
            if open_fence is None:
                open_fence = marker
            elif marker[0] == open_fence[0] and len(marker) >= len(open_fence):
                open_fence = None
        heading = None if open_fence or fence_match else parse_heading(line)
        if heading is None:
            sections[-1].body_lines.append(line)
            continue
        level, heading_line = heading
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading_line))
        sections.append(_Section(ancestry=[h for _, h in stack], body_lines=[]))
    return sections


def _chunk_sections(sections: list[_Section], file_name: str) -> list[Chunk]:
    """Chunks of every section; a section without body text yields none (its heading
    still appears in the ancestry of its subsections)."""
    chunks: list[Chunk] = []
    title = _one_line(file_name)
    for section in sections:
        heading = "\n".join(section.ancestry) or None
        own_heading = section.ancestry[-1] if section.ancestry else None
        for piece in split_to_limit(normalise_whitespace("\n".join(section.body_lines))):
            compiled = "\n".join(part for part in (title, heading, piece) if part)
            raw = f"{own_heading}\n{piece}" if own_heading else piece
            chunks.append(make_chunk(compiled, raw, heading))
    return chunks


def chunk_markdown(text: str, file_name: str) -> list[Chunk]:
    """Markdown → chunks, one or more per heading section, each with its heading ancestry."""
    return _chunk_sections(_markdown_sections(normalise_whitespace(text)), file_name)


def chunk_org(text: str, file_name: str) -> list[Chunk]:
    """Org-mode → chunks, split on '*' headings like :func:`chunk_markdown`."""
    return _chunk_sections(_sections(normalise_whitespace(text), _org_heading), file_name)


def chunk_plaintext(text: str, file_name: str) -> list[Chunk]:
    """Plain text → paragraphs packed into chunks of at most 256 words."""
    title = _one_line(file_name)
    return [
        make_chunk("\n".join(part for part in (title, piece) if part), piece, None)
        for piece in split_to_limit(normalise_whitespace(text))
    ]


# --------------------------------------------------------------------------- PDF


def pdf_pages(data: bytes, file_name: str) -> list[str]:
    """Text of each page of a PDF (empty string for pages without text)."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ChunkingError(f"{file_name}: the PDF is password-protected")
        pages = list(reader.pages)
    except ChunkingError:
        raise
    except Exception as exc:  # pypdf raises many types (PdfReadError, ValueError, KeyError...)
        raise ChunkingError(f"{file_name}: not a readable PDF ({type(exc).__name__}: {exc})") from exc
    return [_page_text(page, number, file_name) for number, page in enumerate(pages, start=1)]


def _page_text(page, number: int, file_name: str) -> str:
    try:
        return page.extract_text() or ""
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"
        raise ChunkingError(f"{file_name}: cannot read the text of page {number} ({detail})") from exc


def _chunk_pages(pages: list[str], file_name: str) -> list[Chunk]:
    title = _one_line(file_name)
    chunks: list[Chunk] = []
    for number, text in enumerate(pages, start=1):
        heading = f"page {number}"
        for piece in split_to_limit(normalise_whitespace(text)):
            compiled = "\n".join(part for part in (title, heading, piece) if part)
            chunks.append(make_chunk(compiled, piece, heading))
    return chunks


def chunk_pdf(data: bytes, file_name: str) -> list[Chunk]:
    """PDF → one chunk per page (more for pages over 256 words); heading "page N"."""
    return _chunk_pages(pdf_pages(data, file_name), file_name)


# --------------------------------------------------------------------------- dispatch


def file_type_for(file_name: str) -> str:
    """Khoj's file type for a file name: markdown, org, pdf, or plaintext for anything else."""
    return _EXTENSION_TYPES.get(os.path.splitext(file_name)[1].lower(), FILE_TYPE_PLAINTEXT)


def decode_text(data: bytes, file_name: str) -> str:
    """Decode a text file: UTF-8 (with or without BOM), or UTF-16 with a BOM.

    Other encodings are refused rather than guessed: latin-1 would "decode" any
    binary file into garbage that then gets embedded.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ChunkingError(f"{file_name}: invalid UTF-16 text") from exc
    if b"\x00" in data:
        raise ChunkingError(f"{file_name}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ChunkingError(f"{file_name}: not UTF-8 text (byte {exc.start} cannot be decoded)") from exc


_TEXT_CHUNKERS: dict[str, Callable[[str, str], list[Chunk]]] = {
    FILE_TYPE_MARKDOWN: chunk_markdown,
    FILE_TYPE_ORG: chunk_org,
    FILE_TYPE_PLAINTEXT: chunk_plaintext,
}


def chunk_file(file_name: str, data: bytes) -> tuple[str, str, list[Chunk]]:
    """Return (file_type, full_text, chunks) for an uploaded file.

    ``full_text`` is what the file's text record keeps: the decoded text (NUL-free,
    line ends as uploaded), or for a PDF the non-empty page texts, whitespace
    normalised, separated by blank lines.
    """
    file_type = file_type_for(file_name)
    if file_type == FILE_TYPE_PDF:
        pages = [normalise_whitespace(page) for page in pdf_pages(data, file_name)]
        return file_type, "\n\n".join(page for page in pages if page), _chunk_pages(pages, file_name)
    text = decode_text(data, file_name).replace("\x00", "")
    return file_type, text, _TEXT_CHUNKERS[file_type](text, file_name)
