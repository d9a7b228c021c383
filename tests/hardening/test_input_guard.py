"""Text PostgreSQL cannot store (NUL) is refused at the door with a 400, never a 500."""
from portal.extensions import db
from tests.factories import make_token, make_user


def test_nul_in_a_form_is_a_clear_400(client):
    response = client.post("/login", data={"email": "a\x00@example.com", "password": "x"})
    assert response.status_code == 400
    assert b"NUL character" in response.data


def test_nul_in_json_and_query_is_a_clear_400_json(client):
    user = make_user()
    _, token = make_token(user)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    body = client.post("/api/conversations/import", json={"conversations": [{"title": "\x00", "chat": []}]},
                       headers=headers)
    assert body.status_code == 400 and "NUL" in body.get_json()["error"]
    query = client.get("/api/search?q=a%00b", headers=headers)
    assert query.status_code == 400 and "NUL" in query.get_json()["error"]
