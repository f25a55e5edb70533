"""The one exception the CSV connector lets out.

Everything a user can cause (a wrong file, a bad mapping file, an unreadable encoding) surfaces as
`CsvImportError` with a one-line message, so the CLI can print `str(error)` and exit non-zero without a traceback.
Programming errors keep their own types.
"""

from __future__ import annotations


class CsvImportError(Exception):
    """A CSV file or mapping file that cannot be imported; the message is meant for the person running the import."""
