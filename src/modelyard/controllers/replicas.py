"""Replica controller: applies ``replica_steps.next_step`` through the store and backend.

Writes carry the replica's version, so a controller that resumes after a crash never
starts a second process for one replica: a SCHEDULED replica whose process is alive is
adopted instead of launched again. Processes that no replica owns are stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from modelyard.backends.base import Backend, Observed
from modelyard.backends.launch import build_engine_launch_spec, build_launch_spec
from modelyard.controllers.base import Result
from modelyard.controllers.binding import (
    PRIORITY_OF,
    BindingRequest,
    Bound,
    Pending,
    Preempt,
    build_inventory,
    decide_binding,
    leaving_milli,
    running_replicas,
)
from modelyard.controllers.observed import ObservedState
from modelyard.controllers.replica_steps import (
    Adopt,
    Bind,
    Finish,
    Launch,
    MarkFailed,
    MarkReady,
    StepInputs,
    StopProcess,
    Wait,
    for_revision,
    next_step,
)
from modelyard.domain.clock import Clock
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.replicas import Replica, ReplicaEvent, ReplicaState, transition
from modelyard.observability.metrics import REPLICAS
from modelyard.registry.artifacts import ArtifactStore
from modelyard.store.unit_of_work import Store, UnitOfWork

logger = logging.getLogger(__name__)


class ReplicaController:
    """Drives each replica through its lifecycle."""

    name = "replicas"

    def __init__(self, store: Store, backend: Backend, observed: ObservedState,
                 artifacts: ArtifactStore, clock: Clock, inputs: StepInputs,
                 *, max_body_bytes: int) -> None:
        self.store = store
        self.backend = backend
        self.observed = observed
        self.artifacts = artifacts
        self.clock = clock
        self.inputs = inputs
        self.max_body_bytes = max_body_bytes
        self._probe_failures: dict[str, int] = {}

    async def keys(self) -> Sequence[str]:
        """Every replica, plus orphan processes (keyed ``orphan:<id>``)."""
        async with self.store.uow() as uow:
            replicas = await uow.replicas.all()
        known = {r.id for r in replicas}
        counts: dict[tuple[str, str], int] = {}
        for r in replicas:
            counts[(r.deployment, str(r.state))] = counts.get((r.deployment, str(r.state)), 0) + 1
        REPLICAS.clear()
        for (dep, state), n in counts.items():
            REPLICAS.labels(dep, state).set(n)
        orphans = [f"orphan:{rid}" for rid in self.observed.all() if rid not in known]
        return [r.id for r in replicas] + orphans

    async def reconcile(self, key: str) -> Result:
        """Do the next step for one replica."""
        if key.startswith("orphan:"):
            return await self._reap_orphan(key.removeprefix("orphan:"))
        async with self.store.uow() as uow:
            r = await uow.replicas.get(key)
            if r is None:
                return Result.done()
            obs = self.observed.get(r.id)
            failures = self._count_probe(r, obs)
            inputs = self.inputs
            if r.state == ReplicaState.STARTING:  # a compiling replica may take minutes
                revision = await uow.deployments.revision(r.deployment, r.revision)
                inputs = for_revision(inputs, revision is not None and revision.spec.compile)
            step = next_step(r, obs, self.clock.now(), failures, inputs)
            await self._apply(uow, r, step)
        return Result.done()

    def _count_probe(self, r: Replica, obs: Observed | None) -> int:
        if r.state == ReplicaState.READY and isinstance(obs, Observed) and obs.alive and not obs.ready:
            self._probe_failures[r.id] = self._probe_failures.get(r.id, 0) + 1
        else:
            self._probe_failures.pop(r.id, None)
        return self._probe_failures.get(r.id, 0)

    async def _reap_orphan(self, replica_id: str) -> Result:
        obs = self.observed.get(replica_id)
        if obs is not None and obs.alive:
            logger.info("stopping orphan process", extra={"replica_id": replica_id})
            await self.backend.stop(replica_id)
        else:
            self.backend.forget(replica_id)
        return Result.done()

    async def _apply(self, uow: UnitOfWork, r: Replica, step: object) -> None:
        now = self.clock.now()
        match step:
            case Wait():
                return
            case Bind(node=node):
                await self._bind(uow, r, node)
            case Launch():
                await self._launch(uow, r)
            case Adopt(observed=obs):
                launched = transition(r, ReplicaEvent.LAUNCHED, now)
                await uow.replicas.save(replace(launched, pid=obs.pid, port=obs.port, token=obs.token))
                logger.info("replica adopted", extra={"replica_id": r.id, "pid": obs.pid})
            case MarkReady():
                await uow.replicas.save(transition(r, ReplicaEvent.PROBE_PASSED, now, reason=""))
                logger.info("replica ready", extra={"replica_id": r.id, "port": r.port})
            case MarkFailed():
                await self._fail(uow, r, step)
            case StopProcess():
                await self.backend.stop(r.id)
            case Finish():
                self.backend.forget(r.id)
                await uow.replicas.delete(r.id)
                logger.info("replica stopped", extra={"replica_id": r.id})

    async def _bind(self, uow: UnitOfWork, r: Replica, runnable: str) -> None:
        """Place the replica on the nodes this backend runs, under quotas and priorities."""
        dep = await uow.deployments.get(r.deployment)
        revision = await uow.deployments.revision(r.deployment, r.revision)
        if dep is None or revision is None:
            return
        replicas = await uow.replicas.all()
        deployments = {d.name: d for d in await uow.deployments.all()}
        nodes = [n.node for n in await uow.nodes.all() if n.name == runnable]
        request = BindingRequest(r.id, dep.team, PRIORITY_OF[dep.environment],
                                 revision.spec.resources, r.created_at.timestamp())
        decision = decide_binding(request, build_inventory(nodes, replicas),
                                  running_replicas(replicas, deployments),
                                  await uow.quotas.all(), self.inputs.placement_policy,
                                  leaving_milli(replicas))
        now = self.clock.now()
        match decision:
            case Bound(placement=p, allocation=a):
                bound = transition(r, ReplicaEvent.BOUND, now, reason="")
                await uow.replicas.save(replace(bound, node=p.node, allocation=a))
                logger.info("replica bound", extra={"replica_id": r.id, "node": p.node,
                                                    "gpus": list(a.gpu_indexes),
                                                    "borrowed": a.borrowed})
            case Pending(reason=reason):
                if r.reason != reason:
                    await uow.replicas.save(replace(r, reason=reason))
                    logger.info("replica pending", extra={"replica_id": r.id, "reason": reason})
            case Preempt(victims=victims, reasons=reasons):
                await self._preempt(uow, r, {v.id: v for v in replicas}, victims, reasons)

    async def _preempt(self, uow: UnitOfWork, r: Replica, by_id: dict[str, Replica],
                       victims: tuple[str, ...], reasons: tuple[str, ...]) -> None:
        now = self.clock.now()
        for victim_id, why in zip(victims, reasons, strict=True):
            victim = by_id[victim_id]
            note = f"preempted by {r.id}: {why}"
            await uow.replicas.save(transition(victim, ReplicaEvent.DRAIN, now, reason=note))
            logger.warning("replica preempted", extra={"replica_id": victim_id,
                                                       "for_replica": r.id, "reason": why})
        await uow.replicas.save(replace(r, reason=f"preempting {', '.join(victims)}"))

    async def _launch(self, uow: UnitOfWork, r: Replica) -> None:
        now = self.clock.now()
        revision = await uow.deployments.revision(r.deployment, r.revision)
        if revision is None:
            raise ModelyardError(ErrorCode.NOT_FOUND, f"revision {r.revision} of {r.deployment} is gone")
        self.backend.forget(r.id)
        path = self.artifacts.path(revision.spec.digest, revision.spec.artifact_name)
        gpus = r.allocation.gpu_indexes if r.allocation else ()
        if revision.spec.engine is not None:
            spec = build_engine_launch_spec(r.id, r.deployment, revision.spec, str(path),
                                            port=self.backend.reserve_port(), gpu_ids=gpus)
        else:
            spec = build_launch_spec(r.id, r.deployment, revision.spec, str(path),
                                     max_body_bytes=self.max_body_bytes, gpu_ids=gpus)
        started = await self.backend.start(spec)
        launched = transition(r, ReplicaEvent.LAUNCHED, now)
        await uow.replicas.save(replace(launched, pid=started.pid, port=started.port,
                                        token=started.token, next_restart_at=None))

    async def _fail(self, uow: UnitOfWork, r: Replica, step: MarkFailed) -> None:
        now = self.clock.now()
        if step.stop_process:
            await self.backend.stop(r.id)
        was_stable = r.state == ReplicaState.READY and (now - r.state_since).total_seconds() > 60
        count = 1 if was_stable else r.restart_count + 1
        policy = self.inputs.policy
        failed = transition(r, ReplicaEvent.EXITED if not step.stop_process
                            else ReplicaEvent.PROBE_FAILED, now, reason=step.reason)
        failed = replace(failed, restart_count=count,
                         next_restart_at=policy.next_restart_at(now, count - 1))
        if step.permanent or policy.is_crash_loop(count):
            failed = replace(transition(failed, ReplicaEvent.GAVE_UP, now),
                             next_restart_at=now + timedelta(seconds=policy.max_s))
        await uow.replicas.save(failed)
        logger.warning("replica failed", extra={"replica_id": r.id, "reason": step.reason,
                                                "restarts": count, "state": str(failed.state)})
