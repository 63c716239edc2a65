"""SqlDriftRepository: sampled rows, reference data and the latest drift report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from modelyard.domain.drift import DriftSample, Reference
from modelyard.store import tables as t
from modelyard.store.repositories.rows import utc_req

_S = t.drift_samples.c


def _sample(row: Any) -> DriftSample:
    return DriftSample(utc_req(row.time), row.deployment, row.revision,
                       tuple(json.loads(row.features)), row.prediction)


class SqlDriftRepository:
    """Drift data in SQL."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add_samples(self, samples: Sequence[DriftSample]) -> None:
        """Insert a batch of samples."""
        if samples:
            await self.conn.execute(insert(t.drift_samples), [
                {"time": s.time, "deployment": s.deployment, "revision": s.revision,
                 "features": json.dumps(list(s.features)), "prediction": s.prediction}
                for s in samples])

    async def samples(self, deployment: str, *, after_id: int = 0, limit: int = 1000,
                      newest: bool = True) -> list[tuple[int, DriftSample]]:
        """Samples of ``deployment`` past ``after_id``: the newest ``limit`` (or the oldest)."""
        q = select(t.drift_samples).where(_S.deployment == deployment, _S.id > after_id)
        q = q.order_by(_S.id.desc() if newest else _S.id).limit(limit)
        rows = [(int(r.id), _sample(r)) for r in await self.conn.execute(q)]
        return sorted(rows, key=lambda p: p[0])

    async def deployments_with_samples(self) -> list[str]:
        """Deployments that have samples."""
        return [r[0] for r in await self.conn.execute(select(_S.deployment).distinct())]

    async def prune(self, deployment: str, keep: int) -> None:
        """Keep only the newest ``keep`` samples of ``deployment``."""
        q = select(_S.id).where(_S.deployment == deployment).order_by(_S.id.desc()).offset(keep).limit(1)
        cut = (await self.conn.execute(q)).scalar()
        if cut is not None:
            await self.conn.execute(delete(t.drift_samples).where(
                _S.deployment == deployment, _S.id <= cut))

    async def count(self, deployment: str) -> int:
        """How many samples ``deployment`` has."""
        q = select(func.count()).select_from(t.drift_samples).where(_S.deployment == deployment)
        return int((await self.conn.execute(q)).scalar() or 0)

    async def set_reference(self, r: Reference, last_sample_id: int | None = None) -> None:
        """Create or replace the reference of a model version."""
        c = t.drift_references.c
        await self.conn.execute(delete(t.drift_references).where(
            c.model == r.model, c.version == r.version))
        await self.conn.execute(insert(t.drift_references).values(
            model=r.model, version=r.version, columns=json.dumps(list(r.columns)),
            rows=json.dumps([list(x) for x in r.rows]), predictions=json.dumps(list(r.predictions)),
            source=r.source, created_at=r.created_at, last_sample_id=last_sample_id))

    async def reference(self, model: str, version: int) -> tuple[Reference, int] | None:
        """The reference of a model version and the last traffic sample it took (0 if none)."""
        c = t.drift_references.c
        row = (await self.conn.execute(select(t.drift_references).where(
            c.model == model, c.version == version))).first()
        if row is None:
            return None
        ref = Reference(row.model, row.version, tuple(json.loads(row.columns)),
                        tuple(tuple(x) for x in json.loads(row.rows)), row.source,
                        utc_req(row.created_at), tuple(json.loads(row.predictions)))
        return ref, int(row.last_sample_id or 0)

    async def save_report(self, deployment: str, at: datetime, drifted: bool,
                          report: dict[str, Any]) -> None:
        """Replace the deployment's latest report."""
        c = t.drift_status.c
        await self.conn.execute(delete(t.drift_status).where(c.deployment == deployment))
        await self.conn.execute(insert(t.drift_status).values(
            deployment=deployment, at=at, drifted=drifted, report=json.dumps(report)))

    async def report(self, deployment: str) -> tuple[datetime, bool, dict[str, Any]] | None:
        """The deployment's latest report."""
        c = t.drift_status.c
        row = (await self.conn.execute(select(t.drift_status).where(
            c.deployment == deployment))).first()
        return (utc_req(row.at), bool(row.drifted), json.loads(row.report)) if row else None
