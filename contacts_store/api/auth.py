"""Bearer tokens (or `?token=`): each maps to one customer, and every request is scoped to that customer.

Verified tokens are remembered for a few seconds so that the lookup hot path costs no extra query; a revoked
token therefore stops working within `CACHE_SECONDS`.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer

from contacts_store.api.errors import ApiError
from contacts_store.tokens import customer_of

CACHE_SECONDS = 30.0
CACHE_LIMIT = 10_000

bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <token>")
query_token = APIKeyQuery(name="token", auto_error=False, description="?token=<token>")


class TokenCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[uuid.UUID, float]] = {}

    def get(self, token: str) -> uuid.UUID | None:
        entry = self._entries.get(token)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, token: str, customer_id: uuid.UUID) -> None:
        if len(self._entries) >= CACHE_LIMIT:
            self._entries.clear()
        self._entries[token] = (customer_id, time.monotonic() + CACHE_SECONDS)


async def current_customer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    token_param: Annotated[str | None, Depends(query_token)],
) -> uuid.UUID:
    return authenticate(request, credentials.credentials if credentials is not None else token_param)


def request_token(request: Request) -> str | None:
    """The bearer token of the Authorization header, else `?token=`: what the dependency above reads, for the
    lookup hot path, which skips FastAPI's dependency machinery."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.query_params.get("token")


def authenticate(request: Request, token: str | None) -> uuid.UUID:
    if not token:
        raise ApiError(401, "AUTHENTICATION_REQUIRED", "send a token: Authorization: Bearer <token>, or ?token=")
    cache: TokenCache = request.app.state.tokens
    customer = cache.get(token)
    if customer is None:
        with request.app.state.read_engine.connect() as conn:
            customer = customer_of(conn, token)
        if customer is None:
            raise ApiError(401, "INVALID_TOKEN", "the token is unknown or revoked")
        cache.put(token, customer)
    return customer


Customer = Annotated[uuid.UUID, Depends(current_customer)]
