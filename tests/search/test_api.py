"""Khoj-compatible JSON API: /api/search shape, /api/content upload, list, size, delete."""
from __future__ import annotations

import io

import pytest

from portal.search.indexing import index_document
from tests.factories import make_token, make_user


def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def alice(app_context):
    user = make_user()
    _, token = make_token(user)
    return user, token


def upload(client, token, method, files):
    data = {"files": [(io.BytesIO(body), name, "text/markdown") for name, body in files]}
    return client.open("/api/content", method=method, data=data, headers=auth(token),
                       content_type="multipart/form-data")


def test_search_returns_khojs_exact_shape(client, alice):
    user, token = alice
    index_document(user, file_path="notes/tea.md", data=b"# Tea\nSteep green tea at 80 degrees for two minutes.",
                   url="https://example.com/tea")
    with client.get("/api/search?q=how+hot+for+green+tea&n=3&t=all&r=false&dedupe=true", headers=auth(token)) as r:
        assert r.status_code == 200
        body = r.get_json()
    assert isinstance(body, list) and len(body) == 1
    hit = body[0]
    assert set(hit) == {"entry", "score", "cross-score", "additional", "corpus-id"}
    assert set(hit["additional"]) == {"source", "file", "uri", "compiled", "heading"}
    assert hit["additional"]["file"] == "notes/tea.md"
    assert hit["additional"]["source"] == "computer"
    assert hit["additional"]["uri"] == "https://example.com/tea"
    assert hit["entry"].startswith("# Tea")
    assert "notes/tea.md" in hit["additional"]["compiled"]
    assert 0 <= hit["score"] < 1 and hit["cross-score"] > 0
    assert len(hit["corpus-id"]) == 36


def test_search_parameters_are_validated(client, alice):
    _, token = alice
    for query, fragment in (("", "'q'"), ("q=x&n=0", "'n'"), ("q=x&n=abc", "'n'"), ("q=x&t=video", "content type"),
                            ("q=x&max_distance=abc", "max_distance"), ("q=x&dedupe=maybe", "dedupe")):
        with client.get(f"/api/search?{query}", headers=auth(token)) as r:
            assert r.status_code == 422, query
            assert fragment in r.get_json()["error"]


def test_search_needs_a_token(client):
    with client.get("/api/search?q=x") as r:
        assert r.status_code == 401


def test_search_type_and_max_distance(client, alice):
    user, token = alice
    index_document(user, file_path="a.org", data=b"* Tea\nOolong tea notes.")
    index_document(user, file_path="b.md", data=b"# Tea\nOolong tea notes too.")
    with client.get("/api/search?q=oolong&t=org", headers=auth(token)) as r:
        assert [h["additional"]["file"] for h in r.get_json()] == ["a.org"]
    with client.get("/api/search?q=oolong&max_distance=0", headers=auth(token)) as r:
        assert r.get_json() == []


def test_patch_syncs_and_put_replaces(client, alice):
    user, token = alice
    r = upload(client, token, "PATCH", [("one.md", b"# One\nFirst note."), ("two.md", b"# Two\nSecond note.")])
    assert r.status_code == 200, r.get_json()
    assert [i["file"] for i in r.get_json()["indexed"]] == ["one.md", "two.md"]
    r = upload(client, token, "PATCH", [("three.md", b"# Three\nThird note.")])
    with client.get("/api/content/files", headers=auth(token)) as listing:
        assert sorted(f["file_name"] for f in listing.get_json()["files"]) == ["one.md", "three.md", "two.md"]
    # PUT replaces: files not in the upload are removed.
    r = upload(client, token, "PUT", [("one.md", b"# One\nFirst note.")])
    assert r.status_code == 200 and r.get_json()["removed"] == ["three.md", "two.md"]
    with client.get("/api/content/files", headers=auth(token)) as listing:
        body = listing.get_json()
    assert [f["file_name"] for f in body["files"]] == ["one.md"]
    assert body["num_pages"] == 1 and body["files"][0]["raw_text"] == "# One\nFirst note."


def test_zero_byte_upload_deletes(client, alice):
    _, token = alice
    upload(client, token, "PATCH", [("gone.md", b"# Gone\nSoon deleted.")])
    r = upload(client, token, "PATCH", [("gone.md", b"")])
    assert r.get_json()["indexed"][0]["deleted_file"] is True
    with client.get("/api/content/files", headers=auth(token)) as listing:
        assert listing.get_json()["files"] == []


def test_upload_errors_are_clear(client, alice, app):
    _, token = alice
    r = upload(client, token, "PATCH", [("bin.txt", b"\x00\x01binary"), ("ok.md", b"# Ok\nFine.")])
    body = r.get_json()
    assert r.status_code == 415 and "binary" in body["error"]
    assert [i["file"] for i in body["indexed"]] == ["ok.md"]  # the good file is still indexed
    with client.open("/api/content", method="PATCH", headers=auth(token), data={}) as r:
        assert r.status_code == 422


def test_quota_answers_429(client, alice, monkeypatch):
    from portal.search import indexing

    _, token = alice
    monkeypatch.setattr(indexing, "quota_bytes", lambda u: 100)
    r = upload(client, token, "PATCH", [("big.md", b"x " * 200)])
    assert r.status_code == 413 and "quota" in r.get_json()["error"]
    upload(client, token, "PATCH", [("a.md", b"a " * 40)])
    r = upload(client, token, "PATCH", [("b.md", b"b " * 40)])
    assert r.status_code == 429


def test_request_larger_than_max_content_length_is_413(client, alice, app):
    _, token = alice
    old = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        r = upload(client, token, "PATCH", [("big.md", b"y" * 4096)])
        assert r.status_code == 413 and "limit" in r.get_json()["error"]
    finally:
        app.config["MAX_CONTENT_LENGTH"] = old


def test_size_and_delete(client, alice):
    user, token = alice
    index_document(user, file_path="a.md", data=b"# A\n" + b"word " * 100)
    with client.get("/api/content/size", headers=auth(token)) as r:
        body = r.get_json()
    assert body["indexed_data_size_in_mb"] == 1 and body["indexed_bytes"] == 504
    with client.delete("/api/content/file?filename=a.md", headers=auth(token)) as r:
        assert r.get_json() == {"status": "ok", "deleted_count": 1}
    with client.get("/api/content/size", headers=auth(token)) as r:
        assert r.get_json()["indexed_bytes"] == 0


def test_other_users_files_are_invisible_and_undeletable(client, alice):
    _, token = alice
    bob = make_user()
    index_document(bob, file_path="bob.md", data=b"# Bob\nBob's private plans.")
    with client.get("/api/content/files", headers=auth(token)) as r:
        assert r.get_json()["files"] == []
    with client.delete("/api/content/file?filename=bob.md", headers=auth(token)) as r:
        assert r.get_json()["deleted_count"] == 0
    with client.get("/api/search?q=private+plans", headers=auth(token)) as r:
        assert r.get_json() == []


def test_search_rate_limit(client, alice, app):
    _, token = alice
    app.config["SEARCH_RATE_LIMIT"] = (2, 60)
    try:
        for _ in range(2):
            with client.get("/api/search?q=x", headers=auth(token)) as r:
                assert r.status_code == 200
        with client.get("/api/search?q=x", headers=auth(token)) as r:
            assert r.status_code == 429 and r.headers["Retry-After"]
    finally:
        del app.config["SEARCH_RATE_LIMIT"]
