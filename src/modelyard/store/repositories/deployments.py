"""SqlDeploymentRepository: deployments and their immutable revisions."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from modelyard.domain.deployments import (
    Deployment,
    EngineSettings,
    Environment,
    Resources,
    Revision,
    RevisionSpec,
)
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.store import tables as t
from modelyard.store.repositories.rows import utc_req


def _deployment(row: Any) -> Deployment:
    return Deployment(
        name=row.name, team=row.team, environment=Environment(row.environment),
        desired_replicas=row.desired_replicas, current_revision=row.current_revision,
        created_at=utc_req(row.created_at), updated_at=utc_req(row.updated_at),
        deleting=bool(row.deleting), version=row.version,
    )


def _revision(row: Any) -> Revision:
    settings = (EngineSettings.from_json(json.loads(row.engine_settings))
                if row.engine_settings else None)
    resources = Resources.from_json(json.loads(row.resources)) if row.resources else Resources()
    spec = RevisionSpec(row.model, row.model_version, row.alias, row.framework, row.digest,
                        row.artifact_name, max_batch_size=row.max_batch_size,
                        max_batch_delay_ms=row.max_batch_delay_ms, instances=row.instances,
                        compile=bool(row.compile),
                        engine=row.engine,
                        engine_settings=settings, replicas=row.replicas, resources=resources)
    return Revision(row.deployment, row.number, spec, utc_req(row.created_at), row.created_by,
                    row.message)


class SqlDeploymentRepository:
    """Deployments and revisions in SQL, with optimistic versions on writes."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, name: str) -> Deployment | None:
        """Return the deployment or None."""
        q = select(t.deployments).where(t.deployments.c.name == name)
        row = (await self.conn.execute(q)).first()
        return _deployment(row) if row else None

    async def all(self, team: str | None = None) -> list[Deployment]:
        """Return deployments by name."""
        q = select(t.deployments).order_by(t.deployments.c.name)
        if team is not None:
            q = q.where(t.deployments.c.team == team)
        return [_deployment(r) for r in await self.conn.execute(q)]

    async def add(self, d: Deployment, first: Revision) -> None:
        """Insert a deployment with its first revision."""
        await self.conn.execute(insert(t.deployments).values(
            name=d.name, team=d.team, environment=str(d.environment),
            desired_replicas=d.desired_replicas, current_revision=d.current_revision,
            deleting=d.deleting, created_at=d.created_at, updated_at=d.updated_at,
            version=d.version))
        await self.add_revision(first)

    async def add_revision(self, r: Revision) -> None:
        """Insert an immutable revision."""
        s = r.spec
        await self.conn.execute(insert(t.revisions).values(
            deployment=r.deployment, number=r.number, model=s.model, model_version=s.version,
            alias=s.alias, framework=s.framework, digest=s.digest,
            artifact_name=s.artifact_name, max_batch_size=s.max_batch_size,
            max_batch_delay_ms=s.max_batch_delay_ms, instances=s.instances, compile=s.compile,
            engine=s.engine,
            engine_settings=json.dumps(s.engine_settings.to_json()) if s.engine_settings else None,
            created_at=r.created_at, created_by=r.created_by,
            message=r.message, replicas=s.replicas,
            resources=json.dumps(s.resources.to_json())))

    async def next_revision(self, name: str) -> int:
        """Return the next revision number of ``name``."""
        q = select(func.max(t.revisions.c.number)).where(t.revisions.c.deployment == name)
        return int((await self.conn.execute(q)).scalar() or 0) + 1

    async def revision(self, name: str, number: int) -> Revision | None:
        """Return one revision or None."""
        q = select(t.revisions).where(t.revisions.c.deployment == name,
                                      t.revisions.c.number == number)
        row = (await self.conn.execute(q)).first()
        return _revision(row) if row else None

    async def revisions(self, name: str) -> list[Revision]:
        """Return every revision of ``name`` in order."""
        q = select(t.revisions).where(t.revisions.c.deployment == name).order_by(
            t.revisions.c.number)
        return [_revision(r) for r in await self.conn.execute(q)]

    async def uses_version(self, model: str, version: int) -> list[str]:
        """Names of live deployments whose current revision serves ``model`` ``version``."""
        q = select(t.deployments.c.name).join(
            t.revisions, (t.revisions.c.deployment == t.deployments.c.name)
            & (t.revisions.c.number == t.deployments.c.current_revision),
        ).where(t.revisions.c.model == model, t.revisions.c.model_version == version)
        return [r.name for r in await self.conn.execute(q)]

    async def uses_model(self, model: str) -> list[str]:
        """Names of deployments whose current revision serves any version of ``model``."""
        q = select(t.deployments.c.name).join(
            t.revisions, (t.revisions.c.deployment == t.deployments.c.name)
            & (t.revisions.c.number == t.deployments.c.current_revision),
        ).where(t.revisions.c.model == model)
        return [r.name for r in await self.conn.execute(q)]

    async def save(self, d: Deployment, now: datetime) -> Deployment:
        """Write changed fields if nobody else did meanwhile; return the new object."""
        res = await self.conn.execute(update(t.deployments).where(
            t.deployments.c.name == d.name, t.deployments.c.version == d.version,
        ).values(desired_replicas=d.desired_replicas, current_revision=d.current_revision,
                 deleting=d.deleting, updated_at=now, version=d.version + 1))
        if res.rowcount != 1:
            raise ModelyardError(ErrorCode.CONFLICT, f"deployment {d.name} changed meanwhile")
        return replace(d, updated_at=now, version=d.version + 1)

    async def delete(self, name: str) -> None:
        """Remove a deployment and its revisions for good."""
        await self.conn.execute(delete(t.revisions).where(t.revisions.c.deployment == name))
        await self.conn.execute(delete(t.deployments).where(t.deployments.c.name == name))
