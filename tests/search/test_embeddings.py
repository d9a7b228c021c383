import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from portal.search.embeddings import (
    EMBEDDING_DIMENSIONS,
    EmbeddingError,
    HuggingFaceEmbedder,
    LocalOnnxEmbedder,
    OpenAICompatibleEmbedder,
    get_embedder,
    token_budget_runs,
)

# Cosine of the two sentences below with this int8 ONNX model (the PyTorch model gives ~0.75).
KNOWN_PAIR = ("A man is eating food.", "A man is eating a piece of bread.")
KNOWN_PAIR_COSINE = 0.7535


@pytest.fixture(scope="module")
def local():
    return LocalOnnxEmbedder()


# --------------------------------------------------------------------------- local model


def test_related_sentences_are_closer_than_unrelated(local):
    query = local.embed_query("How do I bake sourdough bread?")
    docs = local.embed_documents([
        "Mix flour, water and starter, let the dough rise overnight, then bake at 230 °C.",
        "The central bank raised interest rates by a quarter point.",
    ])
    related, unrelated = docs @ query
    assert related > unrelated + 0.3


def test_known_pair_cosine(local):
    a, b = local.embed_documents(list(KNOWN_PAIR))
    assert float(a @ b) == pytest.approx(KNOWN_PAIR_COSINE, abs=0.01)


def test_vectors_are_unit_length_float32(local):
    docs = local.embed_documents(["one", "two words", ""])
    query = local.embed_query("a query")
    assert docs.shape == (3, EMBEDDING_DIMENSIONS) and docs.dtype == np.float32
    assert query.shape == (EMBEDDING_DIMENSIONS,) and query.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert np.linalg.norm(query) == pytest.approx(1.0, abs=1e-5)


def test_batch_equals_one_by_one(local):
    # Lengths from 1 to ~300 tokens, deliberately not sorted: checks padding, pooling and ordering.
    texts = [
        "Bread.",
        " ".join(["The mitochondria is the powerhouse of the cell."] * 26),
        "Short sentence about the weather today.",
        "A somewhat longer sentence that talks about trains, stations, timetables and delays in winter.",
        " ".join(["Graphs have vertices and edges."] * 8),
        "x",
    ]
    one_by_one = np.stack([local.embed_documents([t])[0] for t in texts])
    for batch_size in (3, 32):
        batched = local.embed_documents(texts, batch_size=batch_size)
        np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    # one run per batch, however long (no token budget): padding must still not leak in
    unbudgeted = LocalOnnxEmbedder(tokens_per_run=10**9)
    np.testing.assert_allclose(unbudgeted.embed_documents(texts), one_by_one, atol=1e-5)
    # and queries go through the same pipeline
    np.testing.assert_allclose(local.embed_query(texts[3]), one_by_one[3], atol=1e-5)


def test_long_text_is_truncated_at_256_tokens(local):
    long_text = " ".join(f"token{i % 50} sentence" for i in range(1000))  # 2,000 words
    vector = local.embed_query(long_text)
    assert np.isfinite(vector).all() and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)

    # Texts that differ only after ~350 words embed identically (the tail is cut off)...
    head = " ".join(["the quick brown fox jumps over the lazy dog"] * 40)
    same = local.embed_documents([head + " cats " * 50, head + " finance " * 50])
    np.testing.assert_allclose(same[0], same[1], atol=1e-6)
    # ...but text between token 128 and 256 still counts (the shipped tokenizer.json cuts at 128).
    head = " ".join(["the quick brown fox jumps over the lazy dog"] * 16)  # ~145 tokens
    differ = local.embed_documents([head + " cats " * 50, head + " finance " * 50])
    assert float(differ[0] @ differ[1]) < 0.99


def test_query_cache_returns_copies(local):
    first = local.embed_query("cached query")
    first[:] = 0
    second = local.embed_query("cached query")
    assert np.linalg.norm(second) == pytest.approx(1.0, abs=1e-5)


def test_empty_document_list(local):
    assert local.embed_documents([]).shape == (0, EMBEDDING_DIMENSIONS)


def test_concurrent_first_use_is_safe():
    embedder = LocalOnnxEmbedder()
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            results.append(embedder.embed_documents([f"thread {i} text"])[0])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 6


def test_token_budget_runs():
    assert token_budget_runs([10, 10, 10, 10], 40) == [[0, 1, 2, 3]]
    assert token_budget_runs([10, 10, 30, 30], 60) == [[0, 1], [2, 3]]
    assert token_budget_runs([300, 5], 100) == [[0], [1]]  # an over-budget text runs alone
    assert token_budget_runs([], 100) == []


def test_get_embedder_caches_instances():
    local = get_embedder("local", None, None, "all-MiniLM-L6-v2")
    assert get_embedder("LOCAL", "ignored", "ignored", "other-name") is local
    a = get_embedder("openai", "http://127.0.0.1:9/v1", "key-1", "m")
    assert get_embedder("openai", "http://127.0.0.1:9/v1", "key-1", "m") is a
    assert get_embedder("openai", "http://127.0.0.1:9/v1", "key-2", "m") is not a
    assert get_embedder("openai", "http://127.0.0.1:9/v1", "key-1", "m2") is not a
    assert isinstance(get_embedder("huggingface", "http://127.0.0.1:9/x", None, "m"), HuggingFaceEmbedder)
    with pytest.raises(EmbeddingError, match="unknown"):
        get_embedder("bogus", None, None, "m")
    with pytest.raises(EmbeddingError, match="URL"):
        get_embedder("openai", None, "k", "m")


# --------------------------------------------------------------------------- HTTP back ends

SECRET = "sk-test-SECRET-1234567890"


class FakeEmbeddingServer:
    """A real HTTP server on 127.0.0.1 answering like /v1/embeddings.

    ``mode`` picks the answer: "ok" (data in reverse index order), "500" (an error
    body that echoes the key, as some servers do), "wrong_dim", "slow", "hf" (a
    Hugging Face feature-extraction answer), "not_json".
    """

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "headers": dict(self.headers), "json": body})
                status, answer = server.answer(body, self.headers.get("Authorization"))
                payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @staticmethod
    def vector(i: int, dim: int = EMBEDDING_DIMENSIONS) -> list[float]:
        v = [0.0] * dim
        v[i % dim] = 3.0  # not unit length: the client must normalise
        return v

    def answer(self, body: dict, auth: str | None):
        if self.mode == "500":
            return 500, {"error": {"message": f"Incorrect API key provided: {auth}"}}
        if self.mode == "slow":
            time.sleep(1.0)
        if self.mode == "not_json":
            return 200, b"<html>gateway</html>"
        if self.mode == "hf":
            return 200, [self.vector(i) for i in range(len(body["inputs"]))]
        dim = 512 if self.mode == "wrong_dim" else EMBEDDING_DIMENSIONS
        data = [
            {"object": "embedding", "index": i, "embedding": self.vector(i, dim)} for i in range(len(body["input"]))
        ]
        return 200, {"object": "list", "data": list(reversed(data)), "model": body["model"]}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    fake = FakeEmbeddingServer()
    yield fake
    fake.close()


def test_openai_request_shape_ordering_and_auth(server):
    embedder = OpenAICompatibleEmbedder(server.base_url + "/", SECRET, "text-embedding-3-small")
    vectors = embedder.embed_documents(["a", "bb", "ccc"])
    request = server.requests[0]
    assert request["path"] == "/v1/embeddings"
    assert request["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert request["json"] == {"input": ["a", "bb", "ccc"], "model": "text-embedding-3-small", "dimensions": 384}
    # answered in reverse order; the client orders by index
    assert [int(np.argmax(v)) for v in vectors] == [0, 1, 2]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert embedder.name == "text-embedding-3-small"


def test_openai_batches_and_keeps_order(server):
    embedder = OpenAICompatibleEmbedder(server.base_url, None, "m")
    texts = ["x" * n for n in (5, 1, 4, 2, 3)]
    vectors = embedder.embed_documents(texts, batch_size=2)
    assert len(server.requests) == 3
    assert all("Authorization" not in r["headers"] for r in server.requests)
    # each text got the vector the server gave its position within the length-sorted batch
    sent = [text for r in server.requests for text in r["json"]["input"]]
    assert sent == sorted(texts, key=len)
    expected = {text: i for r in server.requests for i, text in enumerate(r["json"]["input"])}
    assert [int(np.argmax(v)) for v in vectors] == [expected[t] for t in texts]


def test_openai_query_is_cached(server):
    embedder = OpenAICompatibleEmbedder(server.base_url, None, "m")
    first = embedder.embed_query("same")
    second = embedder.embed_query("same")
    np.testing.assert_array_equal(first, second)
    assert first.shape == (EMBEDDING_DIMENSIONS,)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("mode", "message"),
    [("500", "HTTP 500"), ("wrong_dim", "384-dimensional"), ("not_json", "not JSON"), ("slow", "no answer within")],
)
def test_openai_errors_never_show_the_key(server, mode, message):
    server.mode = mode
    embedder = OpenAICompatibleEmbedder(server.base_url, SECRET, "m", timeout=0.3)
    with pytest.raises(EmbeddingError) as info:
        embedder.embed_documents(["hello"])
    assert message in str(info.value)
    assert SECRET not in str(info.value)
    assert server.base_url in str(info.value)


def test_unreachable_endpoint_raises_embedding_error():
    probe = FakeEmbeddingServer()
    url = probe.base_url
    probe.close()  # nothing listens on that port any more
    with pytest.raises(EmbeddingError, match="request failed"):
        OpenAICompatibleEmbedder(url, SECRET, "m", timeout=2).embed_query("hello")


def test_huggingface_feature_extraction(server):
    server.mode = "hf"
    embedder = HuggingFaceEmbedder(server.base_url + "/hf-model", SECRET, "sentence-transformers/all-MiniLM-L6-v2")
    vectors = embedder.embed_documents(["a", "b"])
    assert server.requests[0]["json"] == {"inputs": ["a", "b"]}
    assert server.requests[0]["path"] == "/v1/hf-model"
    assert [int(np.argmax(v)) for v in vectors] == [0, 1]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
