"""SqlNodeRepository: the node inventory."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from modelyard.domain.inventory import Node
from modelyard.domain.nodes import (
    NodeRecord,
    NodeSource,
    gpus_from_json,
    gpus_to_json,
    taints_from_json,
    taints_to_json,
)
from modelyard.store import tables as t
from modelyard.store.repositories.rows import utc_req


def _record(row: Any) -> NodeRecord:
    gpus, uuids = gpus_from_json(json.loads(row.gpus))
    node = Node(row.name, gpus, row.cpu_milli, row.memory_mib, json.loads(row.labels),
                taints_from_json(json.loads(row.taints)), bool(row.cordoned))
    return NodeRecord(node, NodeSource(row.source), utc_req(row.updated_at), uuids,
                      bool(row.draining))


def _values(r: NodeRecord) -> dict[str, Any]:
    n = r.node
    return {"source": str(r.source), "cpu_milli": n.cpu_milli, "memory_mib": n.memory_mib,
            "gpus": json.dumps(gpus_to_json(n.gpus, r.gpu_uuids)),
            "labels": json.dumps(dict(n.labels), sort_keys=True),
            "taints": json.dumps(taints_to_json(n.taints)), "cordoned": n.cordoned,
            "draining": r.draining, "updated_at": r.updated_at}


class SqlNodeRepository:
    """Nodes in SQL."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, name: str) -> NodeRecord | None:
        """Return the node or None."""
        row = (await self.conn.execute(select(t.nodes).where(t.nodes.c.name == name))).first()
        return _record(row) if row else None

    async def all(self) -> list[NodeRecord]:
        """Every node by name."""
        return [_record(r) for r in await self.conn.execute(select(t.nodes).order_by(t.nodes.c.name))]

    async def put(self, record: NodeRecord) -> None:
        """Insert or replace a node."""
        if await self.get(record.name) is None:
            await self.conn.execute(insert(t.nodes).values(name=record.name, **_values(record)))
        else:
            await self.conn.execute(update(t.nodes).where(t.nodes.c.name == record.name)
                                    .values(**_values(record)))

    async def delete(self, name: str) -> None:
        """Forget a node."""
        await self.conn.execute(delete(t.nodes).where(t.nodes.c.name == name))
