"""The database never holds a password, an API token or a one-time code in clear: scan every text column."""
from __future__ import annotations

import sqlalchemy as sa

from portal.accounts.services import issue_login_link
from portal.extensions import db
from tests.accounts.helpers import last_code, outbox
from tests.accounts.test_security import TOKEN_RE

PASSWORD = "my very own secret passphrase"


def text_columns() -> list[tuple[str, str]]:
    return db.session.execute(sa.text(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'ARRAY')"
    )).all()


def rows_containing(needle: str) -> list[str]:
    found = []
    for table, column in text_columns():
        count = db.session.execute(sa.text(
            f'SELECT count(*) FROM "{table}" WHERE strpos("{column}"::text, :needle) > 0'
        ), {"needle": needle}).scalar_one()
        if count:
            found.append(f"{table}.{column}")
    return found


def test_no_token_password_or_code_in_clear_anywhere(client, app, app_context):
    outbox(app).clear()
    client.post("/signup", data={"email": "scan@example.com", "password": PASSWORD})
    email_code = last_code(app, to="scan@example.com")
    client.post("/profile/phone", data={"phone_number": "+14155550123"})
    phone_code = last_code(app, kind="sms")
    token = TOKEN_RE.search(client.post("/tokens", data={"name": "scanner", "expiry": "90"}).text)[1]
    client.post("/profile/password", data={"current_password": PASSWORD, "new_password": PASSWORD + " two"})
    from portal.models import KhojUser

    user = db.session.execute(sa.select(KhojUser).where(KhojUser.email == "scan@example.com")).scalar_one()
    with app.test_request_context("/"):
        link_code = issue_login_link(user).rsplit("code=", 1)[1]
    db.session.commit()

    assert len(text_columns()) > 50  # really every table
    assert "khoj_user.email" in rows_containing("scan@example.com")  # the scan does find what is there
    for label, secret in (("password", PASSWORD), ("new password", PASSWORD + " two"), ("token", token),
                          ("token body", token[3:]), ("email code", email_code), ("phone code", phone_code),
                          ("login link code", link_code)):
        assert rows_containing(secret) == [], f"the {label} is stored in clear"
    # The stored forms are there, and they are not the secrets.
    assert user.password_hash.startswith("$argon2id$")
    assert len(user.phone_verification_code) == 64 and len(user.email_verification_code) == 64
