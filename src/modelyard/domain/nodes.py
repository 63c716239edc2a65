"""NodeRecord: a node as the store keeps it (capacity, labels, taints, cordon, origin).

Usage is not stored here: it is derived from the replicas bound to the node, so the two can
never disagree. ``source`` says whether NVML discovered the GPUs or an operator declared
them (for planning, and for CPU-only machines).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from modelyard.domain.inventory import Gpu, Node, Taint, TaintEffect


class NodeSource(StrEnum):
    """Where a node's GPUs come from."""

    DISCOVERED = "discovered"
    DECLARED = "declared"


@dataclass(frozen=True)
class NodeRecord:
    """A stored node."""

    node: Node
    source: NodeSource
    updated_at: datetime
    gpu_uuids: tuple[str, ...] = field(default_factory=tuple)
    draining: bool = False

    @property
    def name(self) -> str:
        """The node's name."""
        return self.node.name


def gpus_to_json(gpus: tuple[Gpu, ...], uuids: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Capacity of each GPU (usage is derived elsewhere)."""
    return [{"index": g.index, "model": g.model, "memory_bytes": g.memory_bytes,
             "uuid": uuids[i] if i < len(uuids) else ""} for i, g in enumerate(gpus)]


def gpus_from_json(data: list[Mapping[str, Any]]) -> tuple[tuple[Gpu, ...], tuple[str, ...]]:
    """Parse ``gpus_to_json``."""
    gpus = tuple(Gpu(int(d["index"]), str(d["model"]), int(d["memory_bytes"])) for d in data)
    return gpus, tuple(str(d.get("uuid", "")) for d in data)


def taints_to_json(taints: tuple[Taint, ...]) -> list[dict[str, str]]:
    """Taints as JSON."""
    return [{"key": t.key, "value": t.value, "effect": str(t.effect)} for t in taints]


def taints_from_json(data: list[Mapping[str, str]]) -> tuple[Taint, ...]:
    """Parse ``taints_to_json``."""
    return tuple(Taint(d["key"], d.get("value", ""), TaintEffect(d.get("effect", "no_schedule")))
                 for d in data)
