"""SqlQuotaRepository: team GPU quotas per GPU model."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from modelyard.domain.quotas import Quota
from modelyard.store import tables as t


class SqlQuotaRepository:
    """Quotas in SQL."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def all(self) -> list[Quota]:
        """Every quota."""
        q = select(t.quotas).order_by(t.quotas.c.team, t.quotas.c.gpu_model)
        return [Quota(r.team, r.gpu_model, r.guaranteed_milli, r.borrow_limit_milli)
                for r in await self.conn.execute(q)]

    async def put(self, quota: Quota) -> None:
        """Create or replace a quota."""
        where = (t.quotas.c.team == quota.team) & (t.quotas.c.gpu_model == quota.gpu_model)
        values = {"guaranteed_milli": quota.guaranteed_milli,
                  "borrow_limit_milli": quota.borrow_limit_milli}
        if (await self.conn.execute(select(t.quotas.c.team).where(where))).first() is None:
            await self.conn.execute(insert(t.quotas).values(
                team=quota.team, gpu_model=quota.gpu_model, **values))
        else:
            await self.conn.execute(update(t.quotas).where(where).values(**values))

    async def delete(self, team: str, gpu_model: str) -> None:
        """Remove a quota."""
        await self.conn.execute(delete(t.quotas).where(
            (t.quotas.c.team == team) & (t.quotas.c.gpu_model == gpu_model)))
