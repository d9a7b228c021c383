"""Indexing service: atomic per file, only new chunks embedded, vanished chunks deleted, quota."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Entry, FileObject, SearchModelConfig
from portal.search import indexing
from portal.search.indexing import FileTooLarge, IndexingError, QuotaExceeded, delete_file, delete_files, index_document
from tests.factories import make_user

NOTE = b"""# Garden
## Tomatoes
Water tomatoes deeply twice a week and stake them early.

## Roses
Prune roses in late winter, just above an outward-facing bud.
"""


class CountingEmbedder:
    """Wraps the real embedder and counts the texts it was asked to embed."""

    def __init__(self, inner):
        self.inner, self.texts, self.calls = inner, [], 0

    def embed_documents(self, texts):
        self.calls += 1
        self.texts.extend(texts)
        return self.inner.embed_documents(texts)


@pytest.fixture
def counting(monkeypatch):
    real = indexing.embedder_for
    holder = {}

    def wrapped(config):
        holder.setdefault("e", CountingEmbedder(real(config)))
        return holder["e"]

    monkeypatch.setattr(indexing, "embedder_for", wrapped)
    return holder


def entries(user, path=None):
    query = sa.select(Entry).where(Entry.user_id == user.id)
    if path:
        query = query.where(Entry.file_path == path)
    return db.session.execute(query.order_by(Entry.id)).scalars().all()


def test_index_stores_chunks_file_text_and_model(app_context):
    user = make_user()
    result = index_document(user, file_path="notes/garden.md", data=NOTE)
    assert (result.chunks_total, result.chunks_added, result.chunks_deleted) == (2, 2, 0)
    rows = entries(user)
    assert [r.file_type for r in rows] == ["markdown", "markdown"]
    assert {r.heading.splitlines()[-1] for r in rows} == {"## Tomatoes", "## Roses"}
    active = db.session.execute(sa.select(SearchModelConfig).where(SearchModelConfig.is_active)).scalar_one()
    assert {r.search_model_id for r in rows} == {active.id}
    assert all(len(r.embeddings) == 384 for r in rows)
    file_object = db.session.execute(sa.select(FileObject).where(FileObject.user_id == user.id)).scalar_one()
    assert file_object.raw_text == NOTE.decode()
    assert {r.file_object_id for r in rows} == {file_object.id}


def test_reindexing_unchanged_embeds_nothing_and_changes_embed_only_new(app_context, counting):
    user = make_user()
    index_document(user, file_path="garden.md", data=NOTE)
    first_ids = {r.id for r in entries(user)}
    counting["e"].texts.clear()

    again = index_document(user, file_path="garden.md", data=NOTE)
    assert (again.chunks_added, again.chunks_deleted, again.chunks_unchanged) == (0, 0, 2)
    assert counting["e"].texts == []
    assert {r.id for r in entries(user)} == first_ids

    changed = NOTE.replace(b"Prune roses in late winter", b"Prune roses in early spring")
    result = index_document(user, file_path="garden.md", data=changed)
    assert (result.chunks_added, result.chunks_deleted, result.chunks_unchanged) == (1, 1, 1)
    assert len(counting["e"].texts) == 1 and "early spring" in counting["e"].texts[0]
    rows = entries(user)
    assert len(rows) == 2 and any("early spring" in r.compiled for r in rows)
    assert not any("late winter" in r.compiled for r in rows)


def test_zero_byte_upload_deletes_the_file(app_context):
    user = make_user()
    index_document(user, file_path="garden.md", data=NOTE)
    result = index_document(user, file_path="garden.md", data=b"")
    assert result.deleted_file and result.chunks_deleted == 2
    assert entries(user) == []
    assert db.session.execute(sa.select(FileObject).where(FileObject.user_id == user.id)).first() is None


def test_a_failing_file_leaves_nothing_half_written(app_context, monkeypatch):
    user = make_user()
    index_document(user, file_path="garden.md", data=NOTE)

    class Broken:
        def embed_documents(self, texts):
            from portal.search.embeddings import EmbeddingError

            raise EmbeddingError("endpoint down")

    monkeypatch.setattr(indexing, "embedder_for", lambda config: Broken())
    with pytest.raises(IndexingError) as info:
        index_document(user, file_path="garden.md", data=NOTE + b"\n## Beans\nSow beans after the frost.\n")
    assert info.value.status == 503
    db.session.rollback()
    rows = entries(user)
    assert len(rows) == 2 and not any("beans" in r.compiled.lower() for r in rows)
    text = db.session.execute(sa.select(FileObject.raw_text).where(FileObject.user_id == user.id)).scalar_one()
    assert "Beans" not in text


def test_binary_file_is_refused(app_context):
    user = make_user()
    with pytest.raises(IndexingError) as info:
        index_document(user, file_path="photo.txt", data=b"\x89PNG\x00\x00binary")
    assert info.value.status == 415
    assert entries(user) == []


def test_quota_single_file_413_and_total_429(app_context, monkeypatch):
    user = make_user()
    monkeypatch.setattr(indexing, "quota_bytes", lambda u: 400)
    with pytest.raises(FileTooLarge) as too_large:
        index_document(user, file_path="big.md", data=b"word " * 100)
    assert too_large.value.status == 413
    index_document(user, file_path="a.md", data=b"alpha " * 50)  # 300 bytes
    with pytest.raises(QuotaExceeded) as over:
        index_document(user, file_path="b.md", data=b"beta " * 30)  # 150 more
    assert over.value.status == 429 and "quota" in over.value.message
    # Re-indexing the same file replaces its size rather than adding to it.
    index_document(user, file_path="a.md", data=b"gamma " * 60)


def test_delete_file_type_and_everything(app_context):
    user, other = make_user(), make_user()
    index_document(user, file_path="a.md", data=b"# A\nApples are red.")
    index_document(user, file_path="b.org", data=b"* B\nBananas are yellow.")
    index_document(user, file_path="c.txt", data=b"Cherries are dark.")
    index_document(other, file_path="a.md", data=b"# A\nApples are red.")
    assert delete_file(user, "a.md") == 1
    assert {r.file_path for r in entries(user)} == {"b.org", "c.txt"}
    assert delete_files(user, file_type="org") == 1
    assert {r.file_path for r in entries(user)} == {"c.txt"}
    assert db.session.execute(
        sa.select(sa.func.count()).select_from(FileObject).where(FileObject.user_id == user.id)).scalar_one() == 1
    delete_files(user)
    assert entries(user) == []
    assert len(entries(other)) == 1  # someone else's file of the same name is untouched


def test_text_from_integrations_chunks_by_declared_type(app_context):
    user = make_user()
    result = index_document(user, file_path="https://notion.so/page-1", text="# Plan\n## Goals\nShip the portal.",
                            file_type="notion", file_source="notion", url="https://notion.so/page-1")
    assert result.chunks_total == 1
    row = entries(user)[0]
    assert (row.file_type, row.file_source, row.url) == ("notion", "notion", "https://notion.so/page-1")
    assert "## Goals" in row.heading


def test_demo_notes_are_indexed_and_searchable(app_context):
    from portal.accounts.services import find_user_by_email
    from portal.core.demo import seed_demo_data
    from portal.search.services import search

    seed_demo_data()
    ada = find_user_by_email("ada@example.com")
    results = search(ada, "when did I plant the tomatoes")
    assert results[0].file_path == "journal/2024-05-02.org"
    assert search(ada, 'ranking file:"*.md"')[0].file_path == "notes/vector-search.md"


def test_files_embedded_ahead_together_are_stored_as_if_indexed_one_by_one(app_context, counting):
    """embed_ahead: one model call for the new chunks of many files; index_document then embeds nothing."""
    import numpy as np

    from portal.search.indexing import embed_ahead

    user, alone = make_user(), make_user()
    index_document(user, file_path="garden.md", data=NOTE)  # held already: must not be embedded again
    files = [{"file_path": "garden.md", "data": NOTE}, {"file_path": "bad.bin", "data": b"\x00\x01binary"}] + [
        {"file_path": f"note-{i}.md", "data": f"# Note {i}\nParagraph {i} about kettles and tea.".encode()}
        for i in range(6)
    ]
    counting["e"].texts.clear()
    counting["e"].calls = 0
    ready = embed_ahead(user, files)
    assert counting["e"].calls == 1 and len(counting["e"].texts) == 6 and len(ready) == 6
    for item in files[2:]:
        index_document(user, vectors=ready, **item)
    assert counting["e"].calls == 1  # nothing left to embed

    for item in files[2:]:
        index_document(alone, **item)  # the same files, each embedded on its own
    together = {e.compiled: np.asarray(e.embeddings) for e in entries(user) if e.file_path != "garden.md"}
    one_by_one = {e.compiled: np.asarray(e.embeddings) for e in entries(alone)}
    assert together.keys() == one_by_one.keys() and len(together) == 6
    for text, vector in together.items():
        assert float(vector @ one_by_one[text]) > 0.999, text
