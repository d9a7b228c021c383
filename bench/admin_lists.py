"""Admin list pages at size: 100,000 users and 200,000 entries.

    .venv/bin/python bench/admin_lists.py [--users 100000] [--entries 200000] [--repeat 7]

Seeds a throwaway database (TEST_DATABASE_URL's server, or an embedded PostgreSQL in a temporary
folder) with INSERT … SELECT generate_series (random 384-d vectors), then requests the users and
entries list pages through the Flask test client as an admin and prints the median time of each.
The HNSW index on entry.embeddings is dropped before seeding: the list pages never use it and
building it for 200,000 vectors takes minutes on two cores.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import build_app, make_database, migrate_to_head  # noqa: E402


def seed(db, users: int, entries: int) -> None:
    run = lambda sql, **params: db.session.execute(sa.text(sql), params)  # noqa: E731
    run("SET LOCAL statement_timeout = 0")
    run("DROP INDEX IF EXISTS ix_entry_embeddings_hnsw")
    started = time.perf_counter()
    run("""
        INSERT INTO khoj_user (username, email, first_name, date_joined, last_login, phone_number,
                               verified_email, is_active, is_staff)
        SELECT 'bench' || g || '@example.com', 'bench' || g || '@example.com', 'User ' || g,
               now() - (random() * interval '120 days'), now() - (random() * interval '30 days'),
               CASE WHEN g % 10 = 0 THEN '+49151' || lpad(g::text, 7, '0') END,
               g % 3 = 0, g % 50 <> 0, g % 5000 = 0
        FROM generate_series(1, :n) AS g""", n=users)
    run("INSERT INTO subscription (user_id, type, is_recurring, renewal_date) "
        "SELECT id, CASE WHEN id % 4 = 0 THEN 'trial' ELSE 'standard' END, id % 2 = 0, "
        "now() + ((id % 60) - 30) * interval '1 day' FROM khoj_user "
        "WHERE NOT EXISTS (SELECT 1 FROM subscription s WHERE s.user_id = khoj_user.id)")
    print(f"seeded {users:,} users in {time.perf_counter() - started:.1f}s", flush=True)
    started = time.perf_counter()
    first, last = run("SELECT min(id), max(id) FROM khoj_user").one()
    # 1,000 random vectors, reused round-robin: generating 200,000 × 384 randoms would dominate the seeding.
    run("CREATE TEMP TABLE bench_vector AS SELECT i, (SELECT array_agg(random() + j * 0 + i * 0) "
        "FROM generate_series(1, 384) AS j)::vector AS v FROM generate_series(0, 999) AS i")
    run("""
        INSERT INTO entry (user_id, embeddings, raw, compiled, heading, file_source, file_type, file_path,
                           file_name, hashed_value, created_at)
        SELECT :first + (g % (:last - :first + 1)),
               bench_vector.v,
               'raw text ' || g, 'compiled text number ' || g, '# Heading ' || (g % 100),
               (ARRAY['computer', 'notion', 'github', 'web'])[1 + g % 4],
               (ARRAY['markdown', 'org', 'pdf', 'plaintext', 'notion', 'github'])[1 + g % 6],
               '/notes/dir' || (g % 100) || '/file' || g || '.md', 'file' || g || '.md',
               md5(g::text), now() - (random() * interval '30 days')
        FROM generate_series(1, :n) AS g JOIN bench_vector ON bench_vector.i = g % 1000""",
        first=first, last=last, n=entries)
    print(f"seeded {entries:,} entries in {time.perf_counter() - started:.1f}s", flush=True)
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    if os.environ.get("TEST_DATABASE_URL"):
        admin_url = os.environ["TEST_DATABASE_URL"]
    else:
        from portal.database import start_embedded

        admin_url = start_embedded(Path(tempfile.mkdtemp(prefix="admin-bench-")) / "pgdata", database="postgres")
    app = build_app(make_database(admin_url, "portal_admin_bench"))
    migrate_to_head(app)

    from portal.extensions import db
    from tests.factories import make_admin

    with app.app_context():
        seed(db, args.users, args.entries)
        admin = make_admin(email="bench-admin@example.com")
        db.session.commit()
        session_id = admin.get_id()

    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
        sess["_fresh"] = True
    pages = [
        ("users: first page", "/admin/users/"),
        ("users: search 'bench4242'", "/admin/users/?q=bench4242"),
        ("users: search phone '+4915100'", "/admin/users/?q=%2B4915100"),
        ("users: filter joined 7 days + active", "/admin/users/?f_joined=7&f_active=yes"),
        ("users: filter staff, sort by email", "/admin/users/?f_staff=yes&sort=email"),
        ("users: page 50", "/admin/users/?page=50"),
        ("entries: first page", "/admin/entries/"),
        ("entries: search path 'file12345'", "/admin/entries/?q=file12345"),
        ("entries: search user 'bench777@'", "/admin/entries/?q=bench777%40"),
        ("entries: filter type markdown", "/admin/entries/?f_type=markdown"),
        ("entries: filter user by email", "/admin/entries/?f_user=bench4242%40example.com"),
        ("subscriptions: filter state subscribed", "/admin/subscriptions/?f_state=subscribed"),
        ("dashboard", "/admin/"),
    ]
    # Time spent in the database, apart from rendering: a cursor's execute, summed per request.
    sql = {"ms": 0.0, "n": 0}
    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _stop(conn, cursor, statement, parameters, context, executemany):
        sql["ms"] += (time.perf_counter() - conn.info.pop("bench_started")) * 1000
        sql["n"] += 1

    print(f"\nmedian of {args.repeat} requests (first request warms up and is not counted)")
    print(f"  {'page':42s} {'total':>9s} {'in SQL':>9s} {'queries':>8s}")
    for label, url in pages:
        with client.get(url) as response:
            assert response.status_code == 200, (url, response.status_code)
        times, sql_times = [], []
        for _ in range(args.repeat):
            sql.update(ms=0.0, n=0)
            started = time.perf_counter()
            with client.get(url) as response:
                response.get_data()
            times.append((time.perf_counter() - started) * 1000)
            sql_times.append(sql["ms"])
        print(f"  {label:42s} {statistics.median(times):6.1f} ms {statistics.median(sql_times):6.1f} ms "
              f"{sql['n']:8d}")


if __name__ == "__main__":
    main()
