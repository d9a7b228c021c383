from datetime import date

import pytest

from portal.search.query_filters import (
    ParsedQuery,
    QueryFilterError,
    glob_to_like,
    parse_date,
    parse_query,
)

TODAY = date(2025, 6, 15)


def parse(q: str) -> ParsedQuery:
    return parse_query(q, today=TODAY)


def test_plain_query_has_no_filters():
    parsed = parse("  what   did we decide\tabout the budget? ")
    assert parsed.text == "what did we decide about the budget?"
    assert not parsed.has_filters


def test_include_and_exclude_words():
    parsed = parse('notes +"budget" -"draft" +"q3 plan"')
    assert parsed.text == "notes"
    assert parsed.include_words == ["budget", "q3 plan"]
    assert parsed.exclude_words == ["draft"]


def test_file_filters():
    parsed = parse('recipes file:"*.md" -file:"archive/*" file:"My Notes/cooking.org"')
    assert parsed.text == "recipes"
    assert parsed.include_files == ["*.md", "My Notes/cooking.org"]
    assert parsed.exclude_files == ["archive/*"]
    assert parsed.include_words == [] and parsed.exclude_words == []


@pytest.mark.parametrize(
    ("token", "op"),
    [('dt>="2024-01-01"', ">="), ('dt<="2024-01-01"', "<="), ('dt>"2024-01-01"', ">"),
     ('dt<"2024-01-01"', "<"), ('dt:"2024-01-01"', "="), ('dt="2024-01-01"', "="), ('dt=="2024-01-01"', "=")],
)
def test_each_date_operator(token, op):
    parsed = parse(f"trip {token}")
    assert parsed.text == "trip"
    assert parsed.date_filters == [(op, date(2024, 1, 1))]


def test_date_range_and_single_quotes():
    parsed = parse("dt>='2024-01-01' dt<\u201c2024-02-01\u201d holiday")
    assert parsed.date_filters == [(">=", date(2024, 1, 1)), ("<", date(2024, 2, 1))]
    assert parsed.text == "holiday"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("2024/03/05", date(2024, 3, 5)),
        ("05/03/2024", date(2024, 3, 5)),  # day first
        ("5 March 2024", date(2024, 3, 5)),
        ("March 5, 2024", date(2024, 3, 5)),
        ("March 2024", date(2024, 3, 1)),
        ("today", TODAY),
        ("Yesterday", date(2025, 6, 14)),
        ("tomorrow", date(2025, 6, 16)),
    ],
)
def test_natural_dates(value, expected):
    assert parse_date(value, today=TODAY) == expected


@pytest.mark.parametrize("value", ["not a date", "2024-02-30", "next tuesday", "9" * 500])
def test_unreadable_date_raises(value):
    with pytest.raises(QueryFilterError) as info:
        parse(f'x dt>="{value}"')
    message = str(info.value)
    assert "YYYY-MM-DD" in message
    assert len(message) < 300


def test_combination_keeps_order_and_text_between_filters():
    parsed = parse('+"alpha" first dt>="2024-01-01" second -file:"tmp/*" third -"beta" file:"a.md"')
    assert parsed.text == "first second third"
    assert parsed.include_words == ["alpha"]
    assert parsed.exclude_words == ["beta"]
    assert parsed.include_files == ["a.md"]
    assert parsed.exclude_files == ["tmp/*"]
    assert parsed.date_filters == [(">=", date(2024, 1, 1))]
    assert parsed.has_filters


def test_duplicates_are_dropped_and_values_stripped():
    parsed = parse('+" budget " +"budget" -"x" -"x"')
    assert parsed.include_words == ["budget"]
    assert parsed.exclude_words == ["x"]


def test_quotes_inside_text_are_text():
    parsed = parse('he said "hello world" and \'bye\' +"greeting"')
    assert parsed.text == "he said \"hello world\" and 'bye'"
    assert parsed.include_words == ["greeting"]


def test_things_that_look_like_filters_but_are_not():
    # blank values, a sign inside a word, a missing closing quote, an unknown operator
    for q in ['+"" a', '+"  " a', 'C+"x"', 'x-"y"', 'myfile:"a.md"', '+"open', 'dt!"2024-01-01"', 'dt>=2024-01-01']:
        parsed = parse(q)
        assert not parsed.has_filters, q
        assert parsed.text == " ".join(q.split())


@pytest.mark.parametrize(
    "q",
    [
        "'; DROP TABLE entry; --",
        "\" OR 1=1 --",
        "% _ \\ %% \\%",
        "日本語のノート ☃ émigré \u200b\U0001F600",
        "x" * 10_000,
        ("word " * 2_000).strip(),
        '"' * 5_000,
        "+" * 3_000 + '"',
        "\x00\x01 control",
    ],
)
def test_hostile_input_is_plain_text(q):
    parsed = parse(q)
    assert not parsed.has_filters
    assert parsed.text == " ".join(q.split())


def test_unicode_filter_values():
    parsed = parse('+"café" -"日本" file:"notes/ü*.md"')
    assert parsed.include_words == ["café"]
    assert parsed.exclude_words == ["日本"]
    assert parsed.include_files == ["notes/ü*.md"]


def test_empty_query():
    assert parse("").text == ""
    assert parse(None).text == ""  # type: ignore[arg-type]


# --------------------------------------------------------------------------- glob_to_like


@pytest.mark.parametrize(
    ("glob", "anchored", "like"),
    [
        ("*.md", True, "%.md"),
        ("notes/?.org", True, "notes/_.org"),
        ("100%_done.txt", True, "100\\%\\_done.txt"),
        ("back\\slash*", True, "back\\\\slash%"),
        ("[ab].md", True, "[ab].md"),
        ("notes.md", False, "%notes.md"),
        ("*.md", False, "%.md"),
        ("/home/ana/*.md", False, "/home/ana/%.md"),
        ("a_b.md", False, "%a\\_b.md"),
    ],
)
def test_glob_to_like(glob, anchored, like):
    assert glob_to_like(glob, anchored=anchored) == like


def _like_matches(pattern: str, value: str) -> bool:
    """A tiny LIKE interpreter (backslash escape) to check the patterns' meaning."""
    import re

    regex = ""
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            regex += re.escape(next(chars))
        elif char == "%":
            regex += ".*"
        elif char == "_":
            regex += "."
        else:
            regex += re.escape(char)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


@pytest.mark.parametrize(
    ("glob", "path", "matches"),
    [
        ("notes.md", "/home/ana/notes.md", True),
        ("*.md", "/home/ana/notes.md", True),
        ("*.md", "/home/ana/notes.md.bak", False),
        ("projects/*", "/home/ana/projects/x.org", True),
        ("a_b.md", "axb.md", False),
        ("a_b.md", "a_b.md", True),
        ("50%.txt", "50 percent.txt", False),
        ("/home/*", "/srv/home/x.md", False),
    ],
)
def test_glob_to_like_semantics(glob, path, matches):
    assert _like_matches(glob_to_like(glob), path) is matches
