"""Placement: ``place(request, inventory, policy) -> Placement | Unschedulable``.

Pure and synchronous. The filters decide which nodes can take the request at all; the
policy's scorer ranks the GPU options of the rest; the best wins and ties go to the first
node in inventory order (or, for ``random``, to a choice seeded by the policy seed and the
replica id, so the same inputs always give the same answer).

Speed without giving up purity: nodes with equal ``shape_key`` are interchangeable, so
each distinct shape is filtered and scored once per request shape, and those results are
memoised (bounded) by (policy, node shape, request shape). That memo is invisible to
callers: ``place`` stays a function of its arguments.

Tensor parallelism is several whole GPUs on one node; placement never splits a replica
across nodes. No option ever over-commits a GPU's share or memory, or a node's CPU or
memory (``filters.gpu_options`` and ``filters.check_node`` guarantee it).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.inventory import (
    GpuAllocation,
    InventorySnapshot,
    Node,
    ResourceRequest,
    ShapeKey,
)
from modelyard.scheduling import scoring
from modelyard.scheduling.filters import (
    Rejection,
    RejectionCode,
    check_node,
    describe_gpu_need,
    gpu_options,
)
from modelyard.scheduling.fragmentation import WorkloadProfile
from modelyard.scheduling.scoring import Score, Scorer

_MEMO_LIMIT = 1 << 20
_Evaluation = tuple[Score, None] | tuple[None, Rejection]
_MEMO: dict[tuple[object, ...], dict[ShapeKey, _Evaluation]] = {}


class PolicyName(StrEnum):
    """Names of the built-in placement policies (stable strings for config and the CLI)."""

    RANDOM = "random"
    BEST_FIT = "best-fit"
    SPREAD = "spread"
    DOT_PRODUCT = "dot-product"
    GPU_PACKING = "gpu-packing"
    GPU_CLUSTERING = "gpu-clustering"
    FGD = "fgd"
    FGD_PLUS = "fgd-plus"


POLICIES: tuple[str, ...] = tuple(str(p) for p in PolicyName)
"""Every policy name ``make_policy`` accepts."""

_SIMPLE: Mapping[str, Scorer] = MappingProxyType({
    PolicyName.RANDOM: scoring.score_constant,
    PolicyName.BEST_FIT: scoring.score_best_fit,
    PolicyName.SPREAD: scoring.score_spread,
    PolicyName.DOT_PRODUCT: scoring.score_dot_product,
    PolicyName.GPU_PACKING: scoring.score_gpu_packing,
    PolicyName.GPU_CLUSTERING: scoring.score_gpu_clustering,
})


@dataclass(frozen=True, eq=False)
class PlacementPolicy:
    """A named scorer; ``randomized`` policies pick uniformly among feasible nodes."""

    name: str
    scorer: Scorer
    randomized: bool = False
    seed: int = 0


def make_policy(
    name: str, *, seed: int = 0, profile: WorkloadProfile | None = None
) -> PlacementPolicy:
    """Build the policy called ``name``; ``fgd`` and ``fgd-plus`` need a workload profile."""
    if name in _SIMPLE:
        return PlacementPolicy(str(name), _SIMPLE[name], name == PolicyName.RANDOM, seed)
    if name in (PolicyName.FGD, PolicyName.FGD_PLUS):
        if profile is None:
            raise ModelyardError(ErrorCode.INVALID_REQUEST, f"policy {name} needs a workload profile")
        if name == PolicyName.FGD:
            return PlacementPolicy(name, scoring.FgdScorer(profile))
        plus = scoring.FgdScorer(profile.with_capacity_limits(), refined=True,
                                 fit_weight=scoring.FGD_PLUS_FIT_WEIGHT)
        return PlacementPolicy(name, plus)
    raise ModelyardError(
        ErrorCode.INVALID_REQUEST, f"unknown placement policy {name!r}; known: {', '.join(POLICIES)}"
    )


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a replica goes: one node, its GPU allocations, and why (the score)."""

    replica_id: str
    node: str
    allocations: tuple[GpuAllocation, ...]
    cpu_milli: int
    memory_mib: int
    policy: str
    score: Score = ()


@dataclass(frozen=True, slots=True)
class Reason:
    """Why some nodes were refused: a code, how many nodes, and readable text."""

    code: RejectionCode
    nodes: int
    message: str


@dataclass(frozen=True, slots=True)
class Unschedulable:
    """No node can take the request now; ``reasons`` say why, most common first."""

    replica_id: str
    reasons: tuple[Reason, ...] = field(default=())

    @property
    def message(self) -> str:
        """One line for the API and the CLI."""
        parts = "; ".join(f"{r.nodes} node(s): {r.message}" for r in self.reasons)
        return f"unschedulable: {parts or 'no nodes'}"


def _memo_for(policy: PlacementPolicy, request: ResourceRequest) -> dict[ShapeKey, _Evaluation]:
    if len(_MEMO) > _MEMO_LIMIT >> 10:
        _MEMO.clear()
    return _MEMO.setdefault((policy, request.shape_key), {})


def _evaluate(policy: PlacementPolicy, request: ResourceRequest, node: Node) -> _Evaluation:
    rejection = check_node(request, node)
    result: _Evaluation
    if rejection is not None:
        result = (None, rejection)
    else:
        result = (max(policy.scorer(request, node, o) for o in gpu_options(request, node)), None)
    return result


def _best_option(
    policy: PlacementPolicy, request: ResourceRequest, node: Node
) -> tuple[Score, tuple[int, ...]]:
    return max(((policy.scorer(request, node, o), o) for o in gpu_options(request, node)),
               key=lambda pair: pair[0])


def place(
    request: ResourceRequest, inventory: InventorySnapshot, policy: PlacementPolicy | str
) -> Placement | Unschedulable:
    """Choose a node and GPUs for ``request`` with ``policy``; pure and deterministic.

    Args:
        request: what the replica needs.
        inventory: the nodes and their current usage.
        policy: a ``PlacementPolicy`` or the name of a policy that needs no profile.

    Returns:
        ``Placement`` on the best node, or ``Unschedulable`` with aggregated reasons.
    """
    if isinstance(policy, str):
        policy = make_policy(policy)
    best: tuple[Score, int, Node] | None = None
    feasible: list[tuple[Node, ...]] = []
    rejections: dict[tuple[RejectionCode, str], int] = {}
    memo = _memo_for(policy, request)
    index = inventory.index
    for shape, group in inventory.by_shape.items():
        evaluation = memo.get(shape)
        if evaluation is None:
            evaluation = memo[shape] = _evaluate(policy, request, group[0])
            if len(memo) > _MEMO_LIMIT:
                memo.clear()
        score, rejection = evaluation
        if score is None:
            assert rejection is not None
            key = (rejection.code, rejection.detail)
            rejections[key] = rejections.get(key, 0) + len(group)
        elif policy.randomized:
            feasible.append(group)
        elif best is None or score > best[0] or (
            score == best[0] and index[group[0].name] < best[1]
        ):
            best = (score, index[group[0].name], group[0])
    if policy.randomized and feasible:
        return _placement(policy, request, _random_node(policy, request, inventory, feasible))
    if best is None:
        return Unschedulable(request.replica_id, _reasons(request, rejections))
    return _placement(policy, request, best[2])


def _random_node(
    policy: PlacementPolicy, request: ResourceRequest, inventory: InventorySnapshot,
    feasible: list[tuple[Node, ...]],
) -> Node:
    """Uniform choice among feasible nodes, seeded by policy seed and replica id."""
    feasible.sort(key=lambda g: inventory.index[g[0].name])
    nodes = [n for group in feasible for n in group]
    return random.Random(f"{policy.seed}:{request.replica_id}").choice(nodes)


def _placement(policy: PlacementPolicy, request: ResourceRequest, node: Node) -> Placement:
    score, gpus = _best_option(policy, request, node)
    allocations = tuple(
        GpuAllocation(node.name, i, request.gpu_milli, request.gpu_memory_bytes) for i in gpus
    )
    return Placement(request.replica_id, node.name, allocations, request.cpu_milli,
                     request.memory_mib, policy.name, score)


def _reasons(
    request: ResourceRequest, rejections: Mapping[tuple[RejectionCode, str], int]
) -> tuple[Reason, ...]:
    by_code: dict[RejectionCode, tuple[int, str]] = {}
    for (code, detail), count in rejections.items():
        seen, text = by_code.get(code, (0, detail))
        by_code[code] = (seen + count, text if seen else detail)
    reasons = [
        Reason(code, count, _headline(request, code, text)) for code, (count, text) in by_code.items()
    ]
    reasons.sort(key=lambda r: (-r.nodes, r.code))
    return tuple(reasons)


def _headline(request: ResourceRequest, code: RejectionCode, detail: str) -> str:
    if code is RejectionCode.INSUFFICIENT_GPU:
        return f"no node with {describe_gpu_need(request)}"
    if code is RejectionCode.INSUFFICIENT_CPU:
        return f"not enough free CPU for {request.cpu_milli} milli"
    if code is RejectionCode.INSUFFICIENT_MEMORY:
        return f"not enough free memory for {request.memory_mib} MiB"
    return detail


def apply_placement(inventory: InventorySnapshot, placement: Placement) -> InventorySnapshot:
    """Return ``inventory`` with ``placement``'s resources taken."""
    node = inventory.node(placement.node).allocate(
        placement.allocations, placement.cpu_milli, placement.memory_mib
    )
    return inventory.with_node(node)


def release_placement(inventory: InventorySnapshot, placement: Placement) -> InventorySnapshot:
    """Return ``inventory`` with ``placement``'s resources given back."""
    node = inventory.node(placement.node).release(
        placement.allocations, placement.cpu_milli, placement.memory_mib
    )
    return inventory.with_node(node)


__all__ = [
    "POLICIES",
    "Placement",
    "PlacementPolicy",
    "PolicyName",
    "Reason",
    "Unschedulable",
    "apply_placement",
    "make_policy",
    "place",
    "release_placement",
]
