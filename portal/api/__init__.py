"""The JSON API for scripts: Bearer tokens only, JSON errors only, CSRF-exempt.

Each area adds its endpoints to `bp` in a module of this package (for example
portal/api/search.py) and imports it at the bottom of this file.
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, g, jsonify
from pydantic import BaseModel, ValidationError

from ..auth import bearer_token, user_for_token

bp = Blueprint("api", __name__, url_prefix="/api")


class ApiError(Exception):
    """Raised by API code for a clean JSON error: {"error": message} with `status`."""

    def __init__(self, message: str, status: int = 400, details: list | None = None):
        super().__init__(message)
        self.message, self.status, self.details = message, status, details


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    body = {"error": exc.message}
    if exc.details:
        body["details"] = exc.details
    return jsonify(body), exc.status


def token_required(view):
    """Authenticate by `Authorization: Bearer kk-…`; the user is `g.api_user`."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        token = bearer_token()
        user = user_for_token(token) if token else None
        if user is None:
            response = jsonify({"error": "A valid API token is required (Authorization: Bearer kk-…)."})
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="khoj-portal"'
            abort(response)
        g.api_user = user
        return view(*args, **kwargs)

    return wrapped


def parse_body(model: type[BaseModel]):
    """Validate the JSON body against a pydantic model; 400 for non-JSON, 422 with details for bad fields."""
    from flask import request

    data = request.get_json(silent=True)
    if data is None:
        raise ApiError("The request body must be JSON.", 400)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()
        ]
        raise ApiError("The request body is not valid.", 422, details) from exc


def parse_query(model: type[BaseModel]):
    """Validate the query string against a pydantic model; 422 with details for bad values."""
    from flask import request

    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()
        ]
        raise ApiError("The query parameters are not valid.", 422, details) from exc


from . import core  # noqa: E402,F401  (registers the endpoints)
from . import content, search  # noqa: E402,F401  (content and search endpoints)
from . import subscriptions  # noqa: E402,F401
from . import models  # noqa: E402,F401
from . import accounts  # noqa: E402,F401
from . import agents, conversations  # noqa: E402,F401  (agents and conversations endpoints)
from . import integrations  # noqa: E402,F401  (GitHub, Notion, sync status, URL import)
from . import openapi  # noqa: E402,F401  (the OpenAPI document; import last so it sees every route)
