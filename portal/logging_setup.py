"""Logging: one line per record, with a filter that masks anything shaped like a secret.

The filter is a safety net; code must still never log secrets (security.md #18).
"""
from __future__ import annotations

import logging
import re

SECRET_PATTERNS = [
    re.compile(r"kk-[A-Za-z0-9_\-]{20,}"),          # our API tokens
    re.compile(r"(?i)(bearer|token)\s+[A-Za-z0-9_\-\.]{12,}"),
    re.compile(r"ghp_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"(secret|ntn)_[A-Za-z0-9]{20,}"),    # Notion integration tokens
    re.compile(r"sk-[A-Za-z0-9_\-]{16,}"),
]


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for pattern in SECRET_PATTERNS:
            redacted = pattern.sub("[redacted]", redacted)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def setup_logging(level: str) -> None:
    root = logging.getLogger()
    if getattr(root, "_portal_configured", False):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root.addHandler(handler)
    root.setLevel(level.upper())
    root._portal_configured = True  # type: ignore[attr-defined]
