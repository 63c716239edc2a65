"""Node filters: can this node take this request at all, and if not, why.

Each filter is a pure predicate over one node and one request. A node that fails gets a
``Rejection`` with a stable ``RejectionCode`` and readable text; placement aggregates them
into the reasons of ``Unschedulable`` (``no node with 2 free 80GB GPUs``). Filters are
checked in a fixed order and the first failure is the reason, so reasons are stable.

``gpu_options`` lists the distinct ways to put the request's GPUs on a node; each option
is a tuple of GPU indices. Options that would over-commit a GPU's milli share or memory
are never produced: that is the invariant every policy inherits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from modelyard.domain.inventory import (
    GPU_MILLI,
    Gpu,
    Node,
    ResourceRequest,
    TaintEffect,
)

GIB = 1024**3


class RejectionCode(StrEnum):
    """Why a node cannot take a request."""

    CORDONED = "node_cordoned"
    TAINT_NOT_TOLERATED = "taint_not_tolerated"
    SELECTOR_MISMATCH = "selector_mismatch"
    GPU_MODEL_MISMATCH = "gpu_model_mismatch"
    INSUFFICIENT_CPU = "insufficient_cpu"
    INSUFFICIENT_MEMORY = "insufficient_memory"
    INSUFFICIENT_GPU = "insufficient_gpu"


@dataclass(frozen=True, slots=True)
class Rejection:
    """One node turned down for one reason."""

    node: str
    code: RejectionCode
    detail: str


def is_gpu_eligible(request: ResourceRequest, gpu: Gpu) -> bool:
    """True when ``gpu`` is an allowed model with enough free share and memory."""
    return (
        (not request.gpu_models or gpu.model in request.gpu_models)
        and gpu.free_milli >= request.gpu_milli
        and gpu.free_memory_bytes >= request.gpu_memory_bytes
    )


def gpu_options(request: ResourceRequest, node: Node) -> tuple[tuple[int, ...], ...]:
    """Distinct GPU index tuples on ``node`` that can hold the request; () if none.

    Whole-GPU requests get one option: the eligible GPUs with the least free memory first
    (all whole GPUs of a model are alike). Shared requests get one option per distinct
    (model, memory, free share, free memory) among eligible GPUs.
    """
    if request.gpu_count == 0:
        return ((),)
    eligible = [g for g in node.gpus if is_gpu_eligible(request, g)]
    if not request.is_shared:
        if len(eligible) < request.gpu_count:
            return ()
        eligible.sort(key=lambda g: (g.free_memory_bytes, g.index))
        return (tuple(sorted(g.index for g in eligible[: request.gpu_count])),)
    seen: dict[tuple[str, int, int, int], int] = {}
    for g in eligible:
        seen.setdefault(g.key, g.index)
    return tuple((i,) for i in seen.values())


def describe_gpu_need(request: ResourceRequest) -> str:
    """Readable GPU need: ``2 free 80GB GPUs``, ``a GPU with 460 free milli``."""
    memory = ""
    if request.gpu_memory_bytes:
        memory = f" {request.gpu_memory_bytes / GIB:.0f}GB"
    models = "/".join(sorted(request.gpu_models))
    models = f" {models}" if models else ""
    if request.is_shared:
        return f"a{models} GPU with {request.gpu_milli} free milli{memory and ' and' + memory}"
    plural = "s" if request.gpu_count > 1 else ""
    return f"{request.gpu_count} free{memory}{models} GPU{plural}"


def check_node(request: ResourceRequest, node: Node) -> Rejection | None:
    """Return why ``node`` cannot take ``request``, or None when it can."""
    for code, detail in _checks(request, node):
        return Rejection(node.name, code, detail)
    return None


def _checks(request: ResourceRequest, node: Node) -> Iterable[tuple[RejectionCode, str]]:
    if node.cordoned:
        yield RejectionCode.CORDONED, "node cordoned"
    for taint in node.taints:
        if taint.effect is TaintEffect.NO_SCHEDULE and not any(
            t.tolerates(taint) for t in request.tolerations
        ):
            yield RejectionCode.TAINT_NOT_TOLERATED, f"taint {taint.key}={taint.value} not tolerated"
    for key, value in request.node_selector.items():
        if node.labels.get(key) != value:
            yield RejectionCode.SELECTOR_MISMATCH, f"label {key}={value} missing"
    if request.gpu_models and not any(g.model in request.gpu_models for g in node.gpus):
        yield RejectionCode.GPU_MODEL_MISMATCH, "no GPU of an allowed model"
    if node.cpu_free_milli < request.cpu_milli:
        yield RejectionCode.INSUFFICIENT_CPU, f"{node.cpu_free_milli} free CPU milli"
    if node.memory_free_mib < request.memory_mib:
        yield RejectionCode.INSUFFICIENT_MEMORY, f"{node.memory_free_mib} MiB free memory"
    if request.gpu_count and not gpu_options(request, node):
        yield RejectionCode.INSUFFICIENT_GPU, f"no {describe_gpu_need(request)}"


def filter_nodes(
    request: ResourceRequest, nodes: Iterable[Node]
) -> tuple[tuple[Node, ...], tuple[Rejection, ...]]:
    """Split ``nodes`` into those that can take ``request`` and the rejections of the rest."""
    kept: list[Node] = []
    rejected: list[Rejection] = []
    for node in nodes:
        rejection = check_node(request, node)
        if rejection is None:
            kept.append(node)
        else:
            rejected.append(rejection)
    return tuple(kept), tuple(rejected)


def free_after(node: Node, request: ResourceRequest, gpus: tuple[int, ...]) -> list[int]:
    """Free milli of each GPU of ``node`` after placing ``request`` on ``gpus``."""
    free = [g.free_milli for g in node.gpus]
    for i in gpus:
        free[i] -= request.gpu_milli
    return free


__all__ = [
    "GPU_MILLI",
    "Rejection",
    "RejectionCode",
    "check_node",
    "describe_gpu_need",
    "filter_nodes",
    "free_after",
    "gpu_options",
    "is_gpu_eligible",
]
