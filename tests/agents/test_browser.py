"""Browser tests: share a protected agent by its link, and look at every agents/conversations page."""
from __future__ import annotations

import re
import uuid

import pytest

from portal.extensions import db
from portal.models import Agent, Conversation
from tests.conftest import browser_sign_in, keep_screenshot
from tests.factories import make_admin, make_user

pytestmark = pytest.mark.browser


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def shot(page, name: str) -> None:
    keep_screenshot(page, f"agents-{name}")


def test_protected_agent_is_readable_by_link_but_not_editable_or_listed(page, browser, live_server, live_app):
    with live_app.app_context():
        owner, visitor = make_user(unique("owner") + "@example.com"), make_user(unique("visitor") + "@example.com")
        db.session.commit()
        owner_email, visitor_email = owner.email, visitor.email
    name = unique("Shared gardener")

    browser_sign_in(page, owner_email)
    page.goto("/agents/new")
    page.fill("input[name=name]", name)
    page.fill("textarea[name=personality]", "Knows every plant.\nAnswers briefly.")
    page.check("input[name=input_tools][value=notes]")
    page.click("label[for=style_color-7]")  # teal
    page.click("label[title=Leaf]")
    page.check("input[name=privacy_level][value=protected]")
    shot(page, "form")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/agents/shared-gardener-[0-9a-f]{8}-\d{6}$"))
    link = page.url
    assert page.locator("h1").inner_text() == name
    assert page.get_by_text("Protected", exact=True).is_visible()
    assert page.get_by_role("link", name="Edit").is_visible()
    shot(page, "detail-owner")
    page.goto("/agents")
    assert page.get_by_role("link", name=name).is_visible()
    shot(page, "index-owner")
    page.goto(link + "/delete")
    assert page.get_by_text("0 knowledge entries").is_visible()
    shot(page, "delete")
    with live_app.app_context():
        agent = db.session.execute(db.select(Agent).where(Agent.name == name)).scalar_one()
        assert (agent.privacy_level, agent.style_color, agent.style_icon) == ("protected", "teal", "Leaf")
        assert agent.input_tools == ["notes"]

    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    try:
        other = context.new_page()
        browser_sign_in(other, visitor_email)
        other.goto(link)
        assert other.locator("h1").inner_text() == name
        assert other.get_by_role("link", name="Edit").count() == 0
        assert other.get_by_role("link", name="Delete").count() == 0
        shot(other, "detail-visitor")
        response = other.goto(link + "/edit")
        assert response.status == 403
        response = other.goto(link + "/delete")
        assert response.status == 403
        other.goto("/agents")
        assert other.get_by_text(name).count() == 0
        shot(other, "index-visitor")
    finally:
        context.close()


def test_conversation_and_admin_pages_render(page, live_app):
    with live_app.app_context():
        admin = make_admin(email=unique("admin") + "@example.com")
        agent = db.session.execute(db.select(Agent).where(Agent.slug == "khoj")).scalar_one()
        chat = [
            {"by": "you", "message": "What did I plant on Monday? <script>alert(1)</script>", "created": "2025-03-14 09:21:07"},
            {"by": "khoj", "message": "Tomatoes, on Monday.\nWater them twice a week.", "created": "2025-03-14 09:21:31",
             "context": [{"compiled": "# Garden\nPlanted tomatoes on Monday.", "file": "/notes/garden.md"}],
             "onlineContext": {"tomato care": {"organic": [{"title": "Tomato guide", "link": "https://garden.example/t",
                                                            "snippet": "Water deeply, twice a week."}]}}},
        ]
        conversation = Conversation(user_id=admin.id, agent_id=agent.id, title="Garden planning", conversation_log={"chat": chat})
        db.session.add(conversation)
        db.session.commit()
        email, conversation_id = admin.email, conversation.id

    browser_sign_in(page, email)
    page.goto("/conversations")
    assert page.get_by_role("link", name="Garden planning").is_visible()
    shot(page, "conversations")
    page.goto(f"/conversations/{conversation_id}")
    page.get_by_text("References (2)").click()
    assert page.get_by_role("link", name="Tomato guide").is_visible()
    assert page.get_by_text("<script>alert(1)</script>", exact=False).is_visible()
    shot(page, "conversation")
    page.goto(f"/conversations/{conversation_id}/delete")
    shot(page, "conversation-delete")
    page.goto("/conversations/import")
    page.set_input_files("input[type=file]", files=[{"name": "bad.json", "mimeType": "application/json",
                                                      "buffer": b'{"chat": [{"by": "robot"}]}'}])
    page.click("main form button[type=submit]")
    assert page.get_by_text("Nothing was imported.").is_visible()
    assert page.get_by_text("chat[0].by: Input should be 'you' or 'khoj'").is_visible()
    shot(page, "conversation-import-errors")
    page.goto("/admin/agents/")
    assert page.get_by_role("link", name="Khoj", exact=True).first.is_visible()
    shot(page, "admin-list")
    page.goto("/admin/agents/new")
    shot(page, "admin-new")
    page.goto("/agents/khoj/delete")
    assert page.get_by_text("The default agent Khoj cannot be deleted.").is_visible()
