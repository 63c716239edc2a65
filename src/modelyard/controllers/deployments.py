"""Deployment controller: desired replicas per revision × observed replicas → a plan → applied.

``plan_replicas`` is pure. The replica count each revision needs comes from
``domain.rollouts.replica_targets`` (the current revision, plus a canary, shadow or
blue-green candidate while a rollout runs); revisions without a target are replaced as a
rolling update: at most ``max_surge`` replicas above the desired count are created, and
Ready replicas of old revisions are drained only while at least ``desired -
max_unavailable`` replicas stay Ready, so a spec change never drops below the ready
count. Without a rolling rollout the surge is the whole desired count (replace at once,
drain once the new ones are Ready). A deployment marked for deletion drains everything
and is removed once no replica is left.
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
from modelyard.domain.rollouts import Rollout, Strategy, replica_targets
from modelyard.store.unit_of_work import Store

logger = logging.getLogger(__name__)

_DRAIN_ORDER = {
    ReplicaState.PENDING: 0, ReplicaState.SCHEDULED: 0, ReplicaState.CRASH_LOOP: 1,
    ReplicaState.FAILED: 1, ReplicaState.STARTING: 2, ReplicaState.READY: 3,
}


@dataclass(frozen=True)
class ReplicaPlan:
    """What to do to a deployment's replicas: ``create`` in total, per revision, and drains."""

    create: int = 0
    drain: tuple[ReplicaId, ...] = field(default_factory=tuple)
    create_revisions: tuple[tuple[int, int], ...] = ()


def _surge(deployment: Deployment, rollout: Rollout | None) -> tuple[int, int]:
    if rollout is not None and rollout.is_active and rollout.spec.strategy == Strategy.ROLLING:
        surge, unavailable = rollout.spec.max_surge, rollout.spec.max_unavailable
        return (max(1, surge) if unavailable <= 0 else surge), unavailable
    return max(1, deployment.desired_replicas), 0


def _extras(mine: Sequence[Replica], want: int) -> list[ReplicaId]:
    ordered = sorted(mine, key=lambda r: (_DRAIN_ORDER.get(r.state, 0), -r.created_at.timestamp()))
    return [r.id for r in ordered[:max(0, len(mine) - want)]]


def plan_replicas(deployment: Deployment, replicas: Sequence[Replica],
                  rollout: Rollout | None = None) -> ReplicaPlan:
    """Return the next step that moves ``replicas`` towards ``deployment``'s desire."""
    live = [r for r in replicas if r.state in LIVE_STATES]
    if deployment.deleting:
        return ReplicaPlan(drain=tuple(r.id for r in live))
    current = deployment.current_revision
    targets = replica_targets(current, deployment.desired_replicas, rollout)
    old = [r for r in live if r.revision not in targets]
    surge, unavailable = _surge(deployment, rollout)
    creates: list[tuple[int, int]] = []
    drain: list[ReplicaId] = []
    for rev, want in sorted(targets.items(), key=lambda kv: kv[0] != current):
        mine = [r for r in live if r.revision == rev]
        n = max(0, want - len(mine))
        if rev == current and old:
            n = min(n, max(0, want + surge - len(mine) - len(old)))
        if n:
            creates.append((rev, n))
        drain.extend(_extras(mine, want))
    ready_old = [r for r in old if r.state == ReplicaState.READY]
    drain.extend(r.id for r in old if r.state != ReplicaState.READY)
    ready_current = sum(r.state == ReplicaState.READY for r in live if r.revision == current)
    min_ready = max(0, targets[current] - unavailable)
    can_drain = max(0, ready_current + len(ready_old) - min_ready)
    ready_old.sort(key=lambda r: r.created_at)
    drain.extend(r.id for r in ready_old[:can_drain])
    return ReplicaPlan(create=sum(n for _, n in creates), drain=tuple(drain),
                       create_revisions=tuple(creates))


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
            rollout = await uow.rollouts.latest(key)
            if dep.deleting and not replicas:
                await uow.deployments.delete(key)
                logger.info("deployment removed", extra={"deployment": key})
                return Result.done()
            plan = plan_replicas(dep, replicas, rollout)
            now = self.clock.now()
            for revision, count in plan.create_revisions:
                for _ in range(count):
                    await uow.replicas.add(Replica(
                        id=new_replica_id(key), deployment=key, revision=revision,
                        state=ReplicaState.PENDING, state_since=now, created_at=now))
            by_id = {r.id: r for r in replicas}
            for rid in plan.drain:
                await uow.replicas.save(transition(by_id[rid], ReplicaEvent.DRAIN, now))
            if plan.create or plan.drain:
                logger.info("replica plan applied", extra={
                    "deployment": key, "replicas_created": plan.create, "replicas_drained": list(plan.drain)})
        return Result.done()
