"""Authenticate an API key against the route table's key entries (constant-time)."""

from __future__ import annotations

from datetime import datetime

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.routes import RouteTable
from modelyard.domain.tenancy import Principal, matches, prefix_of


def bearer_token(header: str | None) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def authenticate(header: str | None, table: RouteTable, now: datetime) -> Principal:
    """Return the principal of a valid, unexpired key, else raise ``unauthenticated``."""
    token = bearer_token(header)
    if token is None:
        raise ModelyardError(ErrorCode.UNAUTHENTICATED, "missing bearer API key")
    prefix = prefix_of(token)
    entry = table.keys.get(prefix) if prefix else None
    if entry is None or not matches(token, entry.key_hash):
        raise ModelyardError(ErrorCode.UNAUTHENTICATED, "invalid API key")
    if entry.expires_at is not None and entry.expires_at <= now:
        raise ModelyardError(ErrorCode.UNAUTHENTICATED, "the API key has expired")
    return entry.principal()
