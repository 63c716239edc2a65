"""Start a deployment update: a new immutable revision and the rollout that brings it in.

Shared by the update, rollback and environment-promotion routes. Only one rollout runs
per deployment: a new update is refused while one is active, except that a blue-green
rollout whose old revision is merely kept warm is promoted (released) first.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from modelyard.controllers.rollouts import apply_event
from modelyard.domain.deployments import Deployment, Revision, RevisionSpec
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.rollouts import (
    HistoryEntry,
    HistoryKind,
    Rollout,
    RolloutEvent,
    RolloutSpec,
    RolloutState,
    serving_revision,
)
from modelyard.domain.tenancy import Principal
from modelyard.store.unit_of_work import UnitOfWork


async def _settle_active(uow: UnitOfWork, dep: Deployment, who: Principal,
                         now: datetime) -> Deployment:
    for r in await uow.rollouts.active(dep.name):
        if r.state != RolloutState.WARM:
            raise ModelyardError(
                ErrorCode.ROLLOUT_IN_PROGRESS,
                f"rollout {r.id} of {dep.name!r} is {r.state}; promote or abort it first",
                details={"rollout_id": r.id, "state": str(r.state)})
        await apply_event(uow, dep, r, RolloutEvent.PROMOTE, now=now, actor=who.name,
                          message="released: a new revision supersedes it")
        fresh = await uow.deployments.get(dep.name)
        assert fresh is not None
        dep = fresh
    return dep


async def start_update(uow: UnitOfWork, dep: Deployment, spec: RevisionSpec, options: RolloutSpec,
                       *, who: Principal, message: str, now: datetime,
                       kind: HistoryKind = HistoryKind.CREATED) -> tuple[Revision, Rollout]:
    """Add revision N+1 with ``spec`` and a rollout from the current revision to it."""
    if dep.deleting:
        raise ModelyardError(ErrorCode.CONFLICT, f"deployment {dep.name!r} is being deleted")
    dep = await _settle_active(uow, dep, who, now)
    number = await uow.deployments.next_revision(dep.name)
    desired = spec.replicas if spec.replicas is not None else dep.desired_replicas
    spec = replace(spec, replicas=desired)
    revision = Revision(dep.name, number, spec, now, who.name, message)
    await uow.deployments.add_revision(revision)
    rollout = Rollout(id=f"ro-{uuid.uuid4().hex[:12]}", deployment=dep.name,
                      stable_revision=dep.current_revision, candidate_revision=number,
                      spec=options, state=RolloutState.STARTING, state_since=now, created_at=now,
                      created_by=who.name, message=message)
    await uow.rollouts.add(rollout)
    await uow.deployments.save(replace(dep, desired_replicas=desired,
                                       current_revision=serving_revision(rollout)), now)
    text = message or f"revision {number} by {options.strategy}"
    await uow.rollouts.record(HistoryEntry(
        dep.name, now, kind, who.name,
        f"{text} (revision {dep.current_revision} → {number}, {options.strategy})",
        rollout.id, number))
    return revision, rollout
