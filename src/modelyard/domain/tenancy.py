"""Teams, roles, API keys and the principal a request acts as.

A key is ``my_<prefix>_<secret>``: the 8-character prefix is public and indexes the key,
the secret never leaves the caller. Only the sha256 of the whole key is stored; keys are
256-bit random, so a fast hash is safe (no dictionary to attack) and lookups stay cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

KEY_PREFIX = "my_"
DEFAULT_TEAM = "default"


class Role(StrEnum):
    """What a key's holder may do."""

    ADMIN = "admin"
    TEAM_ADMIN = "team-admin"
    DEVELOPER = "developer"
    VIEWER = "viewer"
    INVOKER = "invoker"


@dataclass(frozen=True)
class ApiKey:
    """A stored key: public prefix and hash only."""

    id: str
    prefix: str
    key_hash: str
    name: str
    team: str
    role: Role
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


@dataclass(frozen=True)
class Principal:
    """Who a request acts as."""

    key_id: str
    name: str
    team: str
    role: Role


def generate_key() -> tuple[str, str, str]:
    """Return ``(plaintext key, public prefix, hash)`` of a fresh key."""
    prefix = secrets.token_hex(4)
    plaintext = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return plaintext, prefix, hash_key(plaintext)


def hash_key(plaintext: str) -> str:
    """Return the stored hash of a key."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def prefix_of(plaintext: str) -> str | None:
    """Return the public prefix of a well-formed key, else None."""
    if not plaintext.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = plaintext[len(KEY_PREFIX):].partition("_")
    return prefix if sep and len(prefix) == 8 and secret else None


def matches(plaintext: str, key_hash: str) -> bool:
    """Constant-time check of ``plaintext`` against a stored hash."""
    return hmac.compare_digest(hash_key(plaintext), key_hash)


def is_usable(key: ApiKey, now: datetime) -> bool:
    """True when the key is neither revoked nor expired at ``now``."""
    if key.revoked_at is not None:
        return False
    return key.expires_at is None or key.expires_at > now
