"""In Chromium: upload two markdown files, search, see the right file first, delete one, search again."""
from __future__ import annotations

import uuid

import pytest

from portal.extensions import db
from tests.conftest import browser_sign_in, keep_screenshot
from tests.factories import make_user


def shot(page, name):
    keep_screenshot(page, f"search-{name}")


@pytest.mark.browser
def test_upload_search_delete_search_again(page, live_app):
    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    with live_app.app_context():
        make_user(email)
        db.session.commit()

    browser_sign_in(page, email)
    page.goto("/search")
    assert page.locator("text=Nothing to search yet").is_visible()
    shot(page, "empty")

    page.goto("/search/files")
    page.set_input_files("#files", [
        {"name": "volcanoes.md", "mimeType": "text/markdown",
         "buffer": b"# Volcanoes\n## Eruptions\nMagma rises through the crust and erupts as lava and ash.\n"},
        {"name": "baking.md", "mimeType": "text/markdown",
         "buffer": b"# Baking\n## Sourdough\nFeed the starter, let the dough rise overnight, bake at 250 degrees.\n"},
    ])
    page.click("#upload-button")
    page.wait_for_selector("#upload-status .alert-success >> nth=1")
    assert "Indexed volcanoes.md" in page.inner_text("#upload-status")
    shot(page, "uploaded")
    page.wait_for_selector("#file-table")  # the page reloads with the new files listed
    table = page.inner_text("#file-table")
    assert "volcanoes.md" in table and "baking.md" in table
    shot(page, "files")

    page.goto("/search")
    page.fill("#q", "how does lava come out of a mountain")
    page.press("#q", "Enter")
    page.wait_for_selector(".search-result")
    assert page.locator(".search-result .result-file").first.inner_text() == "volcanoes.md"
    shot(page, "results")

    page.goto("/search/files")
    page.locator("#file-table tr", has_text="volcanoes.md").get_by_role("link", name="Delete").click()
    assert "Delete “volcanoes.md”?" in page.inner_text("h1")
    shot(page, "confirm-delete")
    page.get_by_role("button", name="Delete").click()
    page.wait_for_selector("text=Deleted volcanoes.md")
    assert "volcanoes.md" not in page.inner_text("#file-table")

    page.goto("/search?q=how+does+lava+come+out+of+a+mountain")
    files = page.locator(".search-result .result-file").all_inner_texts()
    assert "volcanoes.md" not in files
    assert files == ["baking.md"]  # the only file left
    page.goto("/search?q=lava+" + "%2B%22zzzz%22")
    assert page.locator("text=No results for").is_visible()
    shot(page, "no-results")
