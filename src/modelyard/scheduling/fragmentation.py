"""Expected GPU fragmentation of a node against a typical workload (the FGD measure).

After Weng et al., "Beware of Fragmentation: Scheduling GPU-Sharing Workloads with
Fragmentation Gradient Descent" (USENIX ATC 2023); our own formulation and code.

A ``WorkloadProfile`` is the popularity distribution of task classes (CPU, memory, GPU
count, GPU share, GPU memory, allowed models). For one class, the *fragment* of a node is
the free GPU share that class cannot use there:
- the class does not fit the node's free CPU or memory: all free GPU share;
- a shared-GPU class: the free share of GPUs it cannot use (too little share, memory or
  the wrong model);
- a whole-GPU class needing k GPUs: the free share of partly used GPUs when k fully free
  eligible GPUs exist, else all free GPU share;
- a CPU-only class that fits: nothing.
A node's fragmentation is the popularity-weighted sum over classes. Expected fragmentation
is a pure function of (profile, free CPU, free memory, sorted GPU keys); results are
memoised inside the profile because the same shapes recur millions of times.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from modelyard.domain.inventory import (
    GPU_MILLI,
    GpuKey,
    InventorySnapshot,
    Node,
    ResourceRequest,
)

_CACHE_LIMIT = 1 << 20

GpuClass = tuple[int, int, int, frozenset[str]]
"""(gpu_count, gpu_milli, gpu_memory_bytes, gpu_models) of a task class."""


@dataclass(frozen=True, slots=True)
class TaskClass:
    """A kind of task by its resource request, with its share of the workload."""

    cpu_milli: int
    memory_mib: int
    gpu_count: int
    gpu_milli: int
    weight: float
    gpu_memory_bytes: int = 0
    gpu_models: frozenset[str] = frozenset()

    @property
    def gpu_class(self) -> GpuClass:
        """The GPU part of the class."""
        return (self.gpu_count, self.gpu_milli, self.gpu_memory_bytes, self.gpu_models)


@dataclass(frozen=True, eq=False)
class WorkloadProfile:
    """Task classes and their popularity (weights sum to 1). Memoises its evaluations."""

    classes: tuple[TaskClass, ...]
    _gpu_classes: tuple[GpuClass, ...] = field(init=False, repr=False)
    _members: tuple[tuple[tuple[int, int, float], ...], ...] = field(init=False, repr=False)
    _memo: dict[object, object] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        """Check the invariants."""
        grouped: dict[GpuClass, list[tuple[int, int, float]]] = {}
        for c in self.classes:
            grouped.setdefault(c.gpu_class, []).append((c.cpu_milli, c.memory_mib, c.weight))
        object.__setattr__(self, "_gpu_classes", tuple(grouped))
        object.__setattr__(self, "_members", tuple(tuple(v) for v in grouped.values()))

    @classmethod
    def from_requests(cls, requests: Iterable[ResourceRequest]) -> WorkloadProfile:
        """Build the profile from observed requests, weighting each shape by its count."""
        counts: dict[tuple[int, int, int, int, int, frozenset[str]], int] = {}
        for r in requests:
            key = (r.cpu_milli, r.memory_mib, r.gpu_count, r.gpu_milli, r.gpu_memory_bytes,
                   r.gpu_models)
            counts[key] = counts.get(key, 0) + 1
        total = sum(counts.values()) or 1
        return cls(tuple(
            TaskClass(cpu, mem, n, milli, count / total, gmem, models)
            for (cpu, mem, n, milli, gmem, models), count in counts.items()
        ))

    def fragmentation(self, cpu_free: int, memory_free: int, gpus: Sequence[GpuKey]) -> float:
        """Expected fragmented milli-GPU of a node with these free resources."""
        key = (cpu_free, memory_free, tuple(gpus))
        memo = self._memo
        hit = memo.get(key)
        if hit is not None:
            return hit  # type: ignore[return-value]
        total = sum(g[2] for g in gpus)
        if total == 0:
            value = 0.0
        else:
            weights = self._weights(cpu_free, memory_free)
            frags = self._gpu_fragments(key[2], total)
            fitting = sum(weights)
            value = total * (1.0 - fitting) + sum(w * f for w, f in zip(weights, frags, strict=True))
        if len(memo) > _CACHE_LIMIT:
            memo.clear()
        memo[key] = value
        return value

    def node_fragmentation(self, node: Node) -> float:
        """Expected fragmented milli-GPU of ``node`` as it is now."""
        return self.fragmentation(node.cpu_free_milli, node.memory_free_mib, node.gpu_keys)

    def _weights(self, cpu_free: int, memory_free: int) -> tuple[float, ...]:
        key = ("w", cpu_free, memory_free)
        hit = self._memo.get(key)
        if hit is None:
            hit = tuple(
                sum(w for cpu, mem, w in members if cpu <= cpu_free and mem <= memory_free)
                for members in self._members
            )
            self._memo[key] = hit
        return hit  # type: ignore[return-value]

    def _gpu_fragments(self, gpus: tuple[GpuKey, ...], total: int) -> tuple[int, ...]:
        key = ("g", gpus)
        hit = self._memo.get(key)
        if hit is None:
            hit = tuple(class_fragment(c, gpus, total) for c in self._gpu_classes)
            self._memo[key] = hit
        return hit  # type: ignore[return-value]


def class_fragment(gpu_class: GpuClass, gpus: Sequence[GpuKey], total: int) -> int:
    """Free milli-GPU on ``gpus`` that a task of ``gpu_class`` cannot use (CPU fit assumed)."""
    count, milli, memory, models = gpu_class
    if count == 0:
        return 0
    if milli < GPU_MILLI:
        return sum(
            free for model, _, free, free_mem in gpus
            if free < milli or free_mem < memory or (models and model not in models)
        )
    full = sum(
        1 for model, _, free, free_mem in gpus
        if free == GPU_MILLI and free_mem >= memory and (not models or model in models)
    )
    return total - GPU_MILLI * full if full >= count else total


def cluster_fragmentation(profile: WorkloadProfile, inventory: InventorySnapshot) -> float:
    """Expected fragmented milli-GPU summed over all nodes."""
    return sum(profile.node_fragmentation(n) for n in inventory.nodes)


__all__ = ["TaskClass", "WorkloadProfile", "class_fragment", "cluster_fragmentation"]
