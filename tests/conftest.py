"""Test harness: a real PostgreSQL with pgvector, migrated once; every test in a rolled-back transaction.

- The database is the embedded server in a temporary folder (or TEST_DATABASE_URL when set).
- `app` is one application for the whole run. Each test runs inside an outer transaction on one
  connection; the session joins it with savepoints, so views may commit and everything still rolls
  back afterwards.
- `client` posts forms with a valid CSRF token automatically (pass csrf=False to leave it out).
- Browser tests (marker `browser`) run against `live_server`, a second app on its own database
  served on a loopback port, because a browser's requests come from another thread.
"""
from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from flask import g, has_app_context
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from itsdangerous import URLSafeTimedSerializer

from portal import create_app
from portal.extensions import db
from tests.factories import DEFAULT_PASSWORD

TEST_SECRET_KEY = "test-secret-key-not-for-production"
# A fixed key so tests are repeatable; production keys come from the environment.
TEST_ENCRYPTION_KEY = "dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy0hISE="
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives Chromium against the live server")


def pytest_collection_modifyitems(session, config, items):
    """Browser tests run last: Playwright's sync API keeps an asyncio loop registered on the main thread
    while the session-wide browser is open, and code under test that calls asyncio.run() (the job
    queue's sync API) would fail after it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


# --------------------------------------------------------------------------- database


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory):
    """A superuser URL on a PostgreSQL with pgvector: TEST_DATABASE_URL, or a fresh embedded server."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    from portal.database import start_embedded

    base = tmp_path_factory.mktemp("pg")
    url = start_embedded(base / "pgdata", database="postgres")
    yield url
    # The package stops the server at interpreter exit; the data folder goes with the tmp dir.


def make_database(admin_url: str, name: str) -> str:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def build_app(database_url: str, **overrides):
    config = {
        "TESTING": True,
        "PORTAL_ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "PORTAL_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "PORTAL_AUTO_MIGRATE": False,
        "SERVER_NAME": None,
        "RUN_WORKER_IN_DEV": False,
    }
    config.update(overrides)
    return create_app(config)


def migrate_to_head(app) -> None:
    from flask_migrate import upgrade

    from portal.core.defaults import ensure_defaults

    with app.app_context():
        upgrade()
        ensure_defaults()


@pytest.fixture(scope="session")
def database_url(postgres_admin_url):
    return make_database(postgres_admin_url, "portal_test")


@pytest.fixture(scope="session")
def app(database_url):
    app = build_app(database_url)
    migrate_to_head(app)
    return app


class _ConnectionBoundSession(FlaskSQLAlchemySession):
    """Flask-SQLAlchemy's Session.get_bind picks the app's engine and ignores the session's own `bind`, so a
    session bound to the test's connection would still commit on fresh connections. Use the bind when set."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


@pytest.fixture(autouse=True)
def _transaction(request):
    """Run the test in an outer transaction that is rolled back, unless it is a browser test."""
    if request.node.get_closest_marker("browser") or "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        session = db._make_scoped_session({
            "bind": connection, "join_transaction_mode": "create_savepoint", "class_": _ConnectionBoundSession,
        })
        original, db.session = db.session, session
        try:
            yield
        finally:
            session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield


# --------------------------------------------------------------------------- HTTP client


class FormClient(FlaskClient):
    """A test client that adds a valid CSRF token to every form POST (csrf=False leaves it out).

    Tests hold one app context (the database session lives there), and Flask reuses it for every
    test-client request, so `g` (where Flask-Login caches the signed-in user) would carry one request's
    state into the next. Each request starts with an empty `g`, as under a real server.
    """

    def csrf_token(self) -> str:
        raw = "test-csrf-raw-token"
        with self.session_transaction() as sess:
            sess.setdefault("csrf_token", raw)
            raw = sess["csrf_token"]
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def open(self, *args, csrf: bool = True, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        data = kwargs.get("data")
        if csrf and method in {"POST", "PUT", "PATCH", "DELETE"} and isinstance(data, dict) \
                and "json" not in kwargs:
            kwargs["data"] = {"csrf_token": self.csrf_token(), **data}
        if has_app_context():
            vars(g).clear()
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = FormClient
    return app.test_client()


def login(client, user) -> None:
    """Sign `user` in on `client` without going through the sign-in form."""
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True


@pytest.fixture
def login_as(client):
    def _login(user):
        login(client, user)
        return client

    return _login


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def live_app(postgres_admin_url):
    app = build_app(make_database(postgres_admin_url, "portal_live"))
    migrate_to_head(app)
    return app


@contextmanager
def serving(app):
    """`app` served by Werkzeug on an ephemeral loopback port, in a thread; the server's `url` is its address."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield server
    finally:
        server.shutdown()


@pytest.fixture(scope="session")
def live_server(live_app):
    """The live app served on a loopback port (see `serving`)."""
    with serving(live_app) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI but {CHROMIUM} is missing (apt-get install chromium).")
        pytest.skip(f"browser tests skipped: {CHROMIUM} not found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context (no cookies) per test; a screenshot is kept under test-artifacts/."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    name = request.node.name.replace("/", "_").replace("[", "_").replace("]", "")
    try:
        keep_screenshot(page, name)
    finally:
        context.close()


def keep_screenshot(page, name: str) -> None:
    """A full-page screenshot kept as test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def browser_sign_in(page, email: str, password: str = DEFAULT_PASSWORD) -> None:
    """Sign in through the real /login form and wait for the app's answer; fails if it stayed on /login."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    assert "/login" not in page.url, f"sign-in as {email} failed: still on {page.url}"


# --------------------------------------------------------------------------- Google (OpenID Connect)

GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET = "portal-client", "portal-secret"
# The provider (a test tool built on Authlib's server side) uses Authlib APIs that Authlib deprecates;
# tests that run it carry these marks (`pytestmark = OIDC_PROVIDER_WARNINGS`).
OIDC_PROVIDER_WARNINGS = [
    pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:authlib.jose module is deprecated"),
]


@pytest.fixture(scope="session")
def oidc_provider():
    """A real OpenID Connect provider (oidc-provider-mock) on loopback, standing in for Google. Its
    authorisation page asks for the subject to sign in as; `set_oidc_claims` sets that subject's claims."""
    import warnings

    with warnings.catch_warnings():
        import authlib.deprecate  # noqa: F401  (on first import it sets its warnings to "always": override that)

        warnings.simplefilter("ignore", DeprecationWarning)
        from oidc_provider_mock import run_server_in_thread
    with run_server_in_thread() as server:
        server.url = f"http://localhost:{server.server_port}"
        yield server


def use_oidc_provider(app, provider, monkeypatch) -> None:
    """Point `app`'s Google sign-in at `provider` for the current test."""
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_ID", GOOGLE_CLIENT_ID)
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_SECRET", GOOGLE_CLIENT_SECRET)
    monkeypatch.setitem(app.config, "GOOGLE_DISCOVERY_URL", f"{provider.url}/.well-known/openid-configuration")


def set_oidc_claims(provider, sub: str, **claims) -> None:
    """The claims (email, email_verified, name, …) the provider puts in `sub`'s id_token."""
    response = requests.put(f"{provider.url}/users/{sub}", json=claims, timeout=5)
    assert response.status_code == 204
