"""The foundation: schema and migrations, secrets at rest, health, errors, headers, configuration."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.crypto import DecryptionError, KeyRing, install_keyring, keyring, rotate_all_secrets
from portal.extensions import db
from portal.keys import new_encryption_key
from portal.models import Agent, AiModelApi, SearchModelConfig
from tests.conftest import TEST_ENCRYPTION_KEY, build_app, make_database

ROOT = Path(__file__).resolve().parent.parent
TABLES = {
    "khoj_user", "google_user", "khoj_api_user", "subscription", "ai_model_api", "chat_model",
    "voice_model_option", "agent", "notion_config", "github_config", "github_repo_config", "web_scraper",
    "process_lock", "search_model_config", "file_object", "entry", "user_conversation_config",
    "user_voice_model_config", "conversation", "server_chat_settings", "audit_log", "rate_limit_record",
}


def test_every_table_of_the_data_model_exists(app_context):
    names = set(sa.inspect(db.engine).get_table_names())
    assert TABLES <= names


def test_entry_has_vector_384_with_hnsw_and_gin_indexes(app_context):
    column_type = db.session.execute(sa.text(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'entry'::regclass AND attname = 'embeddings'"
    )).scalar_one()
    assert column_type == "vector(384)"
    indexes = dict(db.session.execute(sa.text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'entry'"
    )).all())
    assert "USING hnsw (embeddings vector_cosine_ops)" in indexes["ix_entry_embeddings_hnsw"]
    assert "USING gin (search_vector)" in indexes["ix_entry_search_vector"]


def test_timestamps_are_set_by_the_database(app_context):
    api = AiModelApi(name="Timestamps", api_key="sk-x")
    db.session.add(api)
    db.session.flush()
    db.session.refresh(api)
    assert api.created_at is not None and api.updated_at is not None
    # The test runs in one rolled-back transaction, where now() does not move: age the row first.
    db.session.execute(sa.text("UPDATE ai_model_api SET updated_at = now() - interval '1 hour' WHERE id = :id"),
                       {"id": api.id})
    db.session.refresh(api)
    first = api.updated_at
    api.api_base_url = "https://example.com/v1"
    db.session.flush()
    db.session.refresh(api)
    assert api.updated_at > first
    assert api.updated_at == db.session.execute(sa.select(sa.func.now())).scalar()


def test_constraints_live_in_the_database(app_context):
    with pytest.raises(sa.exc.IntegrityError):
        with db.session.begin_nested():
            db.session.execute(sa.text(
                "INSERT INTO agent (name, slug, managed_by_admin, input_tools) "
                "VALUES ('x', 'x-1', true, ARRAY['teleport']::varchar[])"
            ))
    with pytest.raises(sa.exc.IntegrityError):
        with db.session.begin_nested():
            db.session.execute(sa.text("INSERT INTO web_scraper (name, type, priority) VALUES ('w', 'Gopher', 1)"))


def test_migrations_upgrade_downgrade_upgrade(postgres_admin_url):
    from flask_migrate import downgrade, upgrade

    app = build_app(make_database(postgres_admin_url, "portal_migrations"))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        remaining = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        upgrade()
        assert TABLES <= set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()



def test_autogenerate_finds_no_difference(app_context):
    with db.engine.connect() as conn:
        from portal.jobs.schema import include_object  # the job queue's own tables are not models

        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_secret_is_encrypted_in_the_raw_column(app_context):
    api = AiModelApi(name="Secretive", api_key="sk-live-abcdef0123456789")
    db.session.add(api)
    db.session.flush()
    raw = db.session.execute(sa.text("SELECT api_key FROM ai_model_api WHERE id = :id"), {"id": api.id}).scalar_one()
    assert "sk-live" not in raw and raw.startswith("v1:")
    db.session.expire(api)
    assert api.api_key == "sk-live-abcdef0123456789"


def test_wrong_key_fails_loudly_and_rotation_reencrypts_every_row(app_context):
    original = keyring()
    try:
        for n in range(3):
            db.session.add(AiModelApi(name=f"Rotate {n}", api_key=f"sk-rotate-{n}"))
        db.session.flush()
        before = dict(db.session.execute(sa.text("SELECT id, api_key FROM ai_model_api")).all())

        new_key = new_encryption_key()
        rotate_all_secrets(new_key)
        after = dict(db.session.execute(sa.text("SELECT id, api_key FROM ai_model_api")).all())
        assert all(after[i] != before[i] for i in before)
        assert all(keyring().is_current(value) for value in after.values())
        db.session.expire_all()
        names = {a.name: a.api_key for a in db.session.scalars(sa.select(AiModelApi))}
        assert names["Rotate 2"] == "sk-rotate-2"

        install_keyring(KeyRing(new_encryption_key()))  # a key that never encrypted anything
        db.session.expire_all()
        with pytest.raises(DecryptionError):
            db.session.scalars(sa.select(AiModelApi)).all()
    finally:
        install_keyring(original)
        db.session.rollback()


def test_ciphertext_is_bound_to_its_column():
    ring = KeyRing(TEST_ENCRYPTION_KEY)
    stored = ring.encrypt("ghp_secret", "github_config.pat_token")
    with pytest.raises(DecryptionError):
        ring.decrypt(stored, "notion_config.token")


def test_defaults_exist_after_start(app_context):
    khoj = db.session.execute(sa.select(Agent).where(Agent.slug == "khoj")).scalar_one()
    assert khoj.managed_by_admin and khoj.creator_id is None and khoj.privacy_level == "public"
    assert db.session.execute(sa.select(SearchModelConfig).where(SearchModelConfig.is_active)).scalar_one()


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_database_is_down():
    app = build_app("postgresql+psycopg2://nobody@127.0.0.1:1/nothing")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "down"


def test_not_found_is_html_for_browsers_and_json_for_api(client):
    html = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert html.status_code == 404 and b"does not exist" in html.data and html.mimetype == "text/html"
    api = client.get("/api/no-such-endpoint")
    assert api.status_code == 404 and api.get_json() == {"error": api.get_json()["error"]}


def test_security_headers_on_pages(client):
    response = client.get("/")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_home_page_serves_bootstrap_locally(client):
    html = client.get("/").get_data(as_text=True)
    assert "cdn.jsdelivr" not in html and "/bootstrap/static/" in html
    with client.get("/static/favicon.svg") as icon:  # file responses must be closed
        assert icon.status_code == 200


def _start(env_overrides: dict, tmp_path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "PORTAL_", "SECRET_KEY"))}
    env.update({"PORTAL_INSTANCE_PATH": str(tmp_path / "instance"), "PORTAL_AUTO_MIGRATE": "0"})
    env.update(env_overrides)
    return subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("env, expected", [
    ({"DATABASE_URL": "not a url at all"}, "DATABASE_URL is not a valid database URL"),
    ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL must point at PostgreSQL"),
    ({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}, "Cannot reach the database"),
    ({"PORTAL_ENV": "production", "SECRET_KEY": "s" * 40}, "PORTAL_ENCRYPTION_KEY is not set"),
    ({"PORTAL_ENV": "production"}, "SECRET_KEY is not set"),
    ({"PORTAL_ENCRYPTION_KEY": "short"}, "PORTAL_ENCRYPTION_KEY must be 32 bytes"),
])
def test_bad_configuration_exits_with_one_sentence(env, expected, tmp_path):
    result = _start(env, tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_embedded_database_starts_and_keeps_data_across_runs(tmp_path):
    script = (
        "import sqlalchemy as sa; from wsgi import app; from portal.extensions import db\n"
        "with app.app_context():\n"
        "    db.session.execute(sa.text('CREATE TABLE IF NOT EXISTS kept (n int)'))\n"
        "    db.session.execute(sa.text('INSERT INTO kept VALUES (1)'))\n"
        "    db.session.commit()\n"
        "    print('rows', db.session.execute(sa.text('SELECT count(*) FROM kept')).scalar())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "PORTAL_", "SECRET_KEY"))}
    env.update({"PORTAL_INSTANCE_PATH": str(tmp_path / "instance"), "PORTAL_AUTO_MIGRATE": "0"})
    outputs = [
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=180)
        for _ in range(2)
    ]
    assert outputs[0].returncode == 0, outputs[0].stderr
    assert "rows 1" in outputs[0].stdout
    assert "rows 2" in outputs[1].stdout  # the second start reused the data folder
    assert (tmp_path / "instance" / "pgdata" / "PG_VERSION").exists()
    # The last process exited, so the embedded server was stopped with it.
    assert not (tmp_path / "instance" / "pgdata" / "postmaster.pid").exists()


@pytest.mark.browser
def test_home_page_renders_in_chromium(page, live_server, tmp_path):
    page.goto("/")
    assert page.title() == "Home · Khoj Portal"
    assert page.locator("h1").inner_text() == "Khoj Portal"
    shot = tmp_path / "home.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 5000


def test_stopping_the_app_stops_the_embedded_server(tmp_path):
    """`flask run` on the embedded database, then SIGTERM: the server's postmaster goes away too."""
    import signal
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "PORTAL_", "SECRET_KEY"))}
    env.update({"PORTAL_INSTANCE_PATH": str(tmp_path / "instance"), "PORTAL_AUTO_MIGRATE": "0"})
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    pid_file = tmp_path / "instance" / "pgdata" / "postmaster.pid"
    try:
        import requests

        deadline, serving = time.monotonic() + 90, False
        while not serving and time.monotonic() < deadline:  # wait until the app answers, not just the server
            try:
                serving = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                time.sleep(0.3)
        assert serving and pid_file.exists(), "the app did not start on the embedded server"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        deadline = time.monotonic() + 15
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not pid_file.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
