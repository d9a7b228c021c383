"""Pages that belong to no area: the home page and the health check."""
from flask import Blueprint, jsonify, render_template
from flask_login import current_user

from .health import database_ok

bp = Blueprint("core", __name__)


@bp.get("/")
def home():
    from ..accounts.services import admin_exists

    return render_template("core/home.html", needs_setup=not admin_exists(), user=current_user)


@bp.get("/healthz")
def healthz():
    ok = database_ok()
    body = {"status": "ok" if ok else "unavailable", "database": "ok" if ok else "down"}
    return jsonify(body), 200 if ok else 503
