"""API endpoints that belong to no single area."""
from flask import jsonify

from ..core.health import database_ok
from . import bp


@bp.get("/health")
def health():
    ok = database_ok()
    return jsonify({"status": "ok" if ok else "unavailable", "database": "ok" if ok else "down"}), (
        200 if ok else 503
    )
