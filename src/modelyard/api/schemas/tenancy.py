"""Schemas of teams, users and API keys (a key's secret appears only in ``KeyCreated``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from modelyard.domain.tenancy import ApiKey, Role, Scope, Team, User, key_state

NAME = Field(min_length=1, max_length=63)


class TeamCreate(BaseModel):
    """Create a team."""

    model_config = ConfigDict(extra="forbid")
    name: str = NAME


class TeamPublic(BaseModel):
    """A team."""

    name: str
    created_at: datetime

    @classmethod
    def from_domain(cls, t: Team) -> TeamPublic:
        """Build from the domain object."""
        return cls(name=t.name, created_at=t.created_at)


class UserCreate(BaseModel):
    """Add a user to a team with a role."""

    model_config = ConfigDict(extra="forbid")
    name: str = NAME
    team: str | None = Field(default=None, min_length=1, max_length=63)
    role: Role = Role.DEVELOPER


class UserPublic(BaseModel):
    """A user's membership of a team."""

    name: str
    team: str
    role: str
    created_at: datetime

    @classmethod
    def from_domain(cls, u: User) -> UserPublic:
        """Build from the domain object."""
        return cls(name=u.name, team=u.team, role=str(u.role), created_at=u.created_at)


class KeyCreate(BaseModel):
    """Create an API key for a user or a service account."""

    model_config = ConfigDict(extra="forbid")
    name: str = NAME
    team: str | None = Field(default=None, min_length=1, max_length=63)
    role: Role = Role.DEVELOPER
    user: str | None = Field(default=None, min_length=1, max_length=63)
    scopes: list[Scope] | None = Field(default=None, max_length=2)
    deployments: list[str] = Field(default_factory=list, max_length=64)
    expires_in_s: int | None = Field(default=None, ge=1, le=10 * 365 * 86400)


class KeyPublic(BaseModel):
    """A key as listed: public prefix and metadata, never the key or its hash."""

    id: str
    prefix: str
    name: str
    team: str
    role: str
    user: str | None
    scopes: list[str]
    deployments: list[str]
    state: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_domain(cls, k: ApiKey, now: datetime) -> KeyPublic:
        """Build from the domain object."""
        return cls(id=k.id, prefix=k.prefix, name=k.name, team=k.team, role=str(k.role),
                   user=k.user, scopes=sorted(str(s) for s in k.scopes),
                   deployments=list(k.deployments), state=key_state(k, now),
                   created_at=k.created_at, created_by=k.created_by, expires_at=k.expires_at,
                   revoked_at=k.revoked_at, last_used_at=k.last_used_at)


class KeyCreated(KeyPublic):
    """A new key: ``key`` is shown this once and never again."""

    key: str
