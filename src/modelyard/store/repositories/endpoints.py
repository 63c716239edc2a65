"""SqlExternalDeploymentRepository: deployments served by external endpoints."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from modelyard.domain.endpoints import ExternalDeployment
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.store import tables as t
from modelyard.store.repositories.rows import utc_req


def _external(row: Any) -> ExternalDeployment:
    return ExternalDeployment(row.name, row.team, row.environment,
                              tuple(u for u in row.urls.split("\n") if u), row.upstream_key_env,
                              row.health_path, utc_req(row.created_at),
                              float(row.connect_timeout_s), float(row.read_timeout_s))


class SqlExternalDeploymentRepository:
    """External deployments in SQL."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, ext: ExternalDeployment) -> None:
        """Insert; ``already_exists`` when the name is taken."""
        try:
            await self.conn.execute(insert(t.external_deployments).values(
                name=ext.name, team=ext.team, environment=ext.environment, urls="\n".join(ext.urls),
                upstream_key_env=ext.upstream_key_env, health_path=ext.health_path,
                created_at=ext.created_at, connect_timeout_s=ext.connect_timeout_s,
                read_timeout_s=ext.read_timeout_s))
        except IntegrityError:
            raise ModelyardError(ErrorCode.ALREADY_EXISTS, f"deployment {ext.name!r} exists") from None

    async def get(self, name: str) -> ExternalDeployment | None:
        """Return one, or None."""
        row = (await self.conn.execute(select(t.external_deployments).where(
            t.external_deployments.c.name == name))).first()
        return _external(row) if row else None

    async def all(self) -> list[ExternalDeployment]:
        """Every external deployment, by name."""
        rows = await self.conn.execute(select(t.external_deployments)
                                       .order_by(t.external_deployments.c.name))
        return [_external(r) for r in rows]

    async def delete(self, name: str) -> None:
        """Remove one (no error when absent)."""
        await self.conn.execute(delete(t.external_deployments).where(
            t.external_deployments.c.name == name))
