"""Store and UnitOfWork: the transaction boundary around the repositories.

``async with store.uow() as uow`` opens one transaction; leaving the block commits, an
exception rolls back. SQLite runs in WAL mode with a busy timeout and foreign keys on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from modelyard.store.repositories.audit import SqlAuditRepository
from modelyard.store.repositories.deployments import SqlDeploymentRepository
from modelyard.store.repositories.drift import SqlDriftRepository
from modelyard.store.repositories.endpoints import SqlExternalDeploymentRepository
from modelyard.store.repositories.keys import SqlKeyRepository
from modelyard.store.repositories.models import SqlModelRepository
from modelyard.store.repositories.nodes import SqlNodeRepository
from modelyard.store.repositories.quotas import SqlQuotaRepository
from modelyard.store.repositories.replicas import SqlReplicaRepository
from modelyard.store.repositories.rollouts import SqlRolloutRepository
from modelyard.store.repositories.teams import SqlTeamRepository
from modelyard.store.repositories.usage import SqlUsageRepository
from modelyard.store.schema import migrate


class UnitOfWork:
    """The repositories of one transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.models = SqlModelRepository(conn)
        self.deployments = SqlDeploymentRepository(conn)
        self.replicas = SqlReplicaRepository(conn)
        self.keys = SqlKeyRepository(conn)
        self.nodes = SqlNodeRepository(conn)
        self.quotas = SqlQuotaRepository(conn)
        self.teams = SqlTeamRepository(conn)
        self.audit = SqlAuditRepository(conn)
        self.rollouts = SqlRolloutRepository(conn)
        self.usage = SqlUsageRepository(conn)
        self.drift = SqlDriftRepository(conn)
        self.external = SqlExternalDeploymentRepository(conn)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Store:
    """Owns the engine; hands out units of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine: AsyncEngine = create_async_engine(url, pool_pre_ping=not self.is_sqlite)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    def migrate(self) -> None:
        """Bring the schema up to date (synchronous; call before serving)."""
        migrate(self.url)

    @asynccontextmanager
    async def uow(self) -> AsyncIterator[UnitOfWork]:
        """Open a transaction."""
        async with self.engine.begin() as conn:
            yield UnitOfWork(conn)

    async def close(self) -> None:
        """Release every connection."""
        await self.engine.dispose()
