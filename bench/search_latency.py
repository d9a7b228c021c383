"""Search latency at scale: one user's 100,000 entries among 1,000,000, HNSW recall against exact search.

    .venv/bin/python bench/search_latency.py                      # 1,000,000 rows, 100,000 for the user
    .venv/bin/python bench/search_latency.py --total 300000       # fewer rows on a slow machine (say so!)

Data (made once, reused while --total/--user-rows match), as close to real notes as this machine can make:
  * the searching user's 100,000 entries are real texts with their real all-MiniLM-L6-v2 embeddings —
    the SciFact titles, every abstract sentence, then runs of two and three consecutive sentences
    (125,687 distinct texts to choose from; the embeddings are cached in /tmp/khoj-bench);
  * the other 900,000 rows (9 users) sit where other people's notes on the same subjects would: a real
    text's embedding moved a random 0–50% towards another sentence of the same abstract, plus Gaussian
    noise (σ 0.01 per dimension), re-normalised, with that real text. Rows are generated inside
    PostgreSQL (generate_series), then the HNSW (m=16, ef_construction=64) and GIN indexes are built;
    build times are printed.
Queries are the SciFact queries (real questions, never part of the data). An earlier generator put
synthetic rows in tight clumps around a few thousand centres: top-1 to top-50 distances then differ by
~0.03 and "recall against exact" measures ties (it gave 0.62 at ef_search 100), not the index.

Prints p50/p95 of:
  * GET /api/search end to end (real HTTP on 127.0.0.1, Bearer token, hybrid search, n=5),
  * the query embedding alone (uncached),
  * the SQL alone (dense + full text + snippet load, from the service's own timings),
  * HNSW recall@10 of the service's dense query against exact search (sequential scan) for the user.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_quality import bench_app, bench_user, percentile  # noqa: E402

SCIFACT = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "scifact"
USER_EMAIL = "bench-latency@example.com"
OTHER_USERS = 9
NOISE = 0.01  # per-dimension sigma of the noise on other users' rows (cosine ≈ 0.98 to the point it moves)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_texts_and_queries(folder: Path, wanted: int):
    """Distinct real texts (titles and sentences first, then 2- and 3-sentence runs) with, for each,
    the index of another text of the same abstract (its "partner"); and the queries."""
    levels: list[list[tuple[str, int]]] = [[], [], []]  # (text, document number)
    with open(folder / "corpus.jsonl", encoding="utf-8") as fh:
        for number, line in enumerate(fh):
            doc = json.loads(line)
            sentences = [s for s in re.split(r"(?<=[.!?])\s+", doc["text"]) if len(s.split()) >= 4]
            levels[0] += [(doc["title"], number)] + [(s, number) for s in sentences]
            levels[1] += [(" ".join(sentences[i:i + 2]), number) for i in range(len(sentences) - 1)]
            levels[2] += [(" ".join(sentences[i:i + 3]), number) for i in range(len(sentences) - 2)]
    seen, texts, docs = set(), [], []
    for level in levels:
        for text, number in level:
            if text not in seen and len(texts) < wanted:
                seen.add(text)
                texts.append(text)
                docs.append(number)
    if len(texts) < wanted:
        raise SystemExit(f"only {len(texts)} distinct texts in {folder}; ask for --user-rows {len(texts)} or fewer")
    by_doc: dict[int, list[int]] = {}
    for i, number in enumerate(docs):
        by_doc.setdefault(number, []).append(i)
    partners = []
    for i, number in enumerate(docs):
        siblings = by_doc[number]
        partners.append(siblings[(siblings.index(i) + 1) % len(siblings)])
    queries = []
    with open(folder / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            queries.append(json.loads(line)["text"])
    return texts, partners, queries


def base_vectors(embedder, texts: list[str]) -> np.ndarray:
    """The real embeddings of ``texts``, cached beside the bench database (minutes to compute)."""
    cache = Path(os.environ.get("BENCH_PGDATA", "/tmp/khoj-bench")) / f"latency-base-{len(texts)}.npy"
    if cache.exists():
        vectors = np.load(cache)
        if vectors.shape == (len(texts), 384):
            return vectors
    log(f"embedding {len(texts):,} real texts (once; cached in {cache})")
    started = time.perf_counter()
    vectors = np.asarray(embedder.embed_documents(texts), dtype=np.float32)
    log(f"embedded in {time.perf_counter() - started:.0f} s ({len(texts) / (time.perf_counter() - started):.0f}/s)")
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def generate(db, users, total: int, texts: list[str], partners: list[int], vectors: np.ndarray) -> None:
    import sqlalchemy as sa

    conn = db.session.connection()
    log("dropping indexes and old rows")
    conn.execute(sa.text("DROP INDEX IF EXISTS ix_entry_embeddings_hnsw"))
    conn.execute(sa.text("DROP INDEX IF EXISTS ix_entry_search_vector"))
    conn.execute(sa.text("DELETE FROM entry WHERE user_id = ANY(:ids)"), {"ids": [u.id for u in users]})
    conn.execute(sa.text("CREATE TEMP TABLE base (id int PRIMARY KEY, partner int, v vector(384), txt text)"))
    rows = [{"id": i, "p": partners[i], "v": "[" + ",".join(f"{x:.7f}" for x in vectors[i]) + "]", "t": texts[i]}
            for i in range(len(texts))]
    for start in range(0, len(rows), 5000):
        conn.execute(sa.text("INSERT INTO base VALUES (:id, :p, :v, :t)"), rows[start:start + 5000])
    db.session.commit()
    log(f"user {users[0].id}: {len(texts)} real entries")
    db.session.execute(sa.text("""
        INSERT INTO entry (user_id, embeddings, raw, compiled, heading, file_type, file_source,
                           file_path, file_name, hashed_value)
        SELECT CAST(:uid AS bigint), b.v, b.txt, b.txt, 'Section ' || (b.id % 50), 'markdown', 'computer',
               'notes/file-' || (b.id / 20) || '.md', 'file-' || (b.id / 20) || '.md', md5(b.txt)
        FROM base b
    """), {"uid": users[0].id})
    db.session.commit()
    rest = total - len(texts)
    plan = [(other.id, rest // len(users[1:]) + (1 if i < rest % len(users[1:]) else 0))
            for i, other in enumerate(users[1:])]
    batch = 50_000
    for uid, rows_wanted in plan:
        done = 0
        while done < rows_wanted:
            size = min(batch, rows_wanted - done)
            started = time.perf_counter()
            # Gaussian noise by Box-Muller; the correlated subqueries reference g so they run per row.
            db.session.execute(sa.text("""
                INSERT INTO entry (user_id, embeddings, raw, compiled, heading, file_type, file_source,
                                   file_path, file_name, hashed_value)
                SELECT CAST(:uid AS bigint),
                       l2_normalize(a.v
                                    + (p.v - a.v) * array_fill((random() / 2 + 0 * g)::real, ARRAY[384])::vector
                                    + (SELECT array_agg(CAST(:noise AS float8) * sqrt(-2 * ln(1 - random()))
                                                         * cos(2 * pi() * random()))
                                           FROM generate_series(1, 384 + 0 * g))::vector),
                       a.txt, a.txt, 'Section ' || (g % 50), 'markdown', 'computer',
                       'notes/file-' || (g / 20) || '.md', 'file-' || (g / 20) || '.md', md5(a.txt || g)
                FROM generate_series(CAST(:start AS int), CAST(:stop AS int)) g
                JOIN base a ON a.id = (hashtext(g::text || CAST(:uid AS text)) & 2147483647) % CAST(:nbase AS int)
                JOIN base p ON p.id = a.partner
            """), {"uid": uid, "noise": NOISE, "start": done, "stop": done + size - 1, "nbase": len(texts)})
            db.session.commit()
            done += size
            log(f"user {uid}: {done}/{rows_wanted} rows ({size / (time.perf_counter() - started):.0f} rows/s)")


def build_indexes(db) -> dict:
    import sqlalchemy as sa

    times = {}
    conn = db.session.connection()
    conn.execute(sa.text("SET maintenance_work_mem = '6GB'"))
    conn.execute(sa.text("SET max_parallel_maintenance_workers = 1"))  # 2 cores: leader + 1 worker
    for name, ddl in (
        ("hnsw", "CREATE INDEX IF NOT EXISTS ix_entry_embeddings_hnsw ON entry USING hnsw "
                 "(embeddings vector_cosine_ops) WITH (m = 16, ef_construction = 64)"),
        ("gin", "CREATE INDEX IF NOT EXISTS ix_entry_search_vector ON entry USING gin (search_vector)"),
    ):
        log(f"building the {name} index")
        started = time.perf_counter()
        conn.execute(sa.text(ddl))
        db.session.commit()
        times[name] = time.perf_counter() - started
        log(f"{name} index built in {times[name]:.0f} s")
        conn = db.session.connection()
    conn.execute(sa.text("ANALYZE entry"))
    db.session.commit()
    return times


def exact_ids(db, user, vector, k: int = 10) -> list[int]:
    import sqlalchemy as sa
    from pgvector.sqlalchemy import Vector

    conn = db.session.connection()
    conn.execute(sa.text("SET LOCAL enable_indexscan = off"))
    conn.execute(sa.text("SET LOCAL enable_bitmapscan = on"))
    rows = conn.execute(
        sa.text("SELECT id FROM entry WHERE user_id = :uid AND agent_id IS NULL "
                "ORDER BY embeddings <=> :q LIMIT :k").bindparams(sa.bindparam("q", type_=Vector(384))),
        {"uid": user.id, "q": vector, "k": k},
    ).scalars().all()
    db.session.rollback()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--user-rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--beir", type=Path, default=SCIFACT)
    parser.add_argument("--ef-search", type=int, nargs="*", default=[], help="also report recall at these ef_search")
    args = parser.parse_args()

    import requests
    import sqlalchemy as sa
    from werkzeug.serving import make_server

    from portal.extensions import db
    from portal.search import services
    from portal.search.indexing import active_search_model, embedder_for

    app = bench_app("portal_bench_latency")
    texts, partners, queries = load_texts_and_queries(args.beir, args.user_rows)
    rng = random.Random(7)
    with app.app_context():
        user = bench_user(USER_EMAIL)
        others = [bench_user(f"bench-other-{i}@example.com") for i in range(OTHER_USERS)]
        embedder = embedder_for(active_search_model())
        have_total = db.session.execute(sa.text("SELECT count(*) FROM entry")).scalar_one()
        have_user = db.session.execute(sa.text("SELECT count(*) FROM entry WHERE user_id = :u"),
                                       {"u": user.id}).scalar_one()
        log(f"{os.cpu_count()} cores; entry rows: {have_total} total, {have_user} for the user")
        if args.regenerate or have_total != args.total or have_user != args.user_rows:
            vectors = base_vectors(embedder, texts)
            generate(db, [user] + others, args.total, texts, partners, vectors)
            build_times = build_indexes(db)
            print(f"index build: HNSW {build_times['hnsw']:.0f} s, GIN {build_times['gin']:.0f} s")
        else:
            build_indexes(db)  # no-op when present
        from portal.auth import generate_token, hash_token, token_hint
        from portal.models import KhojApiUser

        token = generate_token()
        db.session.add(KhojApiUser(user=user, token_hash=hash_token(token), token_hint=token_hint(token),
                                   name="latency bench"))
        db.session.commit()
        user_id = user.id

    sample = rng.sample(queries, min(len(queries), args.queries * 2 + 20))
    warm, e2e_queries, sql_queries = sample[:20], sample[20:20 + args.queries], sample[20 + args.queries:]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}/api/search"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for q in warm:
        session.get(base, params={"q": q, "n": 5}).raise_for_status()
    e2e = []
    for q in e2e_queries:
        started = time.perf_counter()
        response = session.get(base, params={"q": q, "n": 5})
        e2e.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    server.shutdown()

    with app.app_context():
        from portal.models import KhojUser

        user = db.session.get(KhojUser, user_id)
        embed_ms, sql_ms, recalls = [], [], []
        extra = {ef: [] for ef in args.ef_search}
        for q in sql_queries:
            started = time.perf_counter()
            embedder._embed_batch([q])  # uncached
            embed_ms.append((time.perf_counter() - started) * 1000)
        # The embedding is cached by the loop above, so sql_ms is the statements alone, per mode.
        mode_ms: dict[str, list[float]] = {"dense": [], "fulltext": []}
        for q in sql_queries:
            timings: dict = {}
            services.search(user, q, n=5, timings=timings)
            db.session.rollback()
            sql_ms.append(timings["sql_ms"])
            for mode, values in mode_ms.items():
                services.search(user, q, n=5, timings=timings, mode=mode)
                db.session.rollback()
                values.append(timings["sql_ms"])
        for q in sql_queries[:100]:
            vector = embedder.embed_query(q)
            truth = exact_ids(db, user, vector)
            got = [r.id for r in services.search(user, q, n=10, mode="dense", dedupe=False)]
            db.session.rollback()
            recalls.append(len(set(got) & set(truth)) / max(1, len(truth)))
            for ef in extra:
                t = services.Tuning(ef_search=ef, candidates=min(ef, services.TUNING.candidates))
                got = [r.id for r in services.search(user, q, n=10, mode="dense", dedupe=False, tuning=t)]
                db.session.rollback()
                extra[ef].append(len(set(got) & set(truth)) / max(1, len(truth)))
        total = db.session.execute(sa.text("SELECT count(*) FROM entry")).scalar_one()

    print(f"\nrows: {total} total, {args.user_rows} for the searching user; {os.cpu_count()} cores; "
          f"ef_search={services.TUNING.ef_search}, candidates={services.TUNING.candidates}")
    print(f"{'measure':<28} {'p50 ms':>8} {'p95 ms':>8}")
    for name, values in (("/api/search end to end", e2e), ("query embedding alone", embed_ms),
                         ("SQL alone (hybrid)", sql_ms), ("SQL alone (dense only)", mode_ms["dense"]),
                         ("SQL alone (full text only)", mode_ms["fulltext"])):
        print(f"{name:<28} {percentile(values, 50):>8.2f} {percentile(values, 95):>8.2f}")
    print(f"HNSW recall@10 vs exact: {sum(recalls) / len(recalls):.4f} (over {len(recalls)} queries)")
    for ef, values in extra.items():
        print(f"  at ef_search={ef}: {sum(values) / len(values):.4f}")
    budget = percentile(embed_ms, 50) + percentile(sql_ms, 50)
    print(f"goals: recall ≥ 0.95; SQL p50 < 10 ms; e2e p50 {percentile(e2e, 50):.1f} < 2 × {budget:.1f} ms")


if __name__ == "__main__":
    main()
