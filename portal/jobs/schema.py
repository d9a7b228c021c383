"""The job queue's own database objects: procrastinate's schema, applied by an Alembic migration.

procrastinate ships its schema as SQL (procrastinate/sql/schema.sql, for the pinned version in
requirements.txt). Migration 0003 runs it, so `flask db upgrade` sets the queue up with the rest of
the schema. A later procrastinate upgrade adds a migration that runs the matching files from
procrastinate/sql/migrations/.

Autogenerate must not compare these objects with our models (they are not in portal/models):
`include_object` below is used by migrations/env.py and by the schema-drift test.
"""
from __future__ import annotations

QUEUE_PREFIX = "procrastinate_"


def schema_sql() -> str:
    from procrastinate.schema import SchemaManager

    return SchemaManager.get_schema()


def is_queue_object(obj, name: str | None) -> bool:
    """True for procrastinate's tables and anything that belongs to one of them (indexes, constraints)."""
    if name and name.startswith(QUEUE_PREFIX):
        return True
    table = getattr(obj, "table", None)
    return bool(table is not None and getattr(table, "name", "").startswith(QUEUE_PREFIX))


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    return not is_queue_object(obj, name)
