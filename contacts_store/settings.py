"""Settings read from the environment, so the CLI, the API and Dagster resources agree on them."""

from __future__ import annotations

import os
import uuid

DEFAULT_DATABASE_URL = "sqlite:///contacts.db"
NIL_CUSTOMER = uuid.UUID(int=0)


def database_url() -> str:
    return os.environ.get("CONTACTS_DATABASE_URL") or DEFAULT_DATABASE_URL


def default_customer_id() -> uuid.UUID:
    """`CONTACTS_CUSTOMER_ID`, else the nil UUID that single-tenant installations use."""
    value = os.environ.get("CONTACTS_CUSTOMER_ID")
    return uuid.UUID(value) if value else NIL_CUSTOMER
