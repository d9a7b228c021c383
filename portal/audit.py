"""The audit log: one row per admin or security-relevant change, secrets redacted.

    record("token.create", actor=user, obj=token_row, changes={"name": "laptop"})

The row joins the caller's transaction, so it commits (or rolls back) with the change it describes.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from flask import has_request_context, request

from .extensions import db
from .models import AuditLog

# Any field whose name contains one of these is logged as "changed", never as a value.
SECRET_FIELD_MARKERS = ("password", "token", "api_key", "secret", "code", "pat")


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return any(marker in lowered for marker in SECRET_FIELD_MARKERS)


def _jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def redact(changes: dict | None) -> dict:
    clean = {}
    for key, value in (changes or {}).items():
        clean[key] = "changed" if is_secret_field(key) else _jsonable(value)
    return clean


def client_ip() -> str | None:
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:45] or None


def record(action: str, *, actor=None, obj=None, object_type: str | None = None,
           object_id=None, changes: dict | None = None) -> AuditLog:
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    row = AuditLog(
        actor_id=getattr(actor, "id", actor) if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        changes=redact(changes),
        ip=client_ip(),
    )
    db.session.add(row)
    return row


def diff(obj, fields) -> dict:
    """{field: [old, new]} for the given fields of a SQLAlchemy object with pending changes."""
    from sqlalchemy import inspect

    state = inspect(obj)
    changes = {}
    for name in fields:
        history = state.attrs[name].history
        if history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            changes[name] = [old, new]
    return changes
