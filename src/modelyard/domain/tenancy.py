"""Teams, users, roles, scopes, API keys and the principal a request acts as.

Roles rank admin > team-admin > developer > viewer; invoker stands apart (it may only
call named deployments). A key carries scopes: ``management`` (the REST API) and
``inference`` (the gateway), and optionally the deployments it may call. A key is bound
to one team; a user may be a member of several teams with one role in each.

A key is ``my_<prefix>_<secret>``: the 8-character prefix is public and indexes the key,
the secret never leaves the caller. Only the sha256 of the whole key is stored; keys are
256-bit random, so a fast hash is safe (no dictionary to attack) and lookups stay cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
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


class Scope(StrEnum):
    """Which plane a key may be used on."""

    MANAGEMENT = "management"
    INFERENCE = "inference"


ALL_SCOPES = frozenset(Scope)
#: Roles that may call deployments through the gateway (viewer is read only).
INVOKE_ROLES = frozenset({Role.ADMIN, Role.TEAM_ADMIN, Role.DEVELOPER, Role.INVOKER})
#: Roles a user (a person) may hold; invoker is for applications' service accounts.
USER_ROLES = frozenset({Role.ADMIN, Role.TEAM_ADMIN, Role.DEVELOPER, Role.VIEWER})

_RANK = {Role.ADMIN: 4, Role.TEAM_ADMIN: 3, Role.DEVELOPER: 2, Role.VIEWER: 1, Role.INVOKER: 1}


def can_grant(granter: Role, role: Role) -> bool:
    """True when a holder of ``granter`` may hand out ``role`` (never above their own).

    Only admins and team-admins grant; invoker may be granted by either of them.
    """
    if granter not in (Role.ADMIN, Role.TEAM_ADMIN):
        return False
    return _RANK[role] <= _RANK[granter]


def is_within(role: Role, ceiling: Role) -> bool:
    """True when ``role`` is not above ``ceiling`` (a key never outranks its user)."""
    if role == Role.INVOKER:
        return ceiling in INVOKE_ROLES
    return ceiling != Role.INVOKER and _RANK[role] <= _RANK[ceiling]


def parse_scopes(text: str) -> frozenset[Scope]:
    """Parse the stored form ``"management,inference"``."""
    return frozenset(Scope(s) for s in text.split(",") if s)


def format_scopes(scopes: Iterable[Scope]) -> str:
    """The stored form of ``scopes``, sorted."""
    return ",".join(sorted(str(s) for s in scopes))


@dataclass(frozen=True)
class Team:
    """A tenant: owns models, deployments and keys."""

    name: str
    created_at: datetime


@dataclass(frozen=True)
class User:
    """A person's membership of one team, with their role in it."""

    name: str
    team: str
    role: Role
    created_at: datetime


@dataclass(frozen=True)
class ApiKey:
    """A stored key: public prefix and hash only.

    ``user`` is the person the key belongs to, or None for a service account (then
    ``name`` names the application). ``deployments`` empty means every deployment of
    the team.
    """

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
    scopes: frozenset[Scope] = ALL_SCOPES
    deployments: tuple[str, ...] = ()
    user: str | None = None
    created_by: str = ""


@dataclass(frozen=True)
class Principal:
    """Who a request acts as."""

    key_id: str
    name: str
    team: str
    role: Role
    scopes: frozenset[Scope] = field(default=ALL_SCOPES)
    deployments: tuple[str, ...] = ()

    @classmethod
    def from_key(cls, key: ApiKey) -> Principal:
        """The principal a stored key acts as."""
        return cls(key.id, key.name, key.team, key.role, key.scopes, key.deployments)


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
    is_hex = len(prefix) == 8 and all(c in "0123456789abcdef" for c in prefix)
    return prefix if sep and is_hex and secret else None


def matches(plaintext: str, key_hash: str) -> bool:
    """Constant-time check of ``plaintext`` against a stored hash."""
    return hmac.compare_digest(hash_key(plaintext), key_hash)


def is_usable(key: ApiKey, now: datetime) -> bool:
    """True when the key is neither revoked nor expired at ``now``."""
    return key_state(key, now) == "active"


def key_state(key: ApiKey, now: datetime) -> str:
    """``active``, ``expired`` or ``revoked`` at ``now``."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def may_invoke(principal: Principal, deployment: str) -> str | None:
    """Return why ``principal`` may not call ``deployment`` of its own team, or None.

    Team visibility is checked by the caller first (another team's deployment must look
    missing, not forbidden).
    """
    if Scope.INFERENCE not in principal.scopes:
        return "the API key has no inference scope"
    if principal.role not in INVOKE_ROLES:
        return f"role {principal.role} may not invoke deployments"
    if principal.deployments and deployment not in principal.deployments:
        return "the API key may not call this deployment"
    return None
