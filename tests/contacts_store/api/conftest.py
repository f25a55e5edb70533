"""An app on a fresh store (SQLite and PostgreSQL) and a token per customer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from contacts_store.api.app import create_app
from contacts_store.tokens import create_token


@dataclass
class Tenant:
    """A customer with its own token, and a client that sends it."""

    customer_id: uuid.UUID
    token: str
    client: TestClient

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, headers={**self.auth, **kwargs.pop("headers", {})}, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.client.post(url, headers={**self.auth, **kwargs.pop("headers", {})}, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Any:
        return self.client.put(url, headers={**self.auth, **kwargs.pop("headers", {})}, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.client.delete(url, headers={**self.auth, **kwargs.pop("headers", {})}, **kwargs)

    def create(self, **body: Any) -> dict[str, Any]:
        response = self.post("/v1.0/contacts", json=body)
        assert response.status_code == 201, response.text
        document: dict[str, Any] = response.json()
        return document


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    app = create_app(db_url, region="US")
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def new_tenant(engine: Engine, client: TestClient) -> Tenant:
    customer = uuid.uuid4()
    with engine.begin() as conn:
        token, _ = create_token(conn, customer, "test")
    return Tenant(customer, token, client)


@pytest.fixture
def alice(engine: Engine, client: TestClient) -> Tenant:
    return new_tenant(engine, client)


@pytest.fixture
def bob(engine: Engine, client: TestClient) -> Tenant:
    return new_tenant(engine, client)
