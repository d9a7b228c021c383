"""Search service: isolation between users, hybrid ranking, filters, hostile input."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.search.indexing import index_document
from portal.search.services import SearchError, search
from tests.factories import make_agent, make_user

DOCS = {
    "cooking/pasta.md": b"# Pasta\nBoil salted water, cook the spaghetti for nine minutes, toss with garlic and olive oil.",
    "travel/japan.md": b"# Japan trip\nTake the shinkansen from Tokyo to Kyoto; book the ryokan two months ahead.",
    "work/release.org": b"* Release\nThe release is planned for 2024-05-02 after the security review.",
    "work/budget.txt": b"The budget meeting on 2023-11-20 approved two new engineers for the search team.",
}


@pytest.fixture
def alice(app_context):
    user = make_user()
    for path, data in DOCS.items():
        index_document(user, file_path=path, data=data)
    return user


def paths(results):
    return [r.file_path for r in results]


def test_best_match_first_in_every_mode(alice):
    for mode in ("hybrid", "dense", "fulltext"):
        results = search(alice, "how long to cook spaghetti", mode=mode)
        assert paths(results)[0] == "cooking/pasta.md", mode
    results = search(alice, "train between Tokyo and Kyoto")
    assert paths(results)[0] == "travel/japan.md"
    assert "<mark>" in str(results[0].snippet)
    assert 0 <= results[0].distance < 1


def test_user_never_sees_another_users_near_identical_entries(app_context):
    a, b = make_user(), make_user()
    index_document(a, file_path="secret.md", data=b"# Vault\nThe vault combination is 31-41-59 for Alice.")
    index_document(b, file_path="secret.md", data=b"# Vault\nThe vault combination is 27-18-28 for Bob.")
    for mode in ("hybrid", "dense", "fulltext"):
        for query in ("vault combination", "27-18-28 Bob", 'file:"secret.md"'):
            results = search(a, query, n=10, mode=mode)
            if query != "27-18-28 Bob" or mode != "fulltext":
                assert results, (mode, query)
            assert all("Bob" not in r.compiled for r in results), (mode, query)
            assert all("27-18-28" not in r.entry for r in results)
    c = make_user()
    assert search(c, "vault combination", n=10) == []


def test_agent_knowledge_only_when_the_agent_is_readable(app_context):
    owner, stranger = make_user(), make_user()
    private = make_agent(creator=owner, privacy_level="private")
    index_document(owner, file_path="agent-notes.md", data=b"# Lore\nThe dragon sleeps under the lighthouse.",
                   agent=private)
    assert paths(search(owner, "where does the dragon sleep", agent=private)) == ["agent-notes.md"]
    assert search(owner, "where does the dragon sleep") == []  # not without the agent
    assert search(stranger, "where does the dragon sleep", agent=private) == []


def test_word_and_file_filters(alice):
    assert set(paths(search(alice, 'plans +"release"', n=10))) == {"work/release.org"}
    assert "work/release.org" not in paths(search(alice, 'plans -"release"', n=10))
    assert set(paths(search(alice, 'meeting file:"work/*"', n=10))) == {"work/release.org", "work/budget.txt"}
    assert set(paths(search(alice, 'meeting -file:"work/*"', n=10))) <= {"cooking/pasta.md", "travel/japan.md"}
    assert set(paths(search(alice, 'notes file:"*.org"', n=10))) == {"work/release.org"}


def test_date_filters_match_dates_written_in_entries(alice):
    assert paths(search(alice, 'work dt>="2024-01-01"', n=10)) == ["work/release.org"]
    assert paths(search(alice, 'work dt<="2023-12-31"', n=10)) == ["work/budget.txt"]
    assert paths(search(alice, 'work dt:"2023-11-20"', n=10)) == ["work/budget.txt"]


def test_type_filter_and_filters_only_query(alice):
    assert set(paths(search(alice, "anything", n=10, file_type="org"))) == {"work/release.org"}
    assert paths(search(alice, 'file:"pasta.md"', n=10)) == ["cooking/pasta.md"]


@pytest.mark.parametrize("query", [
    "'; DROP TABLE entry; --", "a & | ! ( ) :* <-> \\", '" OR 1=1 --', "%_%", "<script>alert(1)</script>",
    'file:"%"', '+"\'"', 'dt>="\'; select 1"', "spaghetti\x00garlic", "🍝 " * 50,
])
def test_hostile_queries_are_just_text(alice, query):
    try:
        results = search(alice, query, n=10)
    except SearchError as exc:  # an unreadable date is a clear 4xx, never a crash
        assert exc.status == 422
        return
    for r in results:
        assert "<script>" not in str(r.snippet)
    assert search(alice, "spaghetti")  # the table is still there


def test_snippet_escapes_html_from_notes(app_context):
    user = make_user()
    index_document(user, file_path="x.md", data=b"# XSS\nThe <script>alert('pasta')</script> recipe uses pasta.")
    result = search(user, "pasta recipe")[0]
    assert "<script>" not in str(result.snippet) and "&lt;script&gt;" in str(result.snippet)
    assert "<mark>" in str(result.snippet)


def test_dedupe_and_max_distance(app_context):
    user = make_user()
    index_document(user, file_path="one.md", data=b"# Same\nIdentical paragraph about lighthouses.")
    index_document(user, file_path="two.md", data=b"# Same\nIdentical paragraph about lighthouses.")
    # compiled text includes the file name, so these differ; dedupe removes exact duplicates only
    assert len(search(user, "lighthouses", n=10)) == 2
    assert search(user, "lighthouses", n=10, max_distance=0.0) == []


def test_bad_arguments(alice):
    with pytest.raises(SearchError):
        search(alice, "x", mode="sparse")
    with pytest.raises(SearchError):
        search(alice, "x" * 2001)
    db.session.rollback()


def test_full_text_weighs_rare_words_above_common_ones(app_context):
    """BM25-style IDF: the one entry with the rare query word beats entries stuffed with a common one."""
    user = make_user()
    for i in range(8):
        index_document(user, file_path=f"cells-{i}.md",
                       data=f"# Cells {i}\nCells divide; cells grow; cells die in batch {i}.".encode())
    index_document(user, file_path="telomerase.md",
                   data=b"# Enzymes\nTelomerase extends chromosome ends in stem tissue.")
    results = search(user, "cells telomerase", n=3, mode="fulltext")
    assert paths(results)[0] == "telomerase.md"
    assert results[0].text_rank == 1


def test_full_text_statistics_come_from_the_callers_entries_only(app_context):
    """Another user's notes must not change how rare a word is for me (nor reveal what they contain)."""
    me, other = make_user(), make_user()
    index_document(me, file_path="alpha.md", data=b"# Greek\nAlpha alpha alpha, then beta.")
    index_document(me, file_path="gamma.md", data=b"# Greek\nGamma, then delta.")
    before = paths(search(me, "alpha gamma", n=2, mode="fulltext"))
    assert before == ["alpha.md", "gamma.md"]  # equal rarity: more occurrences win
    for i in range(30):
        index_document(other, file_path=f"alpha-{i}.md", data=f"# Note {i}\nAlpha release number {i}.".encode())
    # Were statistics shared, "alpha" would now be common and gamma.md would come first.
    assert paths(search(me, "alpha gamma", n=2, mode="fulltext")) == before
