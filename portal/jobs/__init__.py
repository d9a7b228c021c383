"""Background jobs on procrastinate, a PostgreSQL-backed queue (see queue.py for the connector choice)."""
