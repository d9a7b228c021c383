"""Search: pgvector HNSW cosine fused with PostgreSQL full-text ranking by reciprocal rank fusion.

    results = search(user, 'notes about "rust" -file:"*.org"', n=5)

* Dense: ``ORDER BY embeddings <=> :q LIMIT k`` over the HNSW index, with ``hnsw.ef_search`` raised
  and ``hnsw.iterative_scan = relaxed_order`` so the per-owner WHERE clause does not starve the index
  scan (pgvector ≥ 0.8); the candidates are re-sorted by exact distance.
* Full text: the query's words OR-ed into a tsquery (so a long natural-language query still matches
  documents that contain only some of its words), ranked like BM25: each query lexeme's ``ts_rank``
  (which saturates with the term's frequency in the entry and is divided by the entry's log length)
  weighted by the lexeme's inverse document frequency among the caller's entries. Without the IDF
  weight, common words such as "cells" outrank the rare ones that carry the query.
* Hybrid: score(d) = w_dense / (k + rank_dense(d)) + w_text / (k + rank_text(d)).
* Khoj's query filters (``+"w"``, ``-"w"``, ``file:"glob"``, ``-file:"glob"``, ``dt>=``, ``dt<=``,
  ``dt:``) become SQL conditions with bound parameters only; a hostile query is just text.
* Ownership: the caller's own entries, plus the entries of `agent` when the caller may read that agent.

``score`` in results is the cosine distance (lower is better, as in Khoj's API); ``fused`` is the
fusion score that orders the results (higher is better).
"""
from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from markupsafe import Markup
from pgvector.sqlalchemy import Vector

from ..extensions import db
from ..models.content import EMBEDDING_DIMENSIONS
from .indexing import ENTRY_COUNT_TTL, ENTRY_COUNTS, active_search_model, embedder_for

MODES = ("hybrid", "dense", "fulltext")
MAX_RESULTS = 50
MAX_QUERY_LENGTH = 2000
MAX_TS_TERMS = 64
_HL_START, _HL_STOP = "\x02", "\x03"  # ts_headline's highlight markers
_ANGLES = "\x04\x05"  # stand-ins for < and > inside ts_headline
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_ISO_DATE = r"(\d{4}-\d{2}-\d{2})"


@dataclass
class Tuning:
    """Knobs measured with bench/search_quality.py (train split) and bench/search_latency.py."""

    # Tuned on SciFact train (809 queries, `bench/search_quality.py --split train --tune`).
    rrf_k: int = 5
    dense_weight: float = 1.0
    text_weight: float = 1.3
    candidates: int = 100       # per list, before fusion
    # hnsw.ef_search: recall@10 against exact search for 100,000 of 1,000,000 entries was 0.87 at 100,
    # 0.90 at 200, 0.97 at 400 (bench/search_latency.py), for 2 ms more (the iterative scan reads most
    # of those tuples anyway to find 100 of the caller's).
    ef_search: int = 400
    rank_normalization: int = 1  # ts_rank normalisation flags (1 = divide by 1 + log2 of the entry's length)


TUNING = Tuning()


@dataclass
class SearchResult:
    id: int
    entry: str
    compiled: str
    heading: str | None
    file_path: str | None
    file_type: str
    file_source: str
    url: str | None
    corpus_id: str
    distance: float
    fused: float
    snippet: Markup = field(default_factory=Markup)
    dense_rank: int | None = None
    text_rank: int | None = None

    @property
    def trail(self) -> list[str]:
        return heading_trail(self.heading)

    @property
    def file_name(self) -> str:
        return (self.file_path or "").replace("\\", "/").rsplit("/", 1)[-1]


class SearchError(Exception):
    status = 400

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


# --------------------------------------------------------------------------- access


def readable_agent_ids(user, agent) -> list[int]:
    """The agent whose knowledge the caller may search with, by the agents area's visibility rule."""
    if agent is None:
        return []
    from ..agents.services import readable_criterion
    from ..models import Agent

    readable = db.session.execute(
        sa.select(Agent.id).where(Agent.id == agent.id, readable_criterion(user))
    ).first()
    return [agent.id] if readable else []


def _owner_sql(user, agent_ids: list[int], params: dict) -> str:
    params["uid"] = user.id
    clause = "(e.user_id = :uid AND e.agent_id IS NULL)"
    if agent_ids:
        params["agent_ids"] = agent_ids
        clause = f"({clause} OR e.agent_id = ANY(:agent_ids))"
    return clause


# --------------------------------------------------------------------------- filters


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _date_filters(parsed) -> list[tuple[str, str]]:
    """Normalise the parser's date filters to (operator, 'YYYY-MM-DD') pairs."""
    out = []
    for item in getattr(parsed, "date_filters", None) or []:
        if isinstance(item, (tuple, list)) and len(item) == 2:
            op, value = item
        else:
            op, value = getattr(item, "operator", getattr(item, "op", None)), getattr(item, "date", None)
        if op is None or value is None:
            continue
        value = value.isoformat() if hasattr(value, "isoformat") else str(value)
        out.append((str(op), value[:10]))
    return out


_DATE_OPS = {">=": ">=", "<=": "<=", ">": ">", "<": "<", "=": "=", ":": "=", "==": "="}


def filter_sql(parsed, file_type: str | None, params: dict) -> list[str]:
    """SQL conditions (on alias e) for Khoj's query filters; every value is a bound parameter."""
    from .query_filters import glob_to_like

    clauses = []
    if file_type:
        params["ftype"] = file_type
        clauses.append("e.file_type = :ftype")
    for i, word in enumerate(getattr(parsed, "include_words", []) or []):
        params[f"iw{i}"] = f"%{_like_escape(word)}%"
        clauses.append(f"e.compiled ILIKE :iw{i} ESCAPE '\\'")
    for i, word in enumerate(getattr(parsed, "exclude_words", []) or []):
        params[f"xw{i}"] = f"%{_like_escape(word)}%"
        clauses.append(f"e.compiled NOT ILIKE :xw{i} ESCAPE '\\'")
    includes = []
    for i, glob in enumerate(getattr(parsed, "include_files", []) or []):
        params[f"if{i}"] = glob_to_like(glob)
        includes.append(f"e.file_path LIKE :if{i} ESCAPE '\\'")
    if includes:
        clauses.append("(" + " OR ".join(includes) + ")")
    for i, glob in enumerate(getattr(parsed, "exclude_files", []) or []):
        params[f"xf{i}"] = glob_to_like(glob)
        clauses.append(f"e.file_path NOT LIKE :xf{i} ESCAPE '\\'")
    for i, (op, value) in enumerate(_date_filters(parsed)):
        sql_op = _DATE_OPS.get(op)
        if sql_op is None:
            continue
        params[f"dt{i}"] = value
        # Khoj filters on dates written in the entry. ISO dates compare correctly as strings,
        # so no cast can fail on an impossible date like 2024-13-45.
        clauses.append(
            f"EXISTS (SELECT 1 FROM regexp_matches(e.compiled, '{_ISO_DATE}', 'g') AS m(d) WHERE m.d[1] {sql_op} :dt{i})"
        )
    return clauses


def ts_query_text(text: str) -> str:
    """The query's words OR-ed for to_tsquery: only letters and digits, so no tsquery syntax gets through."""
    words = _WORD.findall(text.lower())
    seen: list[str] = []
    for word in words:
        if word not in seen:
            seen.append(word)
    return " | ".join(seen[:MAX_TS_TERMS])


# --------------------------------------------------------------------------- search


def _parse(query: str):
    from .query_filters import QueryFilterError, parse_query

    try:
        return parse_query(query)
    except QueryFilterError as exc:
        raise SearchError(str(exc), 422) from exc


def search(
    user,
    query: str,
    n: int = 5,
    file_type: str | None = None,
    max_distance: float | None = None,
    dedupe: bool = True,
    agent=None,
    mode: str = "hybrid",
    timings: dict | None = None,
    tuning: Tuning | None = None,
) -> list[SearchResult]:
    """The caller's best `n` entries for `query` (see the module doc). `timings` gets embed_ms / sql_ms."""
    tuning = tuning or TUNING
    if mode not in MODES:
        raise SearchError(f"Unknown search mode {mode!r}; use one of {', '.join(MODES)}.")
    query = (query or "").replace("\x00", " ")
    if len(query) > MAX_QUERY_LENGTH:
        raise SearchError(f"The query is longer than {MAX_QUERY_LENGTH} characters.")
    n = max(1, min(int(n), MAX_RESULTS))
    parsed = _parse(query)
    text = (parsed.text or "").strip()

    params: dict = {}
    owner = _owner_sql(user, readable_agent_ids(user, agent), params)
    conditions = [owner]
    conditions += filter_sql(parsed, file_type, params)
    where = " AND ".join(conditions)

    config = active_search_model()
    started = time.perf_counter()
    vector = embedder_for(config).embed_query(text) if text and mode != "fulltext" else None
    embedded = time.perf_counter()
    tsq = ts_query_text(text) if mode != "dense" else ""
    params["tsq"] = tsq
    limit = max(tuning.candidates, n * 3 if dedupe else n)

    dense: list[int] = []
    lexical: list[int] = []
    if vector is not None:
        db.session.execute(sa.text("SELECT set_config('hnsw.ef_search', :ef, true)"),
                           {"ef": str(max(tuning.ef_search, limit))})
        db.session.execute(sa.text("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)"))
        dense = [row[0] for row in db.session.execute(
            sa.text(
                f"SELECT id FROM (SELECT e.id, e.embeddings <=> :qvec AS distance FROM entry e WHERE {where} "
                "ORDER BY e.embeddings <=> :qvec LIMIT :limit) d ORDER BY distance"
            ).bindparams(sa.bindparam("qvec", type_=Vector(EMBEDDING_DIMENSIONS))),
            {**params, "qvec": vector, "limit": limit},
        )]
    if tsq:
        # The planner prices `search_vector @@ q` as cheap and picks a sequential scan once a query's
        # words match a few percent of the entries, but every row it tests is a TOASTed tsvector to
        # decompress: the GIN bitmap scan measured 2-3x faster on SciFact (24 ms against 61 ms).
        db.session.execute(sa.text("SELECT set_config('enable_seqscan', 'off', true)"))
        # The matched entries' tsvectors stay in memory: at the default 4 MB they spilled to disk and
        # the full-text p50 on the latency bench was 174 ms, 134 ms with 32 MB.
        db.session.execute(sa.text("SELECT set_config('work_mem', '32MB', true)"))
        filters = " AND ".join(conditions[1:]) or "TRUE"
        lexical = [row[0] for row in db.session.execute(
            sa.text(_LEXICAL_SQL.format(filters=filters, owner=owner)),
            {**params, "limit": limit, "norm": tuning.rank_normalization,
             "entries": _searchable_entries(owner, params)},
        )]
        db.session.execute(sa.text("SELECT set_config('enable_seqscan', 'on', true)"))
    if not text:
        # Only filters (or nothing): the newest matching entries.
        lexical = [row[0] for row in db.session.execute(
            sa.text(f"SELECT e.id FROM entry e WHERE {where} ORDER BY e.updated_at DESC, e.id LIMIT :limit"),
            {**params, "limit": limit},
        )]

    fused = fuse(dense if mode != "fulltext" else [], lexical if mode != "dense" or not text else [], tuning)
    ranked_ids = [entry_id for entry_id, _ in fused]
    wanted = ranked_ids[: n * 3 if (dedupe or max_distance is not None) else n]
    rows = _load(wanted, vector, tsq) if wanted else {}
    finished = time.perf_counter()
    if timings is not None:
        timings["embed_ms"] = (embedded - started) * 1000
        timings["sql_ms"] = (finished - embedded) * 1000

    dense_rank = {entry_id: i + 1 for i, entry_id in enumerate(dense)}
    text_rank = {entry_id: i + 1 for i, entry_id in enumerate(lexical)}
    results: list[SearchResult] = []
    seen: set[str] = set()
    for entry_id, score in fused:
        row = rows.get(entry_id)
        if row is None:
            continue
        distance = float(row.distance) if row.distance is not None else 1.0
        if max_distance is not None and distance > max_distance:
            continue
        if dedupe:
            if row.compiled in seen:
                continue
            seen.add(row.compiled)
        results.append(SearchResult(
            id=row.id, entry=row.raw, compiled=row.compiled, heading=row.heading, file_path=row.file_path,
            file_type=row.file_type, file_source=row.file_source, url=row.url, corpus_id=str(row.corpus_id),
            distance=distance, fused=score, snippet=highlight(_without_heading(row.snippet, row.heading)), dense_rank=dense_rank.get(entry_id),
            text_rank=text_rank.get(entry_id),
        ))
        if len(results) >= n:
            break
    return results


# BM25-style full-text ranking in one statement. The statistics (entry count, each lexeme's document
# frequency) are over the searchable entries of the caller, without the query's filters, as BM25's
# corpus statistics are: a filter narrows what is returned, not how rare a word is. A lexeme's
# document frequency is counted on `matched` — the caller's entries holding any query word — which
# is exact (an entry holding the lexeme holds a query word) and reads no row twice. Each matched
# tsvector is decompressed once (`|| ''`): `ts_rank` per lexeme on the stored, TOASTed value would
# decompress it again for every lexeme. `ts_rank` of a one-lexeme query grows with the lexeme's
# frequency in the entry and saturates (1, 1.25, 1.36, … of the first occurrence's weight), like
# BM25's tf term; normalisation 1 divides by 1 + log2 of the entry's length. `terms` is materialised
# so each lexeme's tsquery is built once, not once per matched row (212 → 174 ms p50 on the bench).
_LEXICAL_SQL = """
WITH terms AS MATERIALIZED (
    SELECT plainto_tsquery('simple', t.lexeme) AS q FROM unnest(to_tsvector('english', :tsq)) AS t
), matched AS MATERIALIZED (
    SELECT e.id, e.search_vector || ''::tsvector AS v, ({filters}) AS wanted
    FROM entry e WHERE e.search_vector @@ to_tsquery('english', :tsq) AND {owner}
), weights AS MATERIALIZED (
    SELECT terms.q, ln(1 + (greatest(:entries, df.n) - df.n + 0.5) / (df.n + 0.5)) AS idf
    FROM terms CROSS JOIN LATERAL (SELECT count(*) AS n FROM matched m WHERE m.v @@ terms.q) AS df
    WHERE df.n > 0
)
SELECT m.id FROM matched m WHERE m.wanted
ORDER BY (SELECT sum(w.idf * ts_rank(m.v, w.q, :norm)) FROM weights w) DESC, m.id
LIMIT :limit
"""

def _searchable_entries(owner: str, params: dict) -> int:
    """How many entries the caller can search (BM25's N), remembered for a minute (see indexing.ENTRY_COUNTS)."""
    key = (params["uid"], tuple(params.get("agent_ids") or ()))
    now = time.monotonic()
    cached = ENTRY_COUNTS.get(key)
    if cached is None or now - cached[0] > ENTRY_COUNT_TTL:
        count = db.session.execute(sa.text(f"SELECT count(*) FROM entry e WHERE {owner}"), params).scalar_one()
        cached = ENTRY_COUNTS[key] = (now, int(count))
    return cached[1]


def fuse(dense: list[int], lexical: list[int], tuning: Tuning) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of two ranked id lists, best first (ties broken by dense order)."""
    scores: dict[int, float] = {}
    for weight, ids in ((tuning.dense_weight, dense), (tuning.text_weight, lexical)):
        for rank, entry_id in enumerate(ids, start=1):
            scores[entry_id] = scores.get(entry_id, 0.0) + weight / (tuning.rrf_k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def _load(ids: list[int], vector, tsq: str) -> dict:
    """Fetch the fused candidates with exact distance and a highlighted snippet."""
    params = {"ids": ids, "tsq": tsq or "", "start": _HL_START, "stop": _HL_STOP, "angles": _ANGLES,
              "qvec": vector}
    distance = "e.embeddings <=> :qvec" if vector is not None else "NULL::float"
    statement = sa.text(
        "SELECT e.id, e.raw, e.compiled, e.heading, e.file_path, e.file_type, e.file_source, e.url, e.corpus_id, "
        f"{distance} AS distance, "
        "CASE WHEN :tsq = '' THEN left(e.raw, 400) ELSE ts_headline('english', "
        # < and > swapped out first, or ts_headline would drop anything that looks like an HTML tag.
        "translate(e.raw, '<>', :angles), to_tsquery('english', :tsq), "
        "CASE WHEN length(e.raw) <= 600 THEN 'HighlightAll=true, ' ELSE "
        "'MaxFragments=3, MinWords=15, MaxWords=35, FragmentDelimiter=\" … \", ' END "
        "|| 'StartSel=' || :start || ', StopSel=' || :stop) END AS snippet "
        "FROM entry e WHERE e.id = ANY(:ids)"
    )
    if vector is not None:
        statement = statement.bindparams(sa.bindparam("qvec", type_=Vector(EMBEDDING_DIMENSIONS)))
    else:
        params.pop("qvec")
    return {row.id: row for row in db.session.execute(statement, params)}


def _without_heading(snippet: str | None, heading: str | None) -> str | None:
    """Drop the section's own heading line from the snippet: the page shows it as the title."""
    if not snippet or not heading:
        return snippet
    first, _, rest = snippet.partition("\n")
    plain = first.replace(_HL_START, "").replace(_HL_STOP, "").strip()
    if rest and plain == heading.splitlines()[-1].strip():
        return rest
    return snippet


def heading_trail(heading: str | None) -> list[str]:
    """'# A\n## B' → ['A', 'B'] (markdown # and org * markers removed) for a breadcrumb."""
    return [line.lstrip("#*").strip() for line in (heading or "").splitlines() if line.strip()]


def highlight(snippet: str | None) -> Markup:
    """Escape the snippet, then turn the highlight markers into <mark> (a stray marker in a note only adds a <mark>)."""
    if not snippet:
        return Markup("")
    text = snippet.replace(_ANGLES[0], "<").replace(_ANGLES[1], ">")
    escaped = html.escape(text, quote=True)
    return Markup(escaped.replace(_HL_START, "<mark>").replace(_HL_STOP, "</mark>"))
