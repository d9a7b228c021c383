"""Indexing throughput: chunks/s through index_document against the model's raw speed on the same chunks.

    .venv/bin/python bench/index_throughput.py --beir ../shared/datasets/scifact --docs 1000

1. Chunk the first --docs SciFact documents (title + text, one file each) with the real chunker.
2. Raw: embed every chunk's compiled text with the active embedder (batches of 32) → chunks/s.
3. Indexed as an upload of many files is (PUT/PATCH /api/content, the upload page): groups of --group
   files, each group's new chunks embedded together by embed_ahead(), then index_document() per file
   (hash, write entries and the file's text, commit per file) → chunks/s, and the ratio to raw (goal:
   within 15 %). Also file by file without embed_ahead (one or two chunks per model call), for contrast.
4. Re-index the same files: counts the chunks sent to the model (must be 0) and the time it takes.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_quality import bench_app, bench_user  # noqa: E402

SCIFACT = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "scifact"


class Counting:
    def __init__(self, inner):
        self.inner, self.count = inner, 0

    def embed_documents(self, texts, **kwargs):
        self.count += len(texts)
        return self.inner.embed_documents(texts, **kwargs)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--beir", type=Path, default=SCIFACT)
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--group", type=int, default=100, help="files per upload (embedded together)")
    args = parser.parse_args()

    from portal.extensions import db
    from portal.search import indexing
    from portal.search.chunking import chunk_file

    files = []
    with open(args.beir / "corpus.jsonl", encoding="utf-8") as fh:
        for line in itertools.islice(fh, args.docs):
            doc = json.loads(line)
            files.append((f"scifact/{doc['_id']}.txt", f"{doc['title']} {doc['text']}".encode("utf-8")))
    compiled = [c.compiled for path, data in files for c in chunk_file(path, data)[2]]

    app = bench_app("portal_bench_throughput")
    with app.app_context():
        embedder = indexing.embedder_for(indexing.active_search_model())
        embedder.embed_documents(compiled[:8])  # load the model
        started = time.perf_counter()
        embedder.embed_documents(compiled)
        raw_s = time.perf_counter() - started

        counter = Counting(embedder)
        original = indexing.embedder_for
        indexing.embedder_for = lambda config: counter
        try:
            single = bench_user(f"bench-throughput-{uuid.uuid4().hex[:8]}@example.com")
            started = time.perf_counter()
            single_chunks = sum(indexing.index_document(single, file_path=p, data=d).chunks_added for p, d in files)
            single_s = time.perf_counter() - started
            indexing.delete_files(single)
            counter.count = 0

            user = bench_user(f"bench-throughput-{uuid.uuid4().hex[:8]}@example.com")
            started = time.perf_counter()
            chunks = 0
            for start in range(0, len(files), args.group):
                group = files[start:start + args.group]
                ready = indexing.embed_ahead(user, [{"file_path": p, "data": d} for p, d in group])
                chunks += sum(indexing.index_document(user, file_path=p, data=d, vectors=ready).chunks_added
                              for p, d in group)
            index_s = time.perf_counter() - started
            embedded_first = counter.count
            counter.count = 0
            started = time.perf_counter()
            again = [indexing.index_document(user, file_path=p, data=d) for p, d in files]
            reindex_s = time.perf_counter() - started
            embedded_again = counter.count
            indexing.delete_files(user)
        finally:
            indexing.embedder_for = original
        db.session.commit()

    raw_rate, index_rate, single_rate = len(compiled) / raw_s, chunks / index_s, single_chunks / single_s
    print(f"{len(files)} SciFact documents → {len(compiled)} chunks; {os.cpu_count()} cores; model {embedder.name}")
    print(f"raw model (batches of 32):   {raw_rate:8.1f} chunks/s  ({raw_s:.1f} s)")
    print(f"uploads of {args.group} files:        {index_rate:8.1f} chunks/s  ({index_s:.1f} s, {embedded_first} embedded) "
          f"= {index_rate / raw_rate:.0%} of raw (goal ≥ 85 %)")
    print(f"file by file, no embed_ahead: {single_rate:8.1f} chunks/s  ({single_s:.1f} s) = {single_rate / raw_rate:.0%} of raw")
    print(f"re-index unchanged files:    {embedded_again} chunks embedded, {sum(r.chunks_unchanged for r in again)} "
          f"unchanged, {reindex_s:.1f} s ({len(files) / reindex_s:.0f} files/s)")


if __name__ == "__main__":
    main()
