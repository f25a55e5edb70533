"""API tokens: each belongs to one customer, is shown once when created and is stored only as its SHA-256.

Tokens carry 256 bits of randomness, so a plain SHA-256 is enough to make a leaked table useless (a slow
password hash protects guessable secrets, which these are not) and keeps verification to one indexed look-up.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from contacts_store import schema
from contacts_store.ids import new_id

TOKEN_PREFIX = "cs_"


@dataclass(frozen=True)
class TokenInfo:
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    prefix: str
    tm_create: datetime
    tm_revoke: datetime | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(conn: Connection, customer_id: uuid.UUID, name: str) -> tuple[str, TokenInfo]:
    """A new token for the customer: the token (to show once) and what is stored about it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    info = TokenInfo(new_id(), customer_id, name.strip()[:128] or "token", token[:10], datetime.now(UTC), None)
    conn.execute(
        schema.api_tokens.insert().values(
            id=info.id,
            customer_id=customer_id,
            name=info.name,
            token_hash=hash_token(token),
            prefix=info.prefix,
            tm_create=info.tm_create,
        )
    )
    return token, info


def customer_of(conn: Connection, token: str) -> uuid.UUID | None:
    """The customer a live token belongs to, or None for an unknown or revoked token."""
    t = schema.api_tokens
    return conn.execute(
        sa.select(t.c.customer_id).where(t.c.token_hash == hash_token(token), t.c.tm_revoke.is_(None))
    ).scalar()


def list_tokens(conn: Connection, customer_id: uuid.UUID | None = None) -> list[TokenInfo]:
    t = schema.api_tokens
    query = sa.select(t.c.id, t.c.customer_id, t.c.name, t.c.prefix, t.c.tm_create, t.c.tm_revoke)
    if customer_id is not None:
        query = query.where(t.c.customer_id == customer_id)
    return [TokenInfo(*row) for row in conn.execute(query.order_by(t.c.tm_create, t.c.id))]


def revoke_token(conn: Connection, token_id: uuid.UUID) -> bool:
    """Revoke by id (as `list_tokens` shows it); False when there is no such live token."""
    t = schema.api_tokens
    revoked = conn.execute(
        t.update().where(t.c.id == token_id, t.c.tm_revoke.is_(None)).values(tm_revoke=datetime.now(UTC))
    ).rowcount
    return bool(revoked)
