"""Search pages: search, upload, file list, confirmed deletes; owner scoping."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Entry
from portal.search.indexing import index_document
from tests.factories import make_user


@pytest.fixture
def alice(app_context):
    user = make_user()
    index_document(user, file_path="recipes/soup.md", data=b"# Soup\nSimmer lentils with cumin for thirty minutes.")
    index_document(user, file_path="trips/alps.org", data=b"* Alps\nHike from Zermatt to the Hoernli hut.")
    return user


def test_search_page_needs_sign_in(client):
    with client.get("/search") as r:
        assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_empty_state_points_to_upload(app_context, login_as):
    client = login_as(make_user())
    with client.get("/search") as r:
        page = r.get_data(as_text=True)
    assert "Nothing to search yet" in page and "/search/files" in page


def test_results_show_heading_file_and_highlighted_snippet(alice, login_as):
    client = login_as(alice)
    with client.get("/search?q=lentil+soup") as r:
        page = r.get_data(as_text=True)
    assert r.status_code == 200
    first = page.index("recipes/soup.md")
    assert first < page.find("trips/alps.org") or page.find("trips/alps.org") == -1
    assert 'result-heading">Soup</h2>' in page and "<mark>lentils</mark>" in page


def test_no_result_state_suggests_what_to_do(alice, login_as):
    client = login_as(alice)
    with client.get('/search?q=soup+%2B"zzzqqq"&t=markdown') as r:
        page = r.get_data(as_text=True)
    assert "No results for" in page and "Search all types" in page


def test_hostile_query_is_escaped_in_the_page(alice, login_as):
    client = login_as(alice)
    with client.get("/search?q=<script>alert(1)</script>") as r:
        page = r.get_data(as_text=True)
    assert r.status_code == 200 and "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_upload_several_files_and_list_them(app_context, login_as):
    user = make_user()
    client = login_as(user)
    data = {"files": [(io.BytesIO(b"# A\nAlpha note."), "a.md"), (io.BytesIO(b"Beta note."), "b.txt")]}
    r = client.post("/search/upload", data=data, content_type="multipart/form-data",
                    headers={"Accept": "application/json"})
    assert r.status_code == 200, r.get_json()
    assert [i["file"] for i in r.get_json()["indexed"]] == ["a.md", "b.txt"]
    with client.get("/search/files") as r:
        page = r.get_data(as_text=True)
    assert "a.md" in page and "b.txt" in page and "Plain text" in page and "2 files" in page


def test_upload_without_csrf_is_refused(app_context, login_as):
    client = login_as(make_user())
    r = client.post("/search/upload", data={"files": [(io.BytesIO(b"x"), "x.md")]}, csrf=False,
                    content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert r.status_code == 400


def test_html_upload_flashes_errors(app_context, login_as):
    client = login_as(make_user())
    r = client.post("/search/upload", data={"files": [(io.BytesIO(b"\x00bin"), "x.txt")]},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "binary" in r.get_data(as_text=True)


def test_delete_file_asks_first_then_deletes(alice, login_as):
    client = login_as(alice)
    with client.get("/search/files/delete?scope=file&value=recipes/soup.md") as r:
        assert "Delete “recipes/soup.md”?" in r.get_data(as_text=True)
    count = lambda: db.session.execute(  # noqa: E731
        sa.select(sa.func.count()).select_from(Entry).where(Entry.user_id == alice.id)).scalar_one()
    assert count() == 2
    r = client.post("/search/files/delete", data={"scope": "file", "value": "recipes/soup.md"})
    assert r.status_code == 302 and count() == 1


def test_delete_type_and_everything(alice, login_as):
    client = login_as(alice)
    with client.get("/search/files/delete?scope=type&value=org") as r:
        assert "Delete all 1 Org files?" in r.get_data(as_text=True)
    client.post("/search/files/delete", data={"scope": "type", "value": "org"})
    assert db.session.execute(sa.select(Entry.file_path).where(Entry.user_id == alice.id)).scalars().all() == \
        ["recipes/soup.md"]
    client.post("/search/files/delete", data={"scope": "all"})
    assert db.session.execute(sa.select(Entry.id).where(Entry.user_id == alice.id)).first() is None


def test_cannot_delete_someone_elses_file(alice, login_as):
    client = login_as(make_user())
    with client.get("/search/files/delete?scope=file&value=recipes/soup.md") as r:
        assert r.status_code == 404
    r = client.post("/search/files/delete", data={"scope": "file", "value": "recipes/soup.md"})
    assert r.status_code == 404
    assert db.session.execute(sa.select(sa.func.count()).select_from(Entry)
                              .where(Entry.user_id == alice.id)).scalar_one() == 2


def test_delete_without_csrf_changes_nothing(alice, login_as):
    client = login_as(alice)
    r = client.post("/search/files/delete", data={"scope": "all"}, csrf=False)
    assert r.status_code in (200, 400)
    assert db.session.execute(sa.select(sa.func.count()).select_from(Entry)
                              .where(Entry.user_id == alice.id)).scalar_one() == 2
