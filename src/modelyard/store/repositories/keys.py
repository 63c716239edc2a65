"""SqlKeyRepository: API keys (prefix and hash only, never the key) and team creation."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from modelyard.domain.tenancy import ApiKey, Role, format_scopes, parse_scopes
from modelyard.store import tables as t
from modelyard.store.repositories.rows import utc, utc_req


def _key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id, prefix=row.prefix, key_hash=row.key_hash, name=row.name, team=row.team,
        role=Role(row.role), created_at=utc_req(row.created_at), expires_at=utc(row.expires_at),
        revoked_at=utc(row.revoked_at), last_used_at=utc(row.last_used_at),
        scopes=parse_scopes(row.scopes),
        deployments=tuple(d for d in row.deployments.split(",") if d),
        user=row.user_name, created_by=row.created_by,
    )


class SqlKeyRepository:
    """API keys and teams in SQL."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def ensure_team(self, name: str, now: datetime) -> None:
        """Create the team unless it exists."""
        found = (await self.conn.execute(select(t.teams).where(t.teams.c.name == name))).first()
        if found is None:
            await self.conn.execute(insert(t.teams).values(name=name, created_at=now))

    async def add(self, key: ApiKey) -> None:
        """Insert a key."""
        await self.conn.execute(insert(t.api_keys).values(
            id=key.id, prefix=key.prefix, key_hash=key.key_hash, name=key.name, team=key.team,
            role=str(key.role), created_at=key.created_at, expires_at=key.expires_at,
            revoked_at=key.revoked_at, last_used_at=key.last_used_at,
            scopes=format_scopes(key.scopes), deployments=",".join(key.deployments),
            user_name=key.user, created_by=key.created_by))

    async def by_prefix(self, prefix: str) -> ApiKey | None:
        """Return the key with this public prefix, or None."""
        q = select(t.api_keys).where(t.api_keys.c.prefix == prefix)
        row = (await self.conn.execute(q)).first()
        return _key(row) if row else None

    async def get(self, key_id: str) -> ApiKey | None:
        """Return the key with this id, or None."""
        row = (await self.conn.execute(select(t.api_keys).where(t.api_keys.c.id == key_id))).first()
        return _key(row) if row else None

    async def all(self) -> list[ApiKey]:
        """Return every key."""
        return [_key(r) for r in await self.conn.execute(
            select(t.api_keys).order_by(t.api_keys.c.created_at))]

    async def touch(self, key_id: str, now: datetime) -> None:
        """Record a use of the key."""
        await self.conn.execute(update(t.api_keys).where(t.api_keys.c.id == key_id).values(
            last_used_at=now))

    async def revoke(self, key: ApiKey, now: datetime) -> ApiKey:
        """Mark the key revoked (kept for the record); idempotent."""
        if key.revoked_at is not None:
            return key
        await self.conn.execute(update(t.api_keys).where(t.api_keys.c.id == key.id).values(
            revoked_at=now))
        return replace(key, revoked_at=now)

    async def count(self) -> int:
        """Number of keys."""
        return len(list(await self.conn.execute(select(t.api_keys.c.id))))
