"""Refuse text PostgreSQL cannot store before any view sees it.

PostgreSQL text and JSONB cannot hold the NUL character (U+0000); psycopg raises deep inside a
write, which would surface as a 500 after part of the work was done. One check at the door turns it
into a clear 400 for forms, query strings and JSON bodies alike.
"""
from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest

NUL = "\x00"
MESSAGE = "Text may not contain the NUL character (U+0000)."


def contains_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(contains_nul(v) for v in value)
    return False


def register_input_guard(app: Flask) -> None:
    @app.before_request
    def refuse_nul_characters():
        if NUL in request.full_path or any(contains_nul(v) for v in request.args.listvalues()):
            raise BadRequest(MESSAGE)
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                if any(contains_nul(k) or contains_nul(v) for k, v in request.form.items(multi=True)):
                    raise BadRequest(MESSAGE)
            elif request.is_json and contains_nul(request.get_json(silent=True)):
                raise BadRequest(MESSAGE)
