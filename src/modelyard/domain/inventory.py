"""GPU inventory: nodes, their GPUs and what is allocated on them, as immutable data.

A ``Node`` carries its capacity *and* its current usage (CPU milli-cores, memory MiB and,
per GPU, milli-GPU share and memory bytes in use). An ``InventorySnapshot`` is a tuple of
nodes; allocating or releasing returns a new snapshot and never mutates the old one, so a
decision taken on a snapshot can be replayed, compared and tested.

Invariants (checked on construction and on every allocation):
- a GPU's used milli share is within 0..1000 and its used memory within 0..memory_bytes;
- a node's used CPU and memory are within 0..capacity.

``ResourceRequest`` is what one replica asks of the inventory. Whole GPUs are
``gpu_count`` GPUs at ``gpu_milli == 1000`` on one node (tensor parallelism); a shared GPU is
``gpu_count == 1`` with ``gpu_milli < 1000``. Nothing here does I/O.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Self

from modelyard.domain.errors import ErrorCode, ModelyardError

GPU_MILLI = 1000
"""Milli-GPU units in one whole GPU."""

_EMPTY: Mapping[str, str] = MappingProxyType({})

GpuKey = tuple[str, int, int, int]
"""(model, memory_bytes, free_milli, free_memory_bytes): what a policy sees of one GPU."""


class ShapeKey(tuple[object, ...]):
    """A tuple that computes its hash once: shape keys are looked up millions of times."""

    _hash: int

    def __new__(cls, items: tuple[object, ...]) -> Self:
        """Wrap ``items`` and remember their hash."""
        self = super().__new__(cls, items)
        self._hash = tuple.__hash__(self)
        return self

    def __hash__(self) -> int:
        """The remembered hash."""
        return self._hash

    def __eq__(self, other: object) -> bool:
        """Tuple equality."""
        return tuple.__eq__(self, other)


def _invalid(message: str) -> ModelyardError:
    return ModelyardError(ErrorCode.INVALID_REQUEST, message)


class TaintEffect(StrEnum):
    """What a taint does to replicas that do not tolerate it."""

    NO_SCHEDULE = "no_schedule"
    PREFER_NO_SCHEDULE = "prefer_no_schedule"


@dataclass(frozen=True, slots=True)
class Taint:
    """A mark on a node that keeps replicas away unless they tolerate it."""

    key: str
    value: str = ""
    effect: TaintEffect = TaintEffect.NO_SCHEDULE


@dataclass(frozen=True, slots=True)
class Toleration:
    """Permission to land on a tainted node; ``value=None`` tolerates any value."""

    key: str
    value: str | None = None

    def tolerates(self, taint: Taint) -> bool:
        """Return True when this toleration covers ``taint``."""
        return self.key == taint.key and self.value in (None, taint.value)


@dataclass(frozen=True, slots=True)
class Gpu:
    """One GPU of a node and how much of it is in use."""

    index: int
    model: str
    memory_bytes: int
    used_milli: int = 0
    used_memory_bytes: int = 0

    def __post_init__(self) -> None:
        """Check the invariants."""
        if not 0 <= self.used_milli <= GPU_MILLI:
            raise _invalid(f"GPU {self.index}: used milli {self.used_milli} outside 0..1000")
        if not 0 <= self.used_memory_bytes <= max(self.memory_bytes, 0):
            raise _invalid(f"GPU {self.index}: used memory exceeds {self.memory_bytes} bytes")

    @property
    def free_milli(self) -> int:
        """Unallocated milli-GPU share."""
        return GPU_MILLI - self.used_milli

    @property
    def free_memory_bytes(self) -> int:
        """Unallocated GPU memory in bytes."""
        return self.memory_bytes - self.used_memory_bytes

    @property
    def key(self) -> GpuKey:
        """The GPU as policies see it (no index)."""
        return (self.model, self.memory_bytes, self.free_milli, self.free_memory_bytes)


@dataclass(frozen=True, slots=True)
class GpuAllocation:
    """A share of one GPU given to one replica."""

    node: str
    gpu_index: int
    milli: int
    memory_bytes: int = 0


@dataclass(frozen=True)
class Node:
    """A machine with GPUs: capacity, usage, labels, taints and the cordoned flag."""

    name: str
    gpus: tuple[Gpu, ...] = ()
    cpu_milli: int = 0
    memory_mib: int = 0
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY, compare=False)
    taints: tuple[Taint, ...] = ()
    cordoned: bool = False
    cpu_used_milli: int = 0
    memory_used_mib: int = 0

    def __post_init__(self) -> None:
        """Check the invariants."""
        if not 0 <= self.cpu_used_milli <= self.cpu_milli:
            raise _invalid(f"node {self.name}: CPU use outside 0..{self.cpu_milli} milli")
        if not 0 <= self.memory_used_mib <= self.memory_mib:
            raise _invalid(f"node {self.name}: memory use outside 0..{self.memory_mib} MiB")

    @property
    def cpu_free_milli(self) -> int:
        """Unallocated CPU in milli-cores."""
        return self.cpu_milli - self.cpu_used_milli

    @property
    def memory_free_mib(self) -> int:
        """Unallocated memory in MiB."""
        return self.memory_mib - self.memory_used_mib

    @property
    def gpu_free_milli(self) -> int:
        """Unallocated milli-GPU summed over the node's GPUs."""
        return sum(g.free_milli for g in self.gpus)

    @cached_property
    def gpu_keys(self) -> tuple[GpuKey, ...]:
        """The GPUs as policies see them, sorted: equal multisets give equal keys."""
        return tuple(sorted(g.key for g in self.gpus))

    @cached_property
    def shape_key(self) -> ShapeKey:
        """Everything a filter or scorer may look at, without the name.

        Two nodes with equal shape keys are interchangeable for every decision, which is
        what lets placement evaluate each distinct shape once.
        """
        return ShapeKey((
            self.cpu_milli,
            self.memory_mib,
            self.cpu_free_milli,
            self.memory_free_mib,
            self.cordoned,
            tuple(sorted(self.labels.items())),
            self.taints,
            self.gpu_keys,
        ))

    def allocate(
        self, allocations: tuple[GpuAllocation, ...], cpu_milli: int, memory_mib: int
    ) -> Node:
        """Return this node with ``allocations`` and the CPU/memory added; never over-commits."""
        return self._apply(allocations, cpu_milli, memory_mib, sign=1)

    def release(
        self, allocations: tuple[GpuAllocation, ...], cpu_milli: int, memory_mib: int
    ) -> Node:
        """Return this node with ``allocations`` and the CPU/memory given back."""
        return self._apply(allocations, cpu_milli, memory_mib, sign=-1)

    def _apply(
        self, allocations: tuple[GpuAllocation, ...], cpu_milli: int, memory_mib: int, *, sign: int
    ) -> Node:
        gpus = list(self.gpus)
        for a in allocations:
            if a.node != self.name or not 0 <= a.gpu_index < len(gpus):
                raise _invalid(f"allocation {a} does not belong to node {self.name}")
            g = gpus[a.gpu_index]
            gpus[a.gpu_index] = replace(
                g,
                used_milli=g.used_milli + sign * a.milli,
                used_memory_bytes=g.used_memory_bytes + sign * a.memory_bytes,
            )
        return replace(
            self,
            gpus=tuple(gpus),
            cpu_used_milli=self.cpu_used_milli + sign * cpu_milli,
            memory_used_mib=self.memory_used_mib + sign * memory_mib,
        )


@dataclass(frozen=True)
class InventorySnapshot:
    """All nodes at one moment. Immutable; ``allocate``/``release`` return new snapshots."""

    nodes: tuple[Node, ...] = ()

    @cached_property
    def index(self) -> Mapping[str, int]:
        """Position of each node by name."""
        return {n.name: i for i, n in enumerate(self.nodes)}

    @cached_property
    def by_shape(self) -> Mapping[ShapeKey, tuple[Node, ...]]:
        """Nodes grouped by ``shape_key``; each group in inventory order.

        Kept up to date incrementally by ``with_node`` so that a decision on a large
        inventory costs one step per distinct shape, not per node.
        """
        groups: dict[ShapeKey, list[Node]] = {}
        for node in self.nodes:
            groups.setdefault(node.shape_key, []).append(node)
        return {k: tuple(v) for k, v in groups.items()}

    @property
    def gpu_capacity_milli(self) -> int:
        """Milli-GPU in the whole inventory."""
        return GPU_MILLI * sum(len(n.gpus) for n in self.nodes)

    @property
    def gpu_used_milli(self) -> int:
        """Milli-GPU allocated in the whole inventory."""
        return sum(g.used_milli for n in self.nodes for g in n.gpus)

    def node(self, name: str) -> Node:
        """Return the node called ``name``; raises ``not_found``."""
        try:
            return self.nodes[self.index[name]]
        except KeyError:
            raise ModelyardError(ErrorCode.NOT_FOUND, f"no node {name!r}") from None

    def with_node(self, node: Node) -> InventorySnapshot:
        """Return a snapshot where the node of the same name is replaced by ``node``."""
        i = self.index[node.name]
        new = InventorySnapshot(self.nodes[:i] + (node,) + self.nodes[i + 1 :])
        new.__dict__["index"] = self.index  # names and order are unchanged
        if "by_shape" in self.__dict__:
            new.__dict__["by_shape"] = self._regroup(self.nodes[i], node)
        return new

    def _regroup(self, old: Node, new: Node) -> Mapping[ShapeKey, tuple[Node, ...]]:
        groups = dict(self.by_shape)
        rest = tuple(n for n in groups[old.shape_key] if n.name != old.name)
        if rest:
            groups[old.shape_key] = rest
        else:
            del groups[old.shape_key]
        members = list(groups.get(new.shape_key, ()))
        bisect.insort(members, new, key=lambda n: self.index[n.name])
        groups[new.shape_key] = tuple(members)
        return groups


@dataclass(frozen=True)
class ResourceRequest:
    """What one replica asks for: GPUs (whole or a share), GPU memory, CPU and memory.

    Attributes:
        replica_id: who asks (used for seeded random choices and in allocations).
        gpu_count: whole GPUs on one node (tensor parallelism), or 1 for a shared GPU.
        gpu_milli: share of each GPU, 1..1000; below 1000 only with ``gpu_count == 1``.
        gpu_memory_bytes: GPU memory needed on each GPU (0: no memory constraint).
        gpu_models: allowed GPU models; empty allows any.
        node_selector: labels the node must carry.
        tolerations: taints this replica accepts.
        cpu_milli: CPU in milli-cores.
        memory_mib: host memory in MiB.
    """

    replica_id: str
    gpu_count: int = 0
    gpu_milli: int = 0
    gpu_memory_bytes: int = 0
    gpu_models: frozenset[str] = frozenset()
    node_selector: Mapping[str, str] = field(default_factory=lambda: _EMPTY, compare=False)
    tolerations: tuple[Toleration, ...] = ()
    cpu_milli: int = 0
    memory_mib: int = 0

    def __post_init__(self) -> None:
        """Check the invariants."""
        if self.gpu_count < 0 or not 0 <= self.gpu_milli <= GPU_MILLI:
            raise _invalid("gpu_count must be >= 0 and gpu_milli within 0..1000")
        if (self.gpu_count == 0) != (self.gpu_milli == 0):
            raise _invalid("gpu_count and gpu_milli must both be 0 or both positive")
        if self.gpu_milli < GPU_MILLI and self.gpu_count > 1:
            raise _invalid("a GPU share below 1000 milli needs gpu_count == 1")
        if min(self.gpu_memory_bytes, self.cpu_milli, self.memory_mib) < 0:
            raise _invalid("resource amounts must not be negative")

    @property
    def is_shared(self) -> bool:
        """True when the request takes a share of one GPU rather than whole GPUs."""
        return 0 < self.gpu_milli < GPU_MILLI

    @property
    def gpu_demand_milli(self) -> int:
        """Total milli-GPU this request takes."""
        return self.gpu_count * self.gpu_milli

    @cached_property
    def shape_key(self) -> tuple[object, ...]:
        """Everything but the replica id: equal keys get equal decisions."""
        return (
            self.gpu_count,
            self.gpu_milli,
            self.gpu_memory_bytes,
            self.gpu_models,
            tuple(sorted(self.node_selector.items())),
            self.tolerations,
            self.cpu_milli,
            self.memory_mib,
        )


__all__ = [
    "GPU_MILLI",
    "Gpu",
    "GpuAllocation",
    "GpuKey",
    "InventorySnapshot",
    "Node",
    "ResourceRequest",
    "ShapeKey",
    "Taint",
    "TaintEffect",
    "Toleration",
]
