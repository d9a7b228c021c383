"""The OpenAPI 3.1 document of the JSON API, generated from the routes and their pydantic models.

Endpoints describe themselves with `@describe(...)`: the pydantic models they already use for the
query string, the JSON body and the answer. Routes without a description still appear (path, method,
path parameters, the shared error answers), so the document never misses an /api route.
"""
from __future__ import annotations

import re
from typing import Any

from flask import current_app, jsonify
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from . import bp

REF_TEMPLATE = "#/components/schemas/{model}"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "details": {"type": "array", "items": {"type": "object"}}},
    "required": ["error"],
}
ERROR_STATUSES = {
    "400": "Malformed request (for example a body that is not JSON).",
    "401": "A valid API token is required.",
    "403": "Not allowed.",
    "404": "Not found (or not yours).",
    "409": "Conflict with a concurrent change.",
    "413": "Upload too large.",
    "415": "Unsupported media type.",
    "422": "Invalid fields; `details` lists them.",
    "429": "Rate limited; see Retry-After.",
    "503": "Temporarily unavailable.",
}


def describe(*, summary: str | None = None, query: type[BaseModel] | None = None,
             body: type[BaseModel] | None = None, response: Any = None, status: int = 200,
             multipart: dict[str, str] | None = None, auth: bool = True, raw_body: str | None = None):
    """Attach OpenAPI facts to a view. `response` may be a model, `list[Model]`, or any type pydantic knows.

    `multipart` maps form field names to descriptions (files are sent as binary parts);
    `raw_body` names a content type read as raw bytes (e.g. webhooks signed over the exact payload).
    """

    def decorate(view):
        view._openapi = {
            "summary": summary, "query": query, "body": body, "response": response, "status": status,
            "multipart": multipart, "auth": auth, "raw_body": raw_body,
        }
        return view

    return decorate


def _path(rule: str) -> tuple[str, list[dict]]:
    params = []

    def replace(match):
        converter, name = match.group(1), match.group(2)
        schema = {"type": "integer"} if converter == "int" else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", replace, rule), params


def _schema_for(annotation, definitions: dict) -> dict:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        _, defs = models_json_schema([(annotation, "validation")], ref_template=REF_TEMPLATE)
        definitions.update(defs.get("$defs", {}))
        return {"$ref": REF_TEMPLATE.format(model=annotation.__name__)}
    schema = TypeAdapter(annotation).json_schema(ref_template=REF_TEMPLATE)
    definitions.update(schema.pop("$defs", {}))
    return schema


def _query_parameters(model: type[BaseModel], definitions: dict) -> list[dict]:
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    definitions.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation(view, method: str, path_params: list[dict], definitions: dict) -> dict:
    meta = getattr(view, "_openapi", None) or {}
    doc = (view.__doc__ or "").strip().splitlines()
    operation: dict[str, Any] = {
        "operationId": f"{view.__name__}_{method.lower()}",
        "summary": meta.get("summary") or (doc[0] if doc else view.__name__.replace("_", " ")),
        "parameters": list(path_params),
        "responses": {},
    }
    if meta.get("query"):
        operation["parameters"] += _query_parameters(meta["query"], definitions)
    if meta.get("body"):
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema_for(meta["body"], definitions)}},
        }
    elif meta.get("multipart"):
        properties = {
            name: {"type": "array", "items": {"type": "string", "format": "binary"}, "description": text}
            for name, text in meta["multipart"].items()
        }
        operation["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": {"type": "object", "properties": properties}}},
        }
    elif meta.get("raw_body"):
        operation["requestBody"] = {"required": True, "content": {meta["raw_body"]: {"schema": {"type": "string"}}}}
    success = {"description": "Success"}
    if meta.get("response") is not None:
        success["content"] = {"application/json": {"schema": _schema_for(meta["response"], definitions)}}
    elif method != "DELETE":
        success["content"] = {"application/json": {"schema": {}}}
    operation["responses"][str(meta.get("status", 200))] = success
    for code, text in ERROR_STATUSES.items():
        operation["responses"].setdefault(
            code, {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}}
        )
    if meta.get("auth", True) and not view.__name__.startswith(("openapi", "health")):
        operation["security"] = [{"bearerAuth": []}]
    else:
        operation["security"] = []
    return operation


def build_openapi(app) -> dict:
    definitions: dict = {"ApiError": ERROR_SCHEMA}
    paths: dict = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        path, path_params = _path(rule.rule)
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(view, method, path_params, definitions)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Khoj Portal API", "version": "1",
                 "description": "JSON endpoints for scripts. Authenticate with `Authorization: Bearer kk-…`."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": definitions,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/openapi.json")
@describe(summary="This document", auth=False)
def openapi_document():
    """The OpenAPI 3.1 document of every /api endpoint."""
    return jsonify(build_openapi(current_app))
