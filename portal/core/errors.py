"""Error pages: HTML for browsers, {"error": …} JSON for the API and JSON clients. Never a traceback."""
from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from sqlalchemy.exc import DataError, DBAPIError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from ..auth import wants_json
from ..extensions import db
from ..ratelimit import RateLimited

log = logging.getLogger(__name__)

# PostgreSQL error codes meaning "nothing can be written right now": said plainly, as a 503.
UNWRITABLE = {
    "25006": "The database is read-only at the moment, so changes cannot be saved. Please try again later.",
    "53100": "The database server is out of disk space, so changes cannot be saved. Please try again later.",
    "53200": "The database server is out of memory. Please try again in a moment.",
}

MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in.",
    403: "You do not have access to this page.",
    404: "This page does not exist, or you do not have access to it.",
    405: "This method is not allowed here.",
    409: "Someone else changed this at the same time. Reload and try again.",
    413: "The upload is too large.",
    422: "The request was not valid.",
    429: "Too many attempts. Please wait and try again.",
    500: "Something went wrong on our side. It has been logged.",
    503: "The service is temporarily unavailable. Please try again in a moment.",
}


def error_response(status: int, message: str | None = None, headers: dict | None = None,
                   database_down: bool = False):
    """The error page or JSON. With `database_down`, the page needs no database (no user, no navigation)."""
    message = message or MESSAGES.get(status, "Error")
    if wants_json():
        response = jsonify({"error": message})
    else:
        response = None
        if not database_down:
            try:
                response = render_template("errors/error.html", status=status, message=message)
            except SQLAlchemyError:
                # The page's navigation needs the signed-in user, and the database just went away.
                db.session.rollback()
                status, message = 503, MESSAGES[503]
        if response is None:
            # Straight from the Jinja environment: no context processors, so no current-user lookup.
            page = current_app.jinja_env.get_template("errors/unavailable.html")
            response = page.render(status=status, message=message, path=request.path)
    response = (response, status, headers or {})
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.response is not None:  # abort(response) from API code: already shaped
            return exc.response
        message = exc.description if exc.code in (400, 413, 422) and exc.description else None
        if exc.code == 400 and exc.description and "CSRF" in exc.description:
            message = "The form expired or was not sent from this site. Reload the page and try again."
        elif exc.code == 413:
            limit_mb = (app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
            message = f"The upload is larger than the {limit_mb} MB limit."
        return error_response(exc.code or 500, message, dict(exc.get_headers()) if exc.code == 405 else None)

    @app.errorhandler(RateLimited)
    def rate_limited(exc: RateLimited):
        return error_response(429, exc.message, {"Retry-After": str(exc.retry_after)})

    @app.errorhandler(OperationalError)
    def database_down(exc: OperationalError):
        db.session.rollback()
        log.error("database unavailable: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
        return error_response(503, None, {"Retry-After": "5"}, database_down=True)

    @app.errorhandler(DataError)
    def database_rejected_value(exc: DataError):
        # A value the database cannot hold (out of range, malformed) that validation let through:
        # the request is at fault, and the rollback leaves nothing half-written.
        db.session.rollback()
        log.warning("database refused a value: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
        return error_response(422, "A value is out of range or malformed.")

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError):
        db.session.rollback()
        if exc.connection_invalidated:
            return error_response(503, None, {"Retry-After": "5"}, database_down=True)
        code = getattr(exc.orig, "pgcode", None)
        if code in UNWRITABLE:
            log.error("database cannot write (%s): %s", code, str(exc.orig).splitlines()[0])
            return error_response(503, UNWRITABLE[code], {"Retry-After": "30"}, database_down=True)
        log.exception("database error")
        return error_response(500)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        db.session.rollback()
        log.exception("unhandled error")
        return error_response(500)
