"""Post random and hostile values into every HTML form the portal shows (hypothesis).

Forms are discovered, not listed by hand: every page without URL arguments (and the edit pages of a few
rows made here) is fetched as a plain user and as an admin, and every POST form on it is fuzzed with
FORM_EXAMPLES cases (default 20), keeping the CSRF token valid. Each answer must be below 500, and when
a submission is refused (anything but a redirect) nothing may have been written — apart from rate-limit
and audit bookkeeping, which record refused attempts on purpose.
"""
from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.htmlforms import parse_forms
from portal.extensions import db
from tests.conftest import login
from tests.factories import make_admin, make_agent, make_chat_model, make_user

EXAMPLES = int(os.environ.get("FORM_EXAMPLES", "20"))
BOOKKEEPING = ("rate_limit_record", "audit_log", "khoj_api_user")
# Submitting these ends the session, so the rest of the run would only see the sign-in page.
SESSION_ENDERS = ("/logout", "/sign-out-everywhere", "/profile/delete", "/account/delete")
HOSTILE = [
    "", " ", "<script>alert(1)</script>", "'; DROP TABLE khoj_user; --", "\u202e\u0301", "😀" * 50,
    "a" * 5000, "-1", "0", "99999999999999999999", "1e308", "NaN", "../../etc/passwd", "%s%s%n",
    "{{7*7}}", "null", "true", "=cmd|' /C calc'!A0", "\r\n\r\nHTTP/1.1 200 OK", "ｆｕｌｌｗｉｄｔｈ",
]
values = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=300).filter(lambda s: "\x00" not in s),
                   st.integers().map(str), st.emails())


def _writes() -> int:
    names = ", ".join(f"'{t}'" for t in BOOKKEEPING)
    return db.session.execute(sa.text(
        "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables "
        f"WHERE relname NOT IN ({names})"
    )).scalar_one()


def _pages(app, extra: list[str]) -> list[str]:
    pages = [r.rule for r in app.url_map.iter_rules()
             if "GET" in r.methods and not r.arguments and not r.rule.startswith(("/static", "/bootstrap", "/api"))
             and not r.rule.endswith((".csv", "/export")) and "logout" not in r.rule]
    return sorted(set(pages)) + extra


def _discover(client, pages) -> dict[str, object]:
    forms = {}
    for url in pages:
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.mimetype:
            continue
        for form in parse_forms(response.get_data(as_text=True)):
            action = form.action or url
            if form.method != "post" or "multipart" in form.enctype or action.startswith(SESSION_ENDERS):
                continue
            key = re.sub(r"/\d+", "/<id>", action.split("?")[0])
            forms.setdefault(key, (action, form))
    return forms


@pytest.mark.parametrize("who", ["user", "admin"])
def test_every_form_survives_random_and_hostile_input(app, client, who):
    person = make_admin() if who == "admin" else make_user()
    agent = make_agent(creator=person)
    model = make_chat_model()
    db.session.commit()
    login(client, person)
    extra = [f"/agents/{agent.slug}/edit"]
    if who == "admin":
        extra += [f"/admin/chat_models/{model.id}/edit", f"/admin/users/{person.id}/edit",
                  f"/admin/subscriptions/{person.subscription.id}/edit"]
    forms = _discover(client, _pages(app, extra))
    assert len(forms) >= 5, sorted(forms)
    counts = {}
    for key, (action, form) in sorted(forms.items()):
        names = [name for name, _, kind in form.fields if name != "csrf_token"]
        counts[key] = 0

        @given(data=st.fixed_dictionaries({name: values for name in names}),
               keep=st.lists(st.booleans(), min_size=len(names), max_size=len(names)))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def submit(data, keep):
            original = {name: value for name, value, _ in form.fields}
            body = {name: (original.get(name, "") if kept else data[name]) for name, kept in zip(names, keep)}
            counts[key] += 1
            before = _writes()
            with client.post(action, data=body) as response:
                assert response.status_code < 500, f"{action}: {response.status_code} for {body!r}"[:500]
                if response.status_code not in (301, 302, 303):
                    assert _writes() == before, f"{action} wrote rows although it refused {body!r}"[:500]
            login(client, person)  # some forms (email change, deactivation) end the session

        submit()
    print(f"\nform fuzzing as {who}: {sum(counts.values())} posts over {len(counts)} forms")
