"""SqlRolloutRepository: rollouts, their history entries and recorded revision validations."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from modelyard.domain.analysis import Figures, Thresholds
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.rollouts import (
    ACTIVE_STATES,
    HistoryEntry,
    HistoryKind,
    Rollout,
    RolloutSpec,
    RolloutState,
    Strategy,
    Validation,
)
from modelyard.store import tables as t
from modelyard.store.repositories.rows import utc, utc_req


def _rollout(row: Any) -> Rollout:
    spec = RolloutSpec(
        strategy=Strategy(row.strategy),
        steps=tuple(int(s) for s in row.steps.split(",") if s),
        step_interval_s=row.step_interval_s,
        thresholds=Thresholds(row.max_error_rate_increase, row.max_p95_ratio,
                              row.latency_slack_s, row.min_requests),
        shadow_percent=row.shadow_percent, max_surge=row.max_surge,
        max_unavailable=row.max_unavailable, keep_old_s=row.keep_old_s)
    return Rollout(
        id=row.id, deployment=row.deployment, stable_revision=row.stable_revision,
        candidate_revision=row.candidate_revision, spec=spec, state=RolloutState(row.state),
        state_since=utc_req(row.state_since), created_at=utc_req(row.created_at),
        created_by=row.created_by, step_index=row.step_index,
        step_started_at=utc(row.step_started_at), message=row.message, reason=row.reason,
        version=row.version)


def _values(r: Rollout) -> dict[str, Any]:
    s = r.spec
    return {
        "stable_revision": r.stable_revision, "candidate_revision": r.candidate_revision,
        "strategy": str(s.strategy), "steps": ",".join(str(x) for x in s.steps),
        "step_interval_s": s.step_interval_s,
        "max_error_rate_increase": s.thresholds.max_error_rate_increase,
        "max_p95_ratio": s.thresholds.max_p95_ratio,
        "latency_slack_s": s.thresholds.latency_slack_s,
        "min_requests": s.thresholds.min_requests, "shadow_percent": s.shadow_percent,
        "max_surge": s.max_surge, "max_unavailable": s.max_unavailable,
        "keep_old_s": s.keep_old_s, "state": str(r.state), "state_since": r.state_since,
        "step_index": r.step_index, "step_started_at": r.step_started_at,
        "reason": r.reason,
    }


def _entry(row: Any) -> HistoryEntry:
    figures = Figures.from_json(json.loads(row.figures)) if row.figures else None
    return HistoryEntry(row.deployment, utc_req(row.at), HistoryKind(row.kind), row.actor,
                        row.message, row.rollout_id, row.revision, figures, row.id)


class SqlRolloutRepository:
    """Rollouts with optimistic versions; history and validations are append-only."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, r: Rollout) -> None:
        """Insert a new rollout."""
        await self.conn.execute(insert(t.rollouts).values(
            id=r.id, deployment=r.deployment, created_at=r.created_at, created_by=r.created_by,
            message=r.message, version=r.version, **_values(r)))

    async def save(self, r: Rollout) -> Rollout:
        """Write a changed rollout if nobody else did meanwhile; return the new object."""
        res = await self.conn.execute(update(t.rollouts).where(
            t.rollouts.c.id == r.id, t.rollouts.c.version == r.version,
        ).values(version=r.version + 1, **_values(r)))
        if res.rowcount != 1:
            raise ModelyardError(ErrorCode.CONFLICT, f"rollout {r.id} changed meanwhile")
        return replace(r, version=r.version + 1)

    async def all(self, deployment: str) -> list[Rollout]:
        """Every rollout of ``deployment``, oldest first."""
        q = select(t.rollouts).where(t.rollouts.c.deployment == deployment).order_by(
            t.rollouts.c.created_at, t.rollouts.c.id)
        return [_rollout(r) for r in await self.conn.execute(q)]

    async def latest(self, deployment: str) -> Rollout | None:
        """The newest rollout of ``deployment``."""
        q = select(t.rollouts).where(t.rollouts.c.deployment == deployment).order_by(
            t.rollouts.c.created_at.desc(), t.rollouts.c.id.desc()).limit(1)
        row = (await self.conn.execute(q)).first()
        return _rollout(row) if row else None

    async def active(self, deployment: str | None = None) -> list[Rollout]:
        """Rollouts not finished yet (of one deployment, or of all)."""
        q = select(t.rollouts).where(t.rollouts.c.state.in_([str(s) for s in ACTIVE_STATES]))
        if deployment is not None:
            q = q.where(t.rollouts.c.deployment == deployment)
        return [_rollout(r) for r in await self.conn.execute(q.order_by(t.rollouts.c.created_at))]

    async def latest_by_deployment(self) -> dict[str, Rollout]:
        """The newest rollout of every deployment that has one."""
        q = select(t.rollouts).order_by(t.rollouts.c.created_at, t.rollouts.c.id)
        return {r.deployment: r for r in (_rollout(row) for row in await self.conn.execute(q))}

    async def record(self, e: HistoryEntry) -> None:
        """Append a history entry."""
        await self.conn.execute(insert(t.rollout_history).values(
            deployment=e.deployment, rollout_id=e.rollout_id, revision=e.revision, at=e.at,
            kind=str(e.kind), actor=e.actor, message=e.message,
            figures=json.dumps(e.figures.to_json()) if e.figures else None))

    async def history(self, deployment: str, rollout_id: str | None = None) -> list[HistoryEntry]:
        """History entries of a deployment (or of one rollout), oldest first."""
        q = select(t.rollout_history).where(t.rollout_history.c.deployment == deployment)
        if rollout_id is not None:
            q = q.where(t.rollout_history.c.rollout_id == rollout_id)
        return [_entry(r) for r in await self.conn.execute(q.order_by(t.rollout_history.c.id))]

    async def add_validation(self, v: Validation) -> Validation:
        """Record a validation result; return it with its id."""
        res = await self.conn.execute(insert(t.revision_validations).values(
            deployment=v.deployment, revision=v.revision, passed=v.passed, summary=v.summary,
            recorded_at=v.recorded_at, recorded_by=v.recorded_by,
            figures=json.dumps(dict(v.figures)) if v.figures is not None else None,
            command=v.command or None))
        key = res.inserted_primary_key
        return replace(v, id=int(key[0]) if key else None)

    async def validations(self, deployment: str, revision: int) -> list[Validation]:
        """Validation results of one revision, oldest first."""
        c = t.revision_validations.c
        q = select(t.revision_validations).where(c.deployment == deployment,
                                                 c.revision == revision).order_by(c.id)
        return [Validation(r.deployment, r.revision, bool(r.passed), r.summary,
                           utc_req(r.recorded_at), r.recorded_by, r.id,
                           json.loads(r.figures) if r.figures else None, r.command or "")
                for r in await self.conn.execute(q)]
