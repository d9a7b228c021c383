"""Sync failures in words: what the user reads in the status next to the repo or Notion workspace."""
from __future__ import annotations


class SyncError(Exception):
    """A sync stopped; `message` is shown to the user as is (it never contains a token)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TransientSyncError(SyncError):
    """Worth retrying: the remote API answered 5xx or the network failed."""


class RateLimitReached(SyncError):
    """The remote API's rate limit is used up; retrying before it resets would only fail again."""
