"""The WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi run`. The only module that builds an app at import."""
import sys

from portal import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:
    # One clear sentence for the operator instead of a traceback.
    print(f"Khoj Portal cannot start: {exc}", file=sys.stderr)
    sys.exit(2)
