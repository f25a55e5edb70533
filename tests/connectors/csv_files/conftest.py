"""Fixtures for the CSV connector tests.

The shared fixtures (real exports and vCards from Roundcube, Salesforce Data Loader test files, header lists) are
licensed for testing only and are read in place, never copied into the repository; everything else is generated
in `tmp_path`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.connectors.csv_files.helpers import CSV_FIXTURES, Writer


@pytest.fixture(scope="session")
def csv_fixtures() -> Path:
    if not CSV_FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {CSV_FIXTURES}")
    return CSV_FIXTURES


@pytest.fixture
def write_csv(tmp_path: Path) -> Writer:
    """Write `content` (text encoded with `encoding`, or bytes as they are) to a file in tmp_path."""

    def write(content: str | bytes, name: str = "contacts.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return write
