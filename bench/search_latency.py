"""Search latency at scale: one user's 100,000 entries among 1,000,000, HNSW recall against exact search.

    .venv/bin/python bench/search_latency.py                      # 1,000,000 rows, 100,000 for the user
    .venv/bin/python bench/search_latency.py --total 300000       # fewer rows on a slow machine (say so!)

Data (made once, reused while --total/--user-rows match): vectors that lie where real sentence
embeddings lie — the all-MiniLM-L6-v2 embeddings of the 5,183 SciFact titles are the anchors, and each
row is an anchor moved by random amounts (0–0.25 each) towards its 8 nearest anchors, plus a little
Gaussian noise (σ 0.002 per dimension), re-normalised: points of the local 8-dimensional span between
neighbouring real sentences. Real embeddings fill a low-dimensional shape; isotropic noise around a few
centres (the first generator) makes every row of a cluster almost equidistant from any query, a
degenerate case where "recall against exact" measures ties, not the index. Texts are drawn from the SciFact vocabulary so full-text search has work to do. Rows are generated inside PostgreSQL
(generate_series), then the HNSW (m=16, ef_construction=64) and GIN indexes are built; build times
are printed.

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
NOISE = 0.002  # per-dimension sigma of the noise added to a point between neighbouring anchors
NEIGHBOURS = 8


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_titles_and_queries(folder: Path):
    titles, words = [], set()
    with open(folder / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            titles.append(doc["title"])
            words.update(w.strip(".,;:()[]").lower() for w in (doc["title"] + " " + doc["text"][:400]).split())
    queries = []
    with open(folder / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            queries.append(json.loads(line)["text"])
    vocab = sorted(w for w in words if w.isalpha() and 3 <= len(w) <= 14)
    return titles, queries, vocab


def generate(db, users, total: int, user_rows: int, centres: np.ndarray, vocab: list[str]) -> None:
    import sqlalchemy as sa

    conn = db.session.connection()
    log("dropping indexes and old rows")
    conn.execute(sa.text("DROP INDEX IF EXISTS ix_entry_embeddings_hnsw"))
    conn.execute(sa.text("DROP INDEX IF EXISTS ix_entry_search_vector"))
    conn.execute(sa.text("DELETE FROM entry WHERE user_id = ANY(:ids)"), {"ids": [u.id for u in users]})
    conn.execute(sa.text("CREATE TEMP TABLE centre (id int PRIMARY KEY, v vector(384))"))
    conn.execute(sa.text("CREATE TEMP TABLE neighbour (id int, k int, j int, PRIMARY KEY (id, k))"))
    similarity = centres @ centres.T
    np.fill_diagonal(similarity, -2)
    nearest = np.argsort(-similarity, axis=1)[:, :NEIGHBOURS]
    conn.execute(sa.text("INSERT INTO neighbour VALUES (:id, :k, :j)"),
                 [{"id": i, "k": k, "j": int(j)} for i, row in enumerate(nearest) for k, j in enumerate(row)])
    conn.execute(sa.text("CREATE TEMP TABLE vocab (id int PRIMARY KEY, w text)"))
    conn.execute(sa.text("INSERT INTO centre VALUES (:id, :v)"),
                 [{"id": i, "v": "[" + ",".join(f"{x:.6f}" for x in c) + "]"} for i, c in enumerate(centres)])
    conn.execute(sa.text("INSERT INTO vocab VALUES (:id, :w)"), [{"id": i, "w": w} for i, w in enumerate(vocab)])
    db.session.commit()
    plan = [(users[0].id, user_rows)]
    rest = total - user_rows
    for i, other in enumerate(users[1:]):
        plan.append((other.id, rest // len(users[1:]) + (1 if i < rest % len(users[1:]) else 0)))
    batch = 50_000
    for uid, rows in plan:
        done = 0
        while done < rows:
            size = min(batch, rows - done)
            started = time.perf_counter()
            # Gaussian noise by Box-Muller; the correlated subqueries reference g so they run per row.
            db.session.execute(sa.text("""
                INSERT INTO entry (user_id, embeddings, raw, compiled, heading, file_type, file_source,
                                   file_path, file_name, hashed_value)
                SELECT CAST(:uid AS bigint),
                       l2_normalize(c.v
                                    + (SELECT sum((n.v - c.v) * array_fill((random() / 4)::real, ARRAY[384])::vector)
                                       FROM neighbour nb JOIN centre n ON n.id = nb.j WHERE nb.id = c.id AND g >= 0)
                                    + (SELECT array_agg(CAST(:noise AS float8) * sqrt(-2 * ln(1 - random()))
                                                         * cos(2 * pi() * random()))
                                           FROM generate_series(1, 384 + 0 * g))::vector),
                       t.txt, t.txt, 'Section ' || (g % 50), 'markdown', 'computer',
                       'notes/file-' || (g / 20) || '.md', 'file-' || (g / 20) || '.md', md5(t.txt)
                FROM generate_series(CAST(:start AS int), CAST(:stop AS int)) g
                JOIN centre c ON c.id = (hashtext(g::text || CAST(:uid AS text)) & 2147483647) % CAST(:ncentre AS int)
                CROSS JOIN LATERAL (
                    SELECT string_agg((SELECT v.w FROM vocab v WHERE v.id = r.i), ' ') AS txt
                    FROM (SELECT (random() * (CAST(:nvocab AS int) - 1))::int + 0 * g AS i
                          FROM generate_series(1, 30)) r
                ) t
            """), {"uid": uid, "noise": NOISE, "start": done, "stop": done + size - 1,
                   "ncentre": len(centres), "nvocab": len(vocab)})
            db.session.commit()
            done += size
            log(f"user {uid}: {done}/{rows} rows ({size / (time.perf_counter() - started):.0f} rows/s)")


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
    titles, queries, vocab = load_titles_and_queries(args.beir)
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
            log(f"embedding {len(titles):,} SciFact titles as anchors")
            centres = np.asarray(embedder.embed_documents(titles), dtype=np.float32)
            generate(db, [user] + others, args.total, args.user_rows, centres, vocab)
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
            vector = embedder._embed_batch([q])[0]  # uncached
            embed_ms.append((time.perf_counter() - started) * 1000)
        for q in sql_queries:
            timings: dict = {}
            services.search(user, q, n=5, timings=timings)  # embedding cached above: this is the SQL
            db.session.rollback()
            sql_ms.append(timings["sql_ms"])
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
                         ("SQL alone (hybrid)", sql_ms)):
        print(f"{name:<28} {percentile(values, 50):>8.2f} {percentile(values, 95):>8.2f}")
    print(f"HNSW recall@10 vs exact: {sum(recalls) / len(recalls):.4f} (over {len(recalls)} queries)")
    for ef, values in extra.items():
        print(f"  at ef_search={ef}: {sum(values) / len(values):.4f}")
    budget = percentile(embed_ms, 50) + percentile(sql_ms, 50)
    print(f"goals: recall ≥ 0.95; SQL p50 < 10 ms; e2e p50 {percentile(e2e, 50):.1f} < 2 × {budget:.1f} ms")


if __name__ == "__main__":
    main()
