"""Deployment controller: desired replica count × observed replicas → a plan → applied.

``plan_replicas`` is pure: it returns how many replicas to create and which to drain.
Replicas of an old revision are drained once the current revision has enough Ready
replicas (so a spec change never drops below the ready count). A deployment marked for
deletion drains everything and is removed once no replica is left.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from modelyard.controllers.base import Result
from modelyard.domain.clock import Clock
from modelyard.domain.deployments import Deployment
from modelyard.domain.ids import ReplicaId, new_replica_id
from modelyard.domain.replicas import LIVE_STATES, Replica, ReplicaEvent, ReplicaState, transition
from modelyard.store.unit_of_work import Store

logger = logging.getLogger(__name__)

_DRAIN_ORDER = {
    ReplicaState.PENDING: 0, ReplicaState.SCHEDULED: 0, ReplicaState.CRASH_LOOP: 1,
    ReplicaState.FAILED: 1, ReplicaState.STARTING: 2, ReplicaState.READY: 3,
}


@dataclass(frozen=True)
class ReplicaPlan:
    """What to do to a deployment's replicas."""

    create: int = 0
    drain: tuple[ReplicaId, ...] = field(default_factory=tuple)


def plan_replicas(deployment: Deployment, replicas: Sequence[Replica]) -> ReplicaPlan:
    """Return the next step that moves ``replicas`` towards ``deployment``'s desire."""
    live = [r for r in replicas if r.state in LIVE_STATES]
    if deployment.deleting:
        return ReplicaPlan(drain=tuple(r.id for r in live))
    current = [r for r in live if r.revision == deployment.current_revision]
    old = [r for r in live if r.revision != deployment.current_revision]
    create = max(0, deployment.desired_replicas - len(current))
    extra = len(current) - deployment.desired_replicas
    ordered = sorted(current, key=lambda r: (_DRAIN_ORDER.get(r.state, 0), -r.created_at.timestamp()))
    drain = [r.id for r in ordered[:max(0, extra)]]
    ready_current = sum(r.state == ReplicaState.READY for r in current)
    if ready_current >= min(deployment.desired_replicas, len(current)) or not any(
        r.state == ReplicaState.READY for r in old
    ):
        drain.extend(r.id for r in old)
    return ReplicaPlan(create=create, drain=tuple(drain))


class DeploymentController:
    """Keeps each deployment's replica set matching its desired count and revision."""

    name = "deployments"

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def keys(self) -> Sequence[str]:
        """Every deployment."""
        async with self.store.uow() as uow:
            return [d.name for d in await uow.deployments.all()]

    async def reconcile(self, key: str) -> Result:
        """Create or drain replicas; remove a deleted deployment once empty."""
        async with self.store.uow() as uow:
            dep = await uow.deployments.get(key)
            if dep is None:
                return Result.done()
            replicas = await uow.replicas.all(key)
            if dep.deleting and not replicas:
                await uow.deployments.delete(key)
                logger.info("deployment removed", extra={"deployment": key})
                return Result.done()
            plan = plan_replicas(dep, replicas)
            now = self.clock.now()
            for _ in range(plan.create):
                await uow.replicas.add(Replica(
                    id=new_replica_id(key), deployment=key, revision=dep.current_revision,
                    state=ReplicaState.PENDING, state_since=now, created_at=now))
            by_id = {r.id: r for r in replicas}
            for rid in plan.drain:
                await uow.replicas.save(transition(by_id[rid], ReplicaEvent.DRAIN, now))
            if plan.create or plan.drain:
                logger.info("replica plan applied", extra={
                    "deployment": key, "replicas_created": plan.create, "replicas_drained": list(plan.drain)})
        return Result.done()
