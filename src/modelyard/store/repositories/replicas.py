"""SqlReplicaRepository: replicas with optimistic concurrency on every write."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.ids import ReplicaId
from modelyard.domain.replicas import Allocation, Replica, ReplicaState
from modelyard.store import tables as t
from modelyard.store.repositories.rows import utc, utc_req


def _replica(row: Any) -> Replica:
    return Replica(
        id=ReplicaId(row.id), deployment=row.deployment, revision=row.revision,
        state=ReplicaState(row.state), state_since=utc_req(row.state_since),
        created_at=utc_req(row.created_at), node=row.node, pid=row.pid, port=row.port,
        token=row.token, restart_count=row.restart_count,
        next_restart_at=utc(row.next_restart_at), reason=row.reason, version=row.version,
        allocation=Allocation.from_json(json.loads(row.allocation)) if row.allocation else None,
    )


def _values(r: Replica) -> dict[str, Any]:
    return {
        "deployment": r.deployment, "revision": r.revision, "state": str(r.state),
        "state_since": r.state_since, "created_at": r.created_at, "node": r.node,
        "pid": r.pid, "port": r.port, "token": r.token, "restart_count": r.restart_count,
        "next_restart_at": r.next_restart_at, "reason": r.reason,
        "allocation": json.dumps(r.allocation.to_json()) if r.allocation else None,
    }


class SqlReplicaRepository:
    """Replicas in SQL."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, replica_id: str) -> Replica | None:
        """Return the replica or None."""
        row = (await self.conn.execute(select(t.replicas).where(t.replicas.c.id == replica_id))).first()
        return _replica(row) if row else None

    async def all(self, deployment: str | None = None) -> list[Replica]:
        """Return replicas (of one deployment) by creation time."""
        q = select(t.replicas).order_by(t.replicas.c.created_at, t.replicas.c.id)
        if deployment is not None:
            q = q.where(t.replicas.c.deployment == deployment)
        return [_replica(r) for r in await self.conn.execute(q)]

    async def add(self, r: Replica) -> None:
        """Insert a new replica."""
        await self.conn.execute(insert(t.replicas).values(id=r.id, version=r.version, **_values(r)))

    async def save(self, r: Replica) -> Replica:
        """Write ``r`` if its stored version is still ``r.version``; return it bumped."""
        res = await self.conn.execute(update(t.replicas).where(
            t.replicas.c.id == r.id, t.replicas.c.version == r.version,
        ).values(version=r.version + 1, **_values(r)))
        if res.rowcount != 1:
            raise ModelyardError(ErrorCode.CONFLICT, f"replica {r.id} changed meanwhile")
        return replace(r, version=r.version + 1)

    async def delete(self, replica_id: str) -> None:
        """Forget a stopped replica."""
        await self.conn.execute(delete(t.replicas).where(t.replicas.c.id == replica_id))
