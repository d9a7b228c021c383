"""What one simulated person does against the portal (driven by bench/load.py).

Signs in through the real form once, then browses lists, searches (page and API), creates and revokes
API tokens, and edits their agent. Credentials come from the JSON file named by LOAD_USERS_FILE.
"""
from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
from pathlib import Path

from locust import HttpUser, between, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from htmlforms import parse_forms  # noqa: E402

USERS = json.loads(open(os.environ["LOAD_USERS_FILE"]).read())
_next_user = itertools.count()
QUERIES = ["vector index", "meeting notes", "gardening tips", "budget plan", "travel checklist", "reading list"]


def form_fields(html: str, field: str) -> list[tuple[str, str]]:
    """The values of the first form on the page that has an input named `field`."""
    form = next((f for f in parse_forms(html) if any(name == field for name, _, _ in f.fields)), None)
    return form.values() if form else []


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    return match.group(1) if match else ""


class PortalUser(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self):
        self.account = USERS[next(_next_user) % len(USERS)]
        page = self.client.get("/login", name="GET /login")
        self.client.post("/login", name="POST /login", data={
            "csrf_token": csrf_token(page.text), "email": self.account["email"],
            "password": self.account["password"],
        })

    @task(4)
    def browse_agents(self):
        self.client.get("/agents", name="GET /agents")

    @task(2)
    def browse_conversations(self):
        self.client.get("/conversations", name="GET /conversations")

    @task(2)
    def browse_files(self):
        self.client.get("/search/files", name="GET /search/files")

    @task(5)
    def search_page(self):
        self.client.get("/search", params={"q": random.choice(QUERIES)}, name="GET /search?q")

    @task(3)
    def search_api(self):
        self.client.get("/api/search", params={"q": random.choice(QUERIES), "n": 5}, name="GET /api/search",
                        headers={"Authorization": f"Bearer {self.account['token']}"})

    @task(1)
    def create_and_revoke_token(self):
        page = self.client.get("/tokens", name="GET /tokens")
        created = self.client.post("/tokens", name="POST /tokens", data={
            "csrf_token": csrf_token(page.text), "name": "load test", "expiry": "never",
        })
        ids = re.findall(r'action="/tokens/(\d+)/revoke"', created.text)
        if ids:
            self.client.post(f"/tokens/{ids[0]}/revoke", name="POST /tokens/<id>/revoke",
                             data={"csrf_token": csrf_token(created.text)})

    @task(2)
    def edit_agent(self):
        url = f"/agents/{self.account['agent_slug']}/edit"
        page = self.client.get(url, name="GET /agents/<slug>/edit")
        fields = [(k, v) for k, v in form_fields(page.text, "personality") if k != "personality"]
        fields.append(("personality", f"Edited under load {random.randint(0, 10**6)}"))
        with self.client.post(url, name="POST /agents/<slug>/edit", data=fields, catch_response=True) as answer:
            # Two tabs of one person may race: a clear 409 conflict is the designed answer, not an error.
            if answer.status_code == 409:
                answer.success()
