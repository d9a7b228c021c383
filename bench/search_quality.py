"""Search quality on BEIR SciFact: nDCG@10 and recall@10 for dense, full-text and hybrid.

    .venv/bin/python bench/search_quality.py --beir ../shared/datasets/scifact --split test
    .venv/bin/python bench/search_quality.py --beir ../shared/datasets/scifact --split train --tune

Indexes the corpus (title + " " + text per document, one plaintext file per document) as one user
through portal.search.indexing.index_document — re-running reuses the index, since unchanged files
embed nothing — then runs every query of the split through portal.search.services.search, the service
behind /api/search. A document's rank is the rank of its best chunk.

--tune: candidate lists are fetched once per query through the service (dense and full-text modes),
then reciprocal rank fusion parameters are swept offline on those lists; the best setting is printed.

Database: BENCH_DATABASE_URL, or an embedded PostgreSQL in /tmp/khoj-bench (kept between runs).
"""
from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_EMAIL = "bench-scifact@example.com"


# --------------------------------------------------------------------------- shared with the other benches


def bench_app(database: str = "portal_bench", **overrides):
    """The portal app on a benchmark database (migrated, defaults seeded); rate limits lifted."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.core.defaults import ensure_defaults

    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        from portal.database import ensure_database, start_embedded

        base = Path(os.environ.get("BENCH_PGDATA", "/tmp/khoj-bench"))
        url = start_embedded(base / "pgdata", database=database)
    else:
        from sqlalchemy.engine import make_url

        from portal.database import ensure_database

        ensure_database(make_url(url).set(database="postgres").render_as_string(hide_password=False), database)
        url = make_url(url).set(database=database).render_as_string(hide_password=False)
    config = {
        "SQLALCHEMY_DATABASE_URI": url, "PORTAL_AUTO_MIGRATE": False, "SERVER_NAME": None,
        "SEARCH_RATE_LIMIT": (10**9, 60), "API_SEARCH_RATE_LIMIT": (10**9, 60), "INDEX_RATE_LIMIT": (10**9, 60),
        "DB_STATEMENT_TIMEOUT_MS": 3_600_000, "LOG_LEVEL": "WARNING",
    }
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        from portal.extensions import db
        import sqlalchemy as sa

        db.session.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
        db.session.commit()
        upgrade()
        ensure_defaults()
    return app


def bench_user(email: str):
    from portal.accounts.services import create_user, find_user_by_email
    from portal.extensions import db

    user = find_user_by_email(email)
    if user is None:
        user = create_user(email, None)
        db.session.commit()
    return user


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --------------------------------------------------------------------------- data


def load_beir(folder: Path, split: str):
    corpus = {}
    with open(folder / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            corpus[doc["_id"]] = (doc.get("title") or "", doc.get("text") or "")
    queries = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            q = json.loads(line)
            queries[q["_id"]] = q["text"]
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")  # csv handles the CRLF line endings
        next(reader)
        for row in reader:
            if len(row) < 3:
                continue
            qid, doc_id, score = row[0].strip(), row[1].strip(), int(row[2].strip())
            if score > 0:
                qrels.setdefault(qid, {})[doc_id] = score
    return corpus, {qid: queries[qid] for qid in qrels}, qrels


def doc_path(doc_id: str) -> str:
    return f"scifact/{doc_id}.txt"


def index_corpus(user, corpus, budget: float = 0) -> dict:
    """Index documents in the given order; with `budget` seconds, stop there (a subset corpus)."""
    from portal.search.indexing import index_document

    started = time.perf_counter()
    totals = {"files": 0, "chunks": 0, "added": 0}
    for i, (doc_id, (title, text)) in enumerate(corpus.items(), 1):
        if budget and time.perf_counter() - started > budget:
            print(f"  time budget reached: {i - 1} of {len(corpus)} documents indexed", flush=True)
            break
        result = index_document(user, file_path=doc_path(doc_id), data=f"{title} {text}".encode("utf-8"))
        totals["files"] += 1
        totals["chunks"] += result.chunks_total
        totals["added"] += result.chunks_added
        if i % 500 == 0:
            print(f"  indexed {i}/{len(corpus)} ({time.perf_counter() - started:.0f} s)", flush=True)
    totals["seconds"] = time.perf_counter() - started
    return totals


# --------------------------------------------------------------------------- metrics


def ndcg_at_k(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_k(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def doc_ids(results) -> list[str]:
    """Collapse chunks to documents, keeping each document's best rank."""
    seen: list[str] = []
    for r in results:
        doc = (r.file_path or "").rsplit("/", 1)[-1].removesuffix(".txt")
        if doc not in seen:
            seen.append(doc)
    return seen


def evaluate(runs: dict[str, list[str]], qrels) -> tuple[float, float]:
    n = [ndcg_at_k(runs[q], qrels[q]) for q in qrels]
    r = [recall_at_k(runs[q], qrels[q]) for q in qrels]
    return sum(n) / len(n), sum(r) / len(r)


def run_mode(user, queries, mode: str, n: int = 30, tuning=None) -> tuple[dict[str, list[str]], list[float]]:
    from portal.extensions import db
    from portal.search.services import search

    runs, times = {}, []
    for qid, text in queries.items():
        started = time.perf_counter()
        results = search(user, text, n=n, mode=mode, dedupe=False, tuning=tuning)
        times.append((time.perf_counter() - started) * 1000)
        runs[qid] = doc_ids(results)
        db.session.rollback()  # end the read transaction (SET LOCAL settings go with it)
    return runs, times


def tune(user, queries, qrels) -> None:
    """Sweep fusion parameters offline on lists fetched once through the service."""
    from portal.search.services import TUNING, Tuning, fuse

    lists = {}
    for norm in (0, 1, 16):
        t = Tuning(candidates=100, rank_normalization=norm)
        lists[norm], _ = run_mode(user, queries, "fulltext", n=50, tuning=t)
    dense, _ = run_mode(user, queries, "dense", n=50, tuning=Tuning(candidates=100, ef_search=200))
    print("\nfull-text alone by ts_rank normalisation:")
    for norm, runs in lists.items():
        print(f"  norm={norm:<3} nDCG@10={evaluate(runs, qrels)[0]:.4f}")
    rows = []
    for norm, k, w in itertools.product(lists, (3, 5, 10, 20, 60), (0.5, 0.8, 1.0, 1.3, 1.6, 2.0)):
        t = Tuning(rrf_k=k, dense_weight=1.0, text_weight=w)
        runs = {}
        for qid in qrels:
            # Fusion on documents (ids here are doc ids), the same formula the service applies to entries.
            ids = {d: i for i, d in enumerate(dict.fromkeys(dense[qid] + lists[norm][qid]))}
            back = {i: d for d, i in ids.items()}
            fused = fuse([ids[d] for d in dense[qid]], [ids[d] for d in lists[norm][qid]], t)
            runs[qid] = [back[i] for i, _ in fused]
        ndcg, recall = evaluate(runs, qrels)
        rows.append((ndcg, recall, norm, k, w))
    rows.sort(reverse=True)
    print("\nbest fusion settings (nDCG@10, recall@10, ts_rank norm, rrf_k, text weight):")
    for ndcg, recall, norm, k, w in rows[:10]:
        print(f"  {ndcg:.4f}  {recall:.4f}  norm={norm} k={k} w={w}")
    print(f"current defaults: {TUNING}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--beir", type=Path, required=True, help="folder with corpus.jsonl, queries.jsonl, qrels/")
    parser.add_argument("--split", choices=("test", "train"), default="test")
    parser.add_argument("--tune", action="store_true", help="sweep fusion parameters (use with --split train)")
    parser.add_argument("--limit-docs", type=int, default=0, help="index only the first N documents (smoke runs)")
    parser.add_argument("--relevant-first", action="store_true",
                        help="index the split's relevant documents first (for a subset run under --budget)")
    parser.add_argument("--budget", type=float, default=0,
                        help="stop indexing after this many seconds and evaluate on the indexed subset")
    args = parser.parse_args()

    corpus, queries, qrels = load_beir(args.beir, args.split)
    if args.limit_docs:
        corpus = dict(itertools.islice(corpus.items(), args.limit_docs))
    if args.relevant_first:
        wanted = [d for rel in qrels.values() for d in rel if d in corpus]
        corpus = {**{d: corpus[d] for d in wanted}, **corpus}
    app = bench_app()
    with app.app_context():
        user = bench_user(BENCH_EMAIL)
        print(f"SciFact: {len(corpus)} documents, {len(queries)} {args.split} queries, {os.cpu_count()} cores")
        totals = index_corpus(user, corpus, args.budget)
        from portal.models import FileObject
        import sqlalchemy as sa
        from portal.extensions import db

        searched = db.session.execute(sa.select(sa.func.count()).select_from(FileObject)
                                      .where(FileObject.user_id == user.id)).scalar_one()
        if searched < len(corpus):
            print(f"NOTE: searching a SUBSET corpus of {searched} documents (all relevant ones first + distractors); "
                  "scores are not comparable with full-corpus references")
        print(f"indexed {totals['files']} files → {totals['chunks']} chunks "
              f"({totals['added']} embedded this run) in {totals['seconds']:.1f} s")
        if args.tune:
            tune(user, queries, qrels)
            return
        run_mode(user, dict(itertools.islice(queries.items(), 5)), "hybrid")  # warm the model and caches
        print(f"\n{'mode':<10} {'nDCG@10':>8} {'recall@10':>10} {'p50 ms':>8} {'p95 ms':>8}")
        for mode in ("dense", "fulltext", "hybrid"):
            runs, times = run_mode(user, queries, mode)
            ndcg, recall = evaluate(runs, qrels)
            print(f"{mode:<10} {ndcg:>8.4f} {recall:>10.4f} {percentile(times, 50):>8.1f} {percentile(times, 95):>8.1f}")
        print("\nreferences (SciFact test): all-MiniLM-L6-v2 dense 0.645, BM25 0.665, BM25+CE 0.688; goal hybrid ≥ 0.70")


if __name__ == "__main__":
    main()
