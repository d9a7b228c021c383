"""Walk the whole URL map as anonymous, a plain user and an admin (security.md #10, #13, #21).

- Every page answers without a server error, with the security headers.
- Every /admin URL: anonymous → sign-in page, plain user → 403.
- Every state-changing HTML route refuses a POST without a CSRF token (400).
- No GET request writes to the database (transaction-level row statistics stay unchanged).
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from tests.factories import make_admin, make_user

# Rows that GET requests may legitimately touch: rate-limit bookkeeping and token last-use times.
# audit_log: CSV exports record who exported what (a GET that writes only its own audit row).
BOOKKEEPING_TABLES = ("rate_limit_record", "khoj_api_user", "audit_log")
SKIP_PREFIXES = ("/static/", "/bootstrap/")


def _rules(app, method: str, with_arguments: bool = False):
    for rule in app.url_map.iter_rules():
        if method not in (rule.methods or ()) or rule.rule.startswith(SKIP_PREFIXES):
            continue
        if bool(rule.arguments) != with_arguments:
            continue
        yield rule


def _url(rule) -> str:
    """A concrete URL for a rule: numeric arguments get an id that exists for nobody, others a word."""
    values = {name: 987654321 if "int" in str(rule._converters.get(name, "")).lower() else "nothing-here"
              for name in rule.arguments}
    url = rule.rule
    for name, value in values.items():
        url = url.replace(f"<{name}>", str(value))
        for converter in ("int", "string", "path", "uuid"):
            url = url.replace(f"<{converter}:{name}>", str(value))
    return url


def _writes() -> int:
    placeholders = ", ".join(f"'{t}'" for t in BOOKKEEPING_TABLES)
    return db.session.execute(sa.text(
        "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables "
        f"WHERE relname NOT IN ({placeholders})"
    )).scalar_one()


def _assert_headers(response, url):
    assert "default-src 'self'" in response.headers.get("Content-Security-Policy", ""), url
    assert response.headers.get("X-Content-Type-Options") == "nosniff", url


@pytest.mark.parametrize("who", ["anonymous", "user", "admin"])
def test_every_get_page_answers_safely_and_writes_nothing(app, client, who):
    if who != "anonymous":
        user = make_admin() if who == "admin" else make_user()
        db.session.commit()
        from tests.conftest import login

        login(client, user)
    before = _writes()
    checked = 0
    for rule in list(_rules(app, "GET")) + list(_rules(app, "GET", with_arguments=True)):
        url = _url(rule)
        if url.startswith("/api/content/sync") or "logout" in url:
            continue
        response = client.get(url, headers={"Accept": "text/html"})
        checked += 1
        assert response.status_code < 500, f"{url} as {who}: {response.status_code}"
        _assert_headers(response, url)
        if rule.rule.startswith("/admin"):
            if who == "anonymous":
                assert response.status_code == 302 and "/login" in response.headers["Location"], url
            elif who == "user":
                assert response.status_code == 403, url
        response.close()
    assert checked > 5
    assert _writes() == before, "a GET request wrote to the database"


def test_every_html_post_route_requires_a_csrf_token(app, client):
    user = make_admin()
    db.session.commit()
    from tests.conftest import login

    login(client, user)
    checked = []
    for rule in list(_rules(app, "POST")) + list(_rules(app, "POST", with_arguments=True)):
        if rule.rule.startswith("/api"):
            continue  # Bearer-token API: CSRF does not apply
        url = _url(rule)
        response = client.post(url, data={"anything": "1"}, csrf=False)
        assert response.status_code == 400, f"{url} accepted a POST without a CSRF token ({response.status_code})"
        assert b"form expired" in response.data or response.is_json, url
        checked.append(url)
    assert checked, "no POST routes found"


def test_api_routes_answer_json_401_without_a_token(app, client):
    public = {"/api/health", "/api/openapi.json", "/api/subscription/webhook"}
    for rule in _rules(app, "GET"):
        if not rule.rule.startswith("/api") or rule.rule in public:
            continue
        response = client.get(rule.rule)
        assert response.status_code == 401 and response.is_json, rule.rule
        assert "error" in response.get_json()
