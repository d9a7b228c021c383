"""Faults the portal must survive with a clear answer: a read-only (or full) database, a database that is down."""
from tests.conftest import build_app


def test_read_only_database_gives_a_clear_503_and_reads_still_work(live_app):
    """A second app on the (migrated) live database whose every connection is read-only.

    Not the `app` fixture: its per-test transaction would carry this app's requests on a writable connection.
    """
    readonly = build_app(live_app.config["SQLALCHEMY_DATABASE_URI"], SQLALCHEMY_ENGINE_OPTIONS={
        "connect_args": {"options": "-c default_transaction_read_only=on"},
    })
    client = readonly.test_client()
    assert client.get("/healthz").status_code == 200  # reads still work
    readonly.config["WTF_CSRF_ENABLED"] = False
    response = client.post("/signup", data={"email": "readonly@example.com",
                                            "password": "a long enough passphrase"},
                           headers={"Accept": "text/html"})
    assert response.status_code == 503
    assert b"read-only" in response.data and b"Traceback" not in response.data
    api = client.get("/api/health")
    assert api.status_code == 200


def test_database_down_fails_fast_with_503_not_a_traceback():
    app = build_app("postgresql+psycopg2://nobody@127.0.0.1:1/nothing")
    response = app.test_client().get("/", headers={"Accept": "text/html"})
    assert response.status_code == 503
    assert b"temporarily unavailable" in response.data and b"Traceback" not in response.data
    assert response.headers["Retry-After"]


def test_signed_in_pages_also_get_the_503_page_when_the_database_is_down():
    """The error page itself must not need the database (no user lookup for the navigation)."""
    app = build_app("postgresql+psycopg2://nobody@127.0.0.1:1/nothing")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:1"
    for url in ("/agents", "/search?q=x", "/tokens"):
        response = client.get(url, headers={"Accept": "text/html"})
        assert response.status_code == 503, url
        assert b"temporarily unavailable" in response.data


def test_an_error_page_during_a_database_outage_is_a_503_not_a_500():
    """A POST without CSRF token (400) while the database is down: the 400 page cannot load the user."""
    app = build_app("postgresql+psycopg2://nobody@127.0.0.1:1/nothing")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:1"
    response = client.post("/tokens", data={"name": "x"}, headers={"Accept": "text/html"})
    assert response.status_code == 503
    assert b"temporarily unavailable" in response.data
