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
    """Task classes and their popularity (weights sum to 1). Memoises its evaluations.

    ``capacity_aware`` (used by ``fgd-plus``) also counts GPU share as fragmented when the
    node's free CPU or memory can host fewer tasks of a class than its GPUs could: with
    20 free cores and four free GPUs, only one 12-core task fits, so three quarters of the
    usable share is stranded. The plain measure (the paper's) sees no fragmentation there.
    """

    classes: tuple[TaskClass, ...]
    capacity_aware: bool = False
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
        elif self.capacity_aware:
            value = self._capacity_limited(cpu_free, memory_free, key[2], total)
        else:
            weights = self._weights(cpu_free, memory_free)
            frags = self._gpu_fragments(key[2], total)
            fitting = sum(weights)
            value = total * (1.0 - fitting) + sum(w * f for w, f in zip(weights, frags, strict=True))
        if len(memo) > _CACHE_LIMIT:
            memo.clear()
        memo[key] = value
        return value

    def with_capacity_limits(self) -> WorkloadProfile:
        """The same classes, measured capacity-aware."""
        return WorkloadProfile(self.classes, capacity_aware=True)

    def _capacity_limited(
        self, cpu_free: int, memory_free: int, gpus: tuple[GpuKey, ...], total: int
    ) -> float:
        value = 0.0
        for (usable, slots), members in zip(self._gpu_usage(gpus, total), self._members, strict=True):
            for cpu, mem, weight in members:
                if cpu > cpu_free or mem > memory_free:
                    value += weight * total
                elif slots == 0:
                    value += weight * (total - usable)
                else:
                    fit = min(cpu_free // cpu if cpu else slots, memory_free // mem if mem else slots)
                    value += weight * (total - (usable if fit >= slots else usable * fit / slots))
        return value

    def _gpu_usage(self, gpus: tuple[GpuKey, ...], total: int) -> tuple[tuple[int, int], ...]:
        key = ("u", gpus)
        hit = self._memo.get(key)
        if hit is None:
            hit = tuple(class_usage(c, gpus, total) for c in self._gpu_classes)
            self._memo[key] = hit
        return hit  # type: ignore[return-value]

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


def class_usage(gpu_class: GpuClass, gpus: Sequence[GpuKey], total: int) -> tuple[int, int]:
    """(usable free milli-GPU, task slots) of ``gpus`` for ``gpu_class``, CPU fit assumed.

    Slots is 0 when the class needs no GPU (then all of ``total`` counts as usable) or
    when no task of it fits (then nothing is usable).
    """
    count, milli, memory, models = gpu_class
    if count == 0:
        return total, 0
    eligible = [
        free for model, _, free, free_mem in gpus
        if free >= milli and free_mem >= memory and (not models or model in models)
    ]
    if milli < GPU_MILLI:
        return sum(eligible), sum(free // milli for free in eligible)
    full = len(eligible)
    return (GPU_MILLI * full, full // count) if full >= count else (0, 0)


def class_fragment(gpu_class: GpuClass, gpus: Sequence[GpuKey], total: int) -> int:
    """Free milli-GPU on ``gpus`` that a task of ``gpu_class`` cannot use (CPU fit assumed)."""
    return total - class_usage(gpu_class, gpus, total)[0]


def cluster_fragmentation(profile: WorkloadProfile, inventory: InventorySnapshot) -> float:
    """Expected fragmented milli-GPU summed over all nodes."""
    return sum(profile.node_fragmentation(n) for n in inventory.nodes)


__all__ = [
    "TaskClass",
    "WorkloadProfile",
    "class_fragment",
    "class_usage",
    "cluster_fragmentation",
]
