"""Concurrency: API tokens created at the same moment, and admins saving the same row at the same moment.

Requests that overlap need real commits that other connections see, so the concurrent tests run against
`live_server` (the live app on its own database, one thread per request) and never ask for the `app`
fixture, whose per-test transaction would hide their rows. Each of them removes what it made (users, with
their tokens and subscriptions, and the audit and rate-limit rows written meanwhile), as
tests/integrations/test_locks.py does.
"""
from __future__ import annotations

import re
import threading
import time
import uuid
from types import SimpleNamespace

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal.auth import hash_token, token_hint
from portal.extensions import db
from portal.models import KhojApiUser
from tests.factories import make_admin, make_token, make_user

TOKEN_RE = re.compile(r'value="(kk-[A-Za-z0-9_\-]{43})"')
CSRF_RE = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
VERSION_RE = re.compile(r'<input[^>]*name="row_version"[^>]*value="([^"]*)"')
CONFLICT = "was changed by someone else since you opened this page, so nothing was saved"
TIMEOUT = 60


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def live(live_app, live_server):
    """The live server's URL, a NullPool engine on its database, and cleanup of every row the test made."""
    engine = sa.create_engine(live_app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        marks = {table: conn.execute(sa.text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
                 for table in ("audit_log", "rate_limit_record")}
    state = SimpleNamespace(app=live_app, url=live_server.url, engine=engine, user_ids=[])
    yield state
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM khoj_user WHERE id = ANY(:ids)"), {"ids": state.user_ids})
        for table, mark in marks.items():
            conn.execute(sa.text(f"DELETE FROM {table} WHERE id > :mark"), {"mark": mark})
    engine.dispose()


def committed(live, factory, **fields):
    """A user made and committed in the live app's database (removed again by the `live` fixture)."""
    with live.app.app_context():
        user = factory(email=f"conc-{uuid.uuid4().hex[:12]}@example.com", **fields)
        db.session.commit()
        live.user_ids.append(user.id)
        details = SimpleNamespace(id=user.id, email=user.email, session_id=user.get_id(),
                                  subscription_id=user.subscription.id)
        db.session.remove()
    return details


def browser_for(live, user) -> requests.Session:
    """An HTTP client of its own (own connection, own cookie jar) signed in as `user`."""
    client = live.app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.session_id
        sess["_fresh"] = True
    name = live.app.config["SESSION_COOKIE_NAME"]
    http = requests.Session()
    http.cookies.set(name, client.get_cookie(name).value, domain="127.0.0.1", path="/")
    return http


def field(pattern: re.Pattern, html: str) -> str:
    match = pattern.search(html)
    assert match, f"{pattern.pattern} not found in the page"
    return match[1]


def run_together(jobs) -> list:
    """Run the callables in threads released at the same moment by a barrier; their results, in order."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)
    errors: list = []

    def run(i, job):
        try:
            barrier.wait(timeout=TIMEOUT)
            results[i] = job()
        except Exception as exc:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not errors, errors
    return results


# --------------------------------------------------------------------------- API tokens


def test_tokens_created_at_the_same_moment_are_all_distinct_and_all_work(live):
    count = 8  # under the 10-per-hour limit of one user
    user = committed(live, make_user)
    clients = [browser_for(live, user) for _ in range(count)]
    csrf = [field(CSRF_RE, c.get(f"{live.url}/tokens", timeout=TIMEOUT).text) for c in clients]

    def create(i):
        return lambda: clients[i].post(f"{live.url}/tokens", timeout=TIMEOUT,
                                       data={"csrf_token": csrf[i], "name": f"parallel {i}", "expiry": "never"})

    responses = run_together([create(i) for i in range(count)])
    assert [r.status_code for r in responses] == [201] * count, [r.text[:300] for r in responses]
    tokens = [field(TOKEN_RE, r.text) for r in responses]
    assert len(set(tokens)) == count

    with live.engine.connect() as conn:
        rows = conn.execute(sa.select(KhojApiUser.__table__.c.token_hash, KhojApiUser.__table__.c.name)
                            .where(KhojApiUser.__table__.c.user_id == user.id)).all()
    assert len(rows) == count
    assert {h for h, _ in rows} == {hash_token(t) for t in tokens}
    assert {n for _, n in rows} == {f"parallel {i}" for i in range(count)}

    for token in tokens:
        answer = requests.get(f"{live.url}/api/v1/user", headers={"Authorization": f"Bearer {token}"},
                              timeout=TIMEOUT)
        assert answer.status_code == 200 and answer.json()["email"] == user.email


def test_a_duplicate_token_hash_is_refused_by_the_database(app_context):
    """The uniqueness of token_hash is the database's (khoj_api_user's unique constraint), not the code's."""
    owner, other = make_user(), make_user()
    _, token = make_token(owner)
    table = KhojApiUser.__table__
    for user in (owner, other):
        with pytest.raises(IntegrityError) as refused:
            with db.session.begin_nested():
                db.session.execute(sa.insert(table).values(
                    user_id=user.id, token_hash=hash_token(token), token_hint=token_hint(token), name="copy"))
        assert refused.value.orig.pgcode == "23505"  # unique_violation
        assert "token_hash" in refused.value.orig.diag.constraint_name
    count = db.session.execute(sa.select(sa.func.count()).select_from(table)
                               .where(table.c.token_hash == hash_token(token))).scalar_one()
    assert count == 1


# --------------------------------------------------------------------------- admin edits


def edit_page(live, client, sub_id) -> tuple[str, str]:
    html = client.get(f"{live.url}/admin/subscriptions/{sub_id}/edit", timeout=TIMEOUT).text
    return field(CSRF_RE, html), field(VERSION_RE, html)


def subscription_row(live, sub_id):
    with live.engine.connect() as conn:
        return conn.execute(sa.text("SELECT type, is_recurring, renewal_date, version FROM subscription "
                                    "WHERE id = :id"), {"id": sub_id}).one()


def update_audits(live, sub_id) -> int:
    with live.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM audit_log WHERE action = 'subscriptions.update' "
                                    "AND object_id = :id"), {"id": str(sub_id)}).scalar_one()


def test_two_admins_saving_one_subscription_at_once_one_wins_one_gets_a_conflict(live):
    member = committed(live, make_user)
    admins = [browser_for(live, committed(live, make_admin)) for _ in range(2)]
    pages = [edit_page(live, admin, member.subscription_id) for admin in admins]
    assert pages[0][1] == pages[1][1]
    wanted = [{"type": "trial", "renewal_date": "2031-05-01T12:00", "is_recurring": ""},
              {"type": "standard", "renewal_date": "2032-01-01T00:00", "is_recurring": "y"}]

    def save(i):
        csrf, version = pages[i]
        return lambda: admins[i].post(f"{live.url}/admin/subscriptions/{member.subscription_id}/edit",
                                      data={"csrf_token": csrf, "row_version": version, **wanted[i]},
                                      allow_redirects=False, timeout=TIMEOUT)

    responses = run_together([save(0), save(1)])
    statuses = [r.status_code for r in responses]
    assert sorted(statuses) == [302, 409], statuses
    winner = statuses.index(302)
    assert CONFLICT in responses[1 - winner].text
    row = subscription_row(live, member.subscription_id)
    expected = wanted[winner]
    assert (row.type, row.is_recurring, row.renewal_date.year) == (
        expected["type"], expected["is_recurring"] == "y", int(expected["renewal_date"][:4]))
    assert row.version == int(pages[0][1]) + 1
    assert update_audits(live, member.subscription_id) == 1


def test_a_save_that_loses_the_race_at_the_update_itself_is_a_conflict(live):
    """The version check passes (the other change is not committed yet), then the UPDATE waits for the
    other transaction's row lock and, once it commits, matches no row: StaleDataError → 409, not a 500
    and not an overwrite."""
    member = committed(live, make_user)
    admin = browser_for(live, committed(live, make_admin))
    csrf, version = edit_page(live, admin, member.subscription_id)
    answer = {}

    with live.engine.connect() as other, live.engine.connect() as watcher:
        other.begin()
        other.execute(sa.text("UPDATE subscription SET type = 'trial', version = version + 1 WHERE id = :id"),
                      {"id": member.subscription_id})

        def save():
            answer["response"] = admin.post(
                f"{live.url}/admin/subscriptions/{member.subscription_id}/edit", allow_redirects=False,
                data={"csrf_token": csrf, "row_version": version, "type": "standard", "is_recurring": "y",
                      "renewal_date": "2032-01-01T00:00"}, timeout=TIMEOUT)

        thread = threading.Thread(target=save)
        thread.start()
        watcher.execution_options(isolation_level="AUTOCOMMIT")
        deadline = time.monotonic() + TIMEOUT
        while not watcher.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE 'UPDATE subscription%'")).scalar_one():
            assert time.monotonic() < deadline and thread.is_alive(), answer.get("response")
            time.sleep(0.02)
        other.commit()
    thread.join(TIMEOUT)

    response = answer["response"]
    assert response.status_code == 409 and CONFLICT in response.text
    row = subscription_row(live, member.subscription_id)
    assert (row.type, row.is_recurring, row.version) == ("trial", False, int(version) + 1)
    assert update_audits(live, member.subscription_id) == 0
