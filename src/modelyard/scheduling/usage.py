"""Usage of a node inventory derived from the replicas bound to it (pure).

A bound replica holds its allocation until it is stopped: a crashed replica restarts on
the same GPUs, a draining one still runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from modelyard.domain.errors import ModelyardError
from modelyard.domain.inventory import GpuAllocation, InventorySnapshot, Node
from modelyard.domain.replicas import Allocation, Replica, ReplicaState


def _gpu_allocations(node: str, a: Allocation) -> tuple[GpuAllocation, ...]:
    return tuple(GpuAllocation(node, i, a.gpu_milli, a.gpu_memory_bytes) for i in a.gpu_indexes)


def build_inventory(nodes: Iterable[Node], replicas: Iterable[Replica]) -> InventorySnapshot:
    """Nodes with the usage of every live, bound replica applied."""
    by_name = {n.name: n for n in nodes}
    for r in replicas:
        if r.allocation is None or r.node not in by_name or not holds_resources(r):
            continue
        node = by_name[r.node]
        a = r.allocation
        try:
            by_name[r.node] = node.allocate(_gpu_allocations(node.name, a), a.cpu_milli,
                                            a.memory_mib)
        except ModelyardError:
            continue  # declared capacity shrank under a running replica; it keeps running
    return InventorySnapshot(tuple(by_name.values()))


def holds_resources(r: Replica) -> bool:
    """Bound replicas keep their GPUs until stopped (a crashed one restarts in place)."""
    return r.state not in (ReplicaState.PENDING, ReplicaState.STOPPED)


__all__ = ["build_inventory", "holds_resources"]
