"""The exceptions a CRM connector lets out, each a one-line message meant for the person running the sync.

The sync driver tells them apart: a `QuotaExhausted` ends the run cleanly with its progress saved, the others fail
it; none of them ever moves the cursor past the data that was stored.
"""

from __future__ import annotations


class SyncError(Exception):
    """A sync that cannot go on; `str(error)` says why."""


class ConfigurationError(SyncError):
    """Settings are missing or contradict each other (nothing was requested from the CRM)."""


class AuthenticationError(SyncError):
    """The CRM refused the credentials or the token could not be refreshed."""


class QuotaExhausted(SyncError):
    """The CRM's API quota is used up: stop, keep what was stored, resume on the next run."""


class SourceError(SyncError):
    """The CRM answered something unusable (a malformed body, an error that retries did not cure)."""


class QueryTimeout(SourceError):
    """The CRM gave up on a query that was too expensive; a narrower one may succeed."""
