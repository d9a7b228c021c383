import hashlib
import io

import pytest
from pypdf import PdfWriter

from portal.search.chunking import (
    MAX_WORDS,
    Chunk,
    ChunkingError,
    chunk_file,
    chunk_markdown,
    chunk_org,
    chunk_pdf,
    chunk_plaintext,
    count_words,
    file_type_for,
    split_to_limit,
)


def words(n: int, stem: str = "word") -> str:
    return " ".join(f"{stem}{i}" for i in range(n))


def body_of(chunk: Chunk) -> str:
    """The chunk's body: raw without its own heading line."""
    if chunk.heading:
        return chunk.raw.split("\n", 1)[1] if "\n" in chunk.raw else ""
    return chunk.raw


# --------------------------------------------------------------------------- helpers


def test_hash_is_md5_of_compiled():
    [chunk] = chunk_plaintext("hello there", "a.txt")
    assert chunk.hashed_value == hashlib.md5(chunk.compiled.encode("utf-8")).hexdigest()


def test_split_to_limit_prefers_paragraphs_and_packs_them():
    paragraphs = [words(100, f"p{i}_") for i in range(5)]
    pieces = split_to_limit("\n\n".join(paragraphs), 256)
    # 100 + 100 fit, a third does not: [p0 p1] [p2 p3] [p4]
    assert pieces == ["\n\n".join(paragraphs[0:2]), "\n\n".join(paragraphs[2:4]), paragraphs[4]]


def test_split_to_limit_falls_back_to_sentences_then_words():
    sentence = words(40) + "."
    text = " ".join([sentence] * 10)  # one paragraph, one line, 400 words
    pieces = split_to_limit(text, 256)
    assert [count_words(p) for p in pieces] == [240, 160]
    assert all(p.endswith(".") for p in pieces)

    pieces = split_to_limit(words(600), 256)  # no punctuation at all
    assert [count_words(p) for p in pieces] == [256, 256, 88]
    assert " ".join(pieces) == words(600)


def test_split_to_limit_keeps_every_word_in_order():
    text = "\n\n".join(
        "\n".join(f"{words(30, f's{p}_{l}_')}. {words(25, f't{p}_{l}_')}!" for l in range(7)) for p in range(4)
    )
    pieces = split_to_limit(text, 64)
    assert all(count_words(p) <= 64 for p in pieces)
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())


# --------------------------------------------------------------------------- markdown


MARKDOWN = """Intro line before any heading.

# Travel
Packing list for trips.

## Japan
### Kyoto
Temples and gardens.

## Peru
Machu Picchu in May.

# Cooking
Bread recipe.
"""


def test_markdown_heading_ancestry():
    chunks = chunk_markdown(MARKDOWN, "notes/life.md")
    by_body = {body_of(c): c for c in chunks}
    assert list(by_body) == [
        "Intro line before any heading.",
        "Packing list for trips.",
        "Temples and gardens.",
        "Machu Picchu in May.",
        "Bread recipe.",
    ]
    kyoto = by_body["Temples and gardens."]
    assert kyoto.compiled == "notes/life.md\n# Travel\n## Japan\n### Kyoto\nTemples and gardens."
    assert kyoto.heading == "# Travel\n## Japan\n### Kyoto"
    assert kyoto.raw == "### Kyoto\nTemples and gardens."
    # a sibling at a higher level resets the ancestry
    peru = by_body["Machu Picchu in May."]
    assert peru.heading == "# Travel\n## Peru"
    assert by_body["Bread recipe."].heading == "# Cooking"
    # text before the first heading has no heading; "## Japan" has no body of its own → no chunk
    intro = by_body["Intro line before any heading."]
    assert intro.heading is None
    assert intro.compiled == "notes/life.md\nIntro line before any heading."


def test_markdown_long_section_is_split_and_each_piece_keeps_the_ancestry():
    body = "\n\n".join(words(120, f"para{i}_") for i in range(5))  # 600 words
    chunks = chunk_markdown(f"# Top\n## Long\n{body}\n", "a.md")
    assert len(chunks) == 3
    for chunk in chunks:
        assert chunk.compiled.startswith("a.md\n# Top\n## Long\n")
        assert chunk.heading == "# Top\n## Long"
        assert count_words(body_of(chunk)) <= MAX_WORDS
    assert " ".join(body_of(c) for c in chunks).split() == body.split()


def test_markdown_hash_lines_in_code_fences_are_not_headings():
    text = "# Script\n```python\n# not a heading\nprint(1)\n```\n~~~\n## nor this\n~~~\nafter\n"
    [chunk] = chunk_markdown(text, "s.md")
    assert chunk.heading == "# Script"
    assert "# not a heading" in chunk.raw and "## nor this" in chunk.raw and "after" in chunk.raw


def test_markdown_heading_details():
    text = "#hashtag is not a heading\n#   Spaced   Title  ##\nbody\n####### seven is not a heading\n"
    chunks = chunk_markdown(text, "h.md")
    assert [c.heading for c in chunks] == [None, "# Spaced Title"]
    assert "####### seven is not a heading" in chunks[1].raw


def test_whitespace_is_normalised_and_empty_chunks_dropped():
    text = "# A\r\n\r\n\r\n\r\n  \t \r\n# B\r\nline one   \r\n\r\n\r\n\r\nline\x00 two\x07\r\n\r\n# C\n   \n"
    chunks = chunk_markdown(text, "w.md")
    assert len(chunks) == 1
    assert chunks[0].raw == "# B\nline one\n\nline two"


def test_output_is_deterministic():
    first = chunk_markdown(MARKDOWN, "x.md")
    second = chunk_markdown(MARKDOWN, "x.md")
    assert first == second
    assert len({c.hashed_value for c in first}) == len(first)
    # the file name is part of the compiled text, so another file gives other hashes
    assert {c.hashed_value for c in chunk_markdown(MARKDOWN, "y.md")}.isdisjoint({c.hashed_value for c in first})


def test_empty_markdown():
    assert chunk_markdown("", "e.md") == []
    assert chunk_markdown("# Only\n## Headings\n", "e.md") == []


# --------------------------------------------------------------------------- org


def test_org_headings_and_ancestry():
    text = (
        "#+TITLE: Life\nPreamble.\n* Work\nStandup notes.\n"
        "** TODO Review :urgent:\nCheck the PR.\n* Home\nFix sink.\n"
    )
    chunks = chunk_org(text, "life.org")
    assert [c.heading for c in chunks] == [None, "* Work", "* Work\n** TODO Review :urgent:", "* Home"]
    assert chunks[2].compiled == "life.org\n* Work\n** TODO Review :urgent:\nCheck the PR."
    assert chunks[0].raw == "#+TITLE: Life\nPreamble."
    # *bold* at the start of a line is emphasis, not a heading
    [chunk] = chunk_org("* H\n*bold* text\n", "b.org")
    assert chunk.raw == "* H\n*bold* text"


def test_org_long_section():
    chunks = chunk_org("* H\n" + words(700) + "\n", "l.org")
    assert [count_words(body_of(c)) for c in chunks] == [256, 256, 188]
    assert all(c.heading == "* H" for c in chunks)


# --------------------------------------------------------------------------- plain text


def test_plaintext_groups_paragraphs():
    paragraphs = [words(90, f"p{i}_") for i in range(4)]
    chunks = chunk_plaintext("\n\n".join(paragraphs), "t.txt")
    assert [c.raw for c in chunks] == ["\n\n".join(paragraphs[:2]), "\n\n".join(paragraphs[2:])]
    assert all(c.heading is None for c in chunks)
    assert chunks[0].compiled == "t.txt\n" + chunks[0].raw


def test_plaintext_empty():
    assert chunk_plaintext(" \n\n\t\n", "t.txt") == []


# --------------------------------------------------------------------------- PDF


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF: one Helvetica text line per string, one page per list."""
    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(len(pages))]
    font_id = 3 + 2 * len(pages)
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for pid, lines in zip(page_ids, pages):
        ops = ["BT", "/F1 10 Tf", "12 TL", "40 800 Td"]
        for line in lines:
            ops += [f"({_pdf_string(line)}) Tj", "T*"]
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Contents {pid + 1} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")

    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def test_pdf_text_is_extracted_one_chunk_per_page():
    data = make_pdf([["Hello PDF world", "second line (with parens)"], [], ["Page three talks about kiwis"]])
    chunks = chunk_pdf(data, "report.pdf")
    assert [c.heading for c in chunks] == ["page 1", "page 3"]  # the empty page yields nothing
    assert "Hello PDF world" in chunks[0].raw
    assert "second line (with parens)" in chunks[0].raw
    assert chunks[0].compiled == f"report.pdf\npage 1\n{chunks[0].raw}"
    assert chunks[1].raw == "Page three talks about kiwis"


def test_pdf_long_page_is_split():
    lines = [words(10, f"l{i}_") for i in range(60)]  # 600 words on one page
    chunks = chunk_pdf(make_pdf([lines]), "long.pdf")
    assert len(chunks) == 3
    assert all(c.heading == "page 1" and count_words(c.raw) <= MAX_WORDS for c in chunks)
    assert " ".join(c.raw for c in chunks).split() == " ".join(lines).split()


def test_blank_pdf_written_by_pypdf_has_no_chunks():
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    file_type, full_text, chunks = chunk_file("blank.pdf", buffer.getvalue())
    assert (file_type, full_text, chunks) == ("pdf", "", [])


@pytest.mark.parametrize(
    "data", [b"", b"not a pdf at all", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", make_pdf([["x"]])[:60]]
)
def test_broken_pdf_raises_chunking_error(data):
    with pytest.raises(ChunkingError, match="broken.pdf"):
        chunk_pdf(data, "broken.pdf")


# --------------------------------------------------------------------------- chunk_file


@pytest.mark.parametrize(
    ("name", "file_type"),
    [("a.md", "markdown"), ("A.MARKDOWN", "markdown"), ("b.org", "org"), ("c.PDF", "pdf"),
     ("d.txt", "plaintext"), ("e.rst", "plaintext"), ("Makefile", "plaintext")],
)
def test_file_type_by_extension(name, file_type):
    assert file_type_for(name) == file_type


def test_chunk_file_dispatches_and_returns_full_text():
    file_type, full_text, chunks = chunk_file("n.md", MARKDOWN.encode("utf-8"))
    assert file_type == "markdown" and full_text == MARKDOWN and len(chunks) == 5

    file_type, full_text, chunks = chunk_file("n.org", b"* H\nbody\n")
    assert file_type == "org" and chunks[0].heading == "* H"

    file_type, full_text, chunks = chunk_file("n.txt", "\ufeffcaf\u00e9 # not a heading".encode("utf-8"))
    assert file_type == "plaintext" and full_text == "caf\u00e9 # not a heading" and chunks[0].heading is None

    file_type, full_text, chunks = chunk_file("u16.txt", "\ufeffwide text".encode("utf-16-le"))
    assert full_text == "wide text"

    file_type, full_text, chunks = chunk_file("r.pdf", make_pdf([["one"], ["two"]]))
    assert file_type == "pdf" and full_text == "one\n\ntwo" and [c.heading for c in chunks] == ["page 1", "page 2"]


def test_chunk_file_empty_file():
    assert chunk_file("empty.md", b"") == ("markdown", "", [])


@pytest.mark.parametrize(
    "data",
    [bytes(range(256)), b"PK\x03\x04\x14\x00\x00\x00binary zip", "caf\u00e9".encode("latin-1")],
)
def test_binary_or_undecodable_file_raises(data):
    with pytest.raises(ChunkingError, match="notes.txt"):
        chunk_file("notes.txt", data)
