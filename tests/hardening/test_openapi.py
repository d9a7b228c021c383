"""The OpenAPI 3.1 document lists every /api route and method, and its references resolve."""
import json
import re

from portal.api.openapi import build_openapi


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_api_route_and_method_is_documented(app, client):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    routes = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api"):
            continue
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], f"{method} {path} missing"
            routes += 1
    assert routes >= 20


def test_references_resolve_and_bodies_come_from_pydantic(app):
    document = build_openapi(app)
    schemas = document["components"]["schemas"]
    for ref in set(_refs(document)):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    body = document["paths"]["/api/agents"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].rsplit("/", 1)[1] in schemas
    json.dumps(document)  # serialisable as served
    assert document["paths"]["/api/search"]["get"]["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/api/health"]["get"]["security"] == []
