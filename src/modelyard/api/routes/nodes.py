"""Node inventory routes: list, show, declare, cordon, uncordon, drain, remove."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Response

from modelyard.api.audit_trail import Audit
from modelyard.api.authz import Action, require
from modelyard.api.deps import CP, Caller
from modelyard.api.schemas.nodes import GpuPublic, NodeCreate, NodePublic
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.inventory import Gpu, Node, Taint
from modelyard.domain.nodes import NodeRecord, NodeSource
from modelyard.domain.replicas import LIVE_STATES, ReplicaEvent, ReplicaState, transition
from modelyard.domain.tenancy import DEFAULT_TEAM
from modelyard.scheduling.gpus import gpu_memory_bytes
from modelyard.scheduling.usage import build_inventory
from modelyard.store.unit_of_work import UnitOfWork

router = APIRouter(tags=["nodes"])


async def _get(uow: UnitOfWork, name: str) -> NodeRecord:
    record = await uow.nodes.get(name)
    if record is None:
        raise ModelyardError(ErrorCode.NOT_FOUND, f"no node {name[:63]!r}")
    return record


async def _public(uow: UnitOfWork, record: NodeRecord) -> NodePublic:
    bound = await uow.replicas.all()
    replicas = [r.id for r in bound if r.node == record.name and r.state in LIVE_STATES]
    n = build_inventory([record.node], bound).nodes[0]
    return NodePublic(
        name=n.name, source=str(record.source), cordoned=n.cordoned, draining=record.draining,
        cpu_milli=n.cpu_milli, memory_mib=n.memory_mib, labels=dict(n.labels),
        taints=[f"{t.key}={t.value}" for t in n.taints],
        gpus=[GpuPublic(index=g.index, model=g.model,
                        uuid=record.gpu_uuids[i] if i < len(record.gpu_uuids) else "",
                        memory_bytes=g.memory_bytes, allocated_milli=g.used_milli,
                        allocated_memory_bytes=g.used_memory_bytes,
                        free_memory_bytes=g.free_memory_bytes)
              for i, g in enumerate(n.gpus)],
        replicas=replicas, updated_at=record.updated_at)


@router.get("/nodes", response_model=list[NodePublic])
async def list_nodes(cp: CP, who: Caller) -> list[NodePublic]:
    """Every node with capacity, allocations and free GPU memory."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        return [await _public(uow, r) for r in await uow.nodes.all()]


@router.get("/nodes/{name}", response_model=NodePublic)
async def get_node(name: str, cp: CP, who: Caller) -> NodePublic:
    """One node."""
    require(who, Action.READ)
    async with cp.store.uow() as uow:
        return await _public(uow, await _get(uow, name))


def _declared_gpus(body: NodeCreate) -> tuple[Gpu, ...]:
    gpus: list[Gpu] = []
    for spec in body.gpus:
        memory = (int(spec.memory_gib * 1024**3) if spec.memory_gib
                  else gpu_memory_bytes(spec.model))
        if memory <= 0:
            raise ModelyardError(ErrorCode.INVALID_REQUEST,
                                 f"unknown GPU model {spec.model!r}: give memory_gib")
        gpus.extend(Gpu(len(gpus), spec.model, memory) for _ in range(spec.count))
    return tuple(gpus)


@router.post("/nodes", status_code=201, response_model=NodePublic)
async def declare_node(body: NodeCreate, cp: CP, who: Caller, audit: Audit) -> NodePublic:
    """Declare a node, or declare the GPUs of an existing one (CPU-only machines, planning)."""
    require(who, Action.ADMIN)
    async with cp.store.uow() as uow:
        found = await uow.nodes.get(body.name)
        base = found.node if found else Node(body.name)
        taints = tuple(Taint(k, v) for k, _, v in (t.partition("=") for t in body.taints))
        node = Node(body.name, _declared_gpus(body), body.cpu_milli or base.cpu_milli,
                    body.memory_mib or base.memory_mib, {**base.labels, **body.labels},
                    taints or base.taints, base.cordoned)
        record = NodeRecord(node, NodeSource.DECLARED, cp.clock.now())
        await uow.nodes.put(record)
        result = await _public(uow, record)
        await audit.record(uow, f"node/{body.name}", DEFAULT_TEAM,
                           after=result.model_dump(mode="json", exclude={"updated_at"}))
    cp.changed()
    return result


async def _set_flags(cp: CP, name: str, audit: Audit, *, cordoned: bool,
                     draining: bool) -> NodePublic:
    async with cp.store.uow() as uow:
        record = await _get(uow, name)
        updated = replace(record, node=replace(record.node, cordoned=cordoned),
                          draining=draining, updated_at=cp.clock.now())
        await uow.nodes.put(updated)
        if draining:
            now = cp.clock.now()
            for r in await uow.replicas.all():
                if r.node == name and r.state in LIVE_STATES and r.state != ReplicaState.DRAINING:
                    await uow.replicas.save(transition(r, ReplicaEvent.DRAIN, now,
                                                       reason=f"node {name} drained"))
        result = await _public(uow, updated)
        await audit.record(uow, f"node/{name}", DEFAULT_TEAM,
                           after={"cordoned": cordoned, "draining": draining})
    cp.changed()
    return result


@router.post("/nodes/{name}/cordon", response_model=NodePublic)
async def cordon(name: str, cp: CP, who: Caller, audit: Audit) -> NodePublic:
    """No new replicas land on the node; running ones stay."""
    require(who, Action.ADMIN)
    return await _set_flags(cp, name, audit, cordoned=True, draining=False)


@router.post("/nodes/{name}/uncordon", response_model=NodePublic)
async def uncordon(name: str, cp: CP, who: Caller, audit: Audit) -> NodePublic:
    """The node takes replicas again."""
    require(who, Action.ADMIN)
    return await _set_flags(cp, name, audit, cordoned=False, draining=False)


@router.post("/nodes/{name}/drain", response_model=NodePublic)
async def drain(name: str, cp: CP, who: Caller, audit: Audit) -> NodePublic:
    """Cordon the node and stop its replicas; their deployments replace them elsewhere."""
    require(who, Action.ADMIN)
    return await _set_flags(cp, name, audit, cordoned=True, draining=True)


@router.delete("/nodes/{name}", status_code=204)
async def remove_node(name: str, cp: CP, who: Caller, audit: Audit) -> Response:
    """Forget a declared node (a discovered node comes back at the next start)."""
    require(who, Action.ADMIN)
    async with cp.store.uow() as uow:
        await _get(uow, name)
        await uow.nodes.delete(name)
        await audit.record(uow, f"node/{name}", DEFAULT_TEAM, before={"name": name})
    return Response(status_code=204)
