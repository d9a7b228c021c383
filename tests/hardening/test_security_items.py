"""security.md items 19–27, one named test each (items 1–18: tests/accounts/test_security.py).

Several areas test these in depth too; these tests pin the requirement itself, across the portal.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.admin.listing import csv_cell
from portal.crypto import EncryptedString
from portal.extensions import db
from portal.integrations.urlguard import UnsafeUrl, check_url
from portal.models import AuditLog, GithubConfig
from tests.conftest import TEST_ENCRYPTION_KEY, build_app, login
from tests.factories import make_agent, make_token, make_user

SECRET_COLUMNS = {
    "ai_model_api.api_key", "github_config.pat_token", "notion_config.token", "web_scraper.api_key",
    "search_model_config.embeddings_inference_endpoint_api_key",
    "search_model_config.cross_encoder_inference_endpoint_api_key",
}


def test_sec19_every_secret_column_is_encrypted_at_rest(app_context):
    encrypted = {f"{table.name}.{column.name}" for table in db.metadata.sorted_tables
                 for column in table.columns if isinstance(column.type, EncryptedString)}
    assert SECRET_COLUMNS <= encrypted
    user = make_user()
    db.session.add(GithubConfig(user_id=user.id, pat_token="ghp_plaintextshouldnotappear1234"))
    db.session.flush()
    raw = db.session.execute(sa.text("SELECT pat_token FROM github_config WHERE user_id = :u"),
                             {"u": user.id}).scalar_one()
    assert "ghp_" not in raw and raw.startswith("v1:")


def test_sec20_user_pages_never_show_a_stored_secret(client):
    user = make_user()
    db.session.add(GithubConfig(user_id=user.id, pat_token="ghp_neverRenderedBack0000111122223333"))
    db.session.commit()
    login(client, user)
    html = client.get("/integrations").get_data(as_text=True)
    assert "neverRenderedBack" not in html and "ghp_neverRenderedBack0000111122223333" not in html


def test_sec21_security_headers_and_hsts_in_production(database_url):
    app = build_app(database_url, PORTAL_ENV="production", SECRET_KEY="x" * 40,
                    PORTAL_ENCRYPTION_KEY=TEST_ENCRYPTION_KEY, SESSION_COOKIE_SECURE=True)
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    csp = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_sec22_script_in_an_agent_name_is_escaped(client):
    owner = make_user()
    agent = make_agent(creator=owner, name="<script>alert('x')</script>", privacy_level="protected")
    db.session.commit()
    login(client, owner)
    for url in ("/agents", f"/agents/{agent.slug}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(" not in html and "&lt;script&gt;" in html, url


def test_sec23_hostile_search_strings_are_just_text(client):
    user = make_user()
    _, token = make_token(user)
    db.session.commit()
    for query in ("'; DROP TABLE entry; --", "\\\\' OR 1=1 --", "$$ || pg_sleep(5) $$", "%_%"):
        response = client.get("/api/search", query_string={"q": query}, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.get_json() == []
    assert db.session.execute(sa.text("SELECT to_regclass('entry')")).scalar() is not None


@pytest.mark.parametrize("cell", ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_sec24_csv_cells_cannot_start_a_formula(cell):
    assert csv_cell(cell).startswith("'")
    assert csv_cell("plain") == "plain"


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://169.254.169.254/latest/meta-data/",
                                 "http://10.0.0.8/", "http://[::1]/", "http://localhost:5432/"])
def test_sec25_user_supplied_urls_cannot_reach_private_addresses(url):
    with pytest.raises(UnsafeUrl):
        check_url(url, allow_private=False)


def test_sec26_oversized_uploads_get_a_clear_413(app, client):
    user = make_user()
    _, token = make_token(user)
    db.session.commit()
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = client.patch("/api/content", headers={"Authorization": f"Bearer {token}"},
                                data={"files": [(__import__("io").BytesIO(b"x" * 4096), "big.md")]},
                                content_type="multipart/form-data")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413 and "limit" in response.get_json()["error"]


def test_sec27_security_changes_are_audited_with_secrets_redacted(client):
    user = make_user()
    db.session.commit()
    login(client, user)
    client.post("/tokens", data={"name": "audited", "expiry": "never"})
    row = db.session.execute(
        sa.select(AuditLog).where(AuditLog.actor_id == user.id, AuditLog.action.like("token%"))
    ).scalars().first()
    assert row is not None
    assert "kk-" not in str(row.changes)
