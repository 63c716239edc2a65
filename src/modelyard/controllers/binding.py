"""Binding: where a pending replica goes, under quotas, priorities and preemption.

``decide_binding`` is pure: it takes the replica's request, team and priority, the
inventory with current usage, the replicas holding GPUs and the quotas, and returns
``Bound`` (a placement, maybe on borrowed quota), ``Pending`` (with the reason shown on the
replica) or ``Preempt`` (the victims to stop first, with their reasons). Quotas are
enforced for a GPU model once any team has a quota for it. ``build_inventory`` and
``running_replicas`` turn stored rows into its inputs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from modelyard.domain.deployments import Deployment, Environment, Resources
from modelyard.domain.inventory import (
    GPU_MILLI,
    InventorySnapshot,
    Node,
    ResourceRequest,
    Toleration,
)
from modelyard.domain.quotas import PriorityClass, Quota
from modelyard.domain.replicas import Allocation, Replica, ReplicaState
from modelyard.scheduling.placement import Placement, Unschedulable, place
from modelyard.scheduling.preemption import choose_victims
from modelyard.scheduling.quotas import Admit, Claim, RunningReplica, admit
from modelyard.scheduling.usage import build_inventory, holds_resources

PRIORITY_OF: Mapping[Environment, PriorityClass] = {
    Environment.PRODUCTION: PriorityClass.PRODUCTION,
    Environment.STAGING: PriorityClass.STAGING,
    Environment.DEV: PriorityClass.DEV,
}


@dataclass(frozen=True)
class Bound:
    """Bind to ``placement``; ``allocation`` is what the replica records."""

    placement: Placement
    allocation: Allocation


@dataclass(frozen=True)
class Pending:
    """Stay pending; ``reason`` is shown on the replica."""

    reason: str


@dataclass(frozen=True)
class Preempt:
    """Stop ``victims`` so that the replica fits; one reason per victim."""

    victims: tuple[str, ...]
    reasons: tuple[str, ...]


BindingDecision = Bound | Pending | Preempt


@dataclass(frozen=True)
class BindingRequest:
    """Who asks, for what, how important."""

    replica_id: str
    team: str
    priority: PriorityClass
    resources: Resources
    created_s: float = 0.0


def resource_request(req: BindingRequest) -> ResourceRequest:
    """The scheduler's view of the request."""
    r = req.resources
    gpus = r.gpu_count
    return ResourceRequest(
        replica_id=req.replica_id, gpu_count=gpus, gpu_milli=r.gpu_milli if gpus else 0,
        gpu_memory_bytes=r.gpu_memory_bytes if gpus else 0, gpu_models=frozenset(r.gpu_models),
        node_selector=dict(r.node_selector),
        tolerations=tuple(Toleration(k, v) for k, v in r.tolerations),
        cpu_milli=r.cpu_milli, memory_mib=r.memory_mib)


def _allocation(p: Placement, inventory: InventorySnapshot, borrowed: bool) -> Allocation:
    node = inventory.nodes[inventory.index[p.node]]
    models = [node.gpus[a.gpu_index].model for a in p.allocations]
    return Allocation(
        gpu_indexes=tuple(a.gpu_index for a in p.allocations),
        gpu_milli=p.allocations[0].milli if p.allocations else 0,
        gpu_memory_bytes=p.allocations[0].memory_bytes if p.allocations else 0,
        gpu_model=models[0] if models else "", cpu_milli=p.cpu_milli,
        memory_mib=p.memory_mib, borrowed=borrowed)


def _claim(req: BindingRequest, model: str) -> Claim:
    r = req.resources
    return Claim(req.replica_id, req.team, model, r.gpu_count * r.gpu_milli, req.priority)


def _free_milli(node: Node, models: Sequence[str]) -> int:
    if node.cordoned:
        return 0
    return sum(g.free_milli for g in node.gpus if not models or g.model in models)


def _preempt(req: BindingRequest, refused: Unschedulable, inventory: InventorySnapshot,
             running: Sequence[RunningReplica], quotas: Sequence[Quota],
             leaving_milli: Mapping[str, int]) -> BindingDecision:
    models = req.resources.gpu_models
    counts = Counter(g.model for n in inventory.nodes for g in n.gpus
                     if not models or g.model in models)
    if not counts:
        return Pending(refused.message)
    model = counts.most_common(1)[0][0]
    free = {n.name: _free_milli(n, (model,)) for n in inventory.nodes if not n.cordoned}
    need = req.resources.gpu_count * req.resources.gpu_milli
    if any(free[n] + leaving_milli.get(n, 0) >= need for n in free):
        return Pending(f"{refused.message}; waiting for stopping replicas to free their GPUs")
    claim = _claim(req, model)
    decision = choose_victims(claim, running, quotas, free_milli_by_node=free)
    if decision is None:
        return Pending(refused.message)
    if any(q.gpu_model == model for q in quotas):
        # Preempt only if the team's quota would then admit the claim.
        victims = {v.replica_id for v in decision.victims}
        verdict = admit(claim, quotas, [r for r in running if r.replica_id not in victims])
        if not isinstance(verdict, Admit):
            return Pending(verdict.reason)
    return Preempt(tuple(v.replica_id for v in decision.victims), decision.reasons)


def decide_binding(req: BindingRequest, inventory: InventorySnapshot,
                   running: Sequence[RunningReplica], quotas: Sequence[Quota],
                   policy: str, leaving_milli: Mapping[str, int] | None = None
                   ) -> BindingDecision:
    """Place the replica, check its team's quota, or find whom to preempt.

    ``leaving_milli`` is GPU share per node held by replicas already stopping: a request
    that fits once they are gone waits instead of preempting anyone else.
    """
    match place(resource_request(req), inventory, policy):
        case Placement() as p:
            if req.resources.gpu_count == 0:
                return Bound(p, _allocation(p, inventory, False))
            alloc = _allocation(p, inventory, False)
            if not any(q.gpu_model == alloc.gpu_model for q in quotas):
                return Bound(p, alloc)
            verdict = admit(_claim(req, alloc.gpu_model), quotas, running)
            if isinstance(verdict, Admit):
                return Bound(p, _allocation(p, inventory, verdict.borrowed))
            return Pending(verdict.reason)
        case Unschedulable() as refused:
            if req.resources.gpu_count == 0:
                return Pending(refused.message)
            return _preempt(req, refused, inventory, running, quotas, leaving_milli or {})
    return Pending("no decision")


def leaving_milli(replicas: Iterable[Replica]) -> dict[str, int]:
    """GPU share per node held by draining replicas (free once they stop)."""
    out: dict[str, int] = {}
    for r in replicas:
        if r.state == ReplicaState.DRAINING and r.allocation and r.node:
            share = r.allocation.gpu_milli * len(r.allocation.gpu_indexes)
            out[r.node] = out.get(r.node, 0) + share
    return out


def running_replicas(replicas: Iterable[Replica],
                     deployments: Mapping[str, Deployment]) -> list[RunningReplica]:
    """Replicas holding GPUs, as quota accounting and preemption see them."""
    out = []
    for r in replicas:
        a = r.allocation
        dep = deployments.get(r.deployment)
        if a is None or dep is None or not a.gpu_indexes or not holds_resources(r):
            continue
        if r.state == ReplicaState.DRAINING:
            continue  # already leaving: not a victim, and its GPUs free up soon
        out.append(RunningReplica(r.id, dep.team, a.gpu_model, a.gpu_milli * len(a.gpu_indexes),
                                  PRIORITY_OF[dep.environment], a.borrowed,
                                  r.created_at.timestamp(), r.node or ""))
    return out


__all__ = ["GPU_MILLI", "Bound", "BindingRequest", "Pending", "Preempt", "build_inventory",
           "decide_binding", "running_replicas"]
