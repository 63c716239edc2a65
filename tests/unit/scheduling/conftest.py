"""Shared fixtures: the small JSON inventory and a workload profile over it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelyard.domain.inventory import Gpu, InventorySnapshot, Node, Taint
from modelyard.scheduling.fragmentation import WorkloadProfile
from modelyard.scheduling.gpus import gpu_memory_bytes

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def load_inventory(name: str = "inventory_small.json") -> InventorySnapshot:
    """Build an inventory from a JSON fixture."""
    data = json.loads((FIXTURES / name).read_text())
    nodes = []
    for n in data["nodes"]:
        memory = gpu_memory_bytes(n["gpu_model"])
        gpus = tuple(Gpu(i, n["gpu_model"], memory) for i in range(n["gpus"]))
        nodes.append(Node(
            n["name"], gpus, n["cpu_milli"], n["memory_mib"], labels=n.get("labels", {}),
            taints=tuple(Taint(t["key"], t.get("value", "")) for t in n.get("taints", [])),
            cordoned=n.get("cordoned", False),
        ))
    return InventorySnapshot(tuple(nodes))


@pytest.fixture
def inventory() -> InventorySnapshot:
    """The small mixed inventory."""
    return load_inventory()


@pytest.fixture
def profile() -> WorkloadProfile:
    """A typical mix: whole GPUs, half GPUs, quarter GPUs, a 4-GPU job and CPU-only."""
    from modelyard.scheduling.fragmentation import TaskClass

    return WorkloadProfile((
        TaskClass(8000, 32768, 1, 1000, 0.4),
        TaskClass(4000, 16384, 1, 500, 0.25),
        TaskClass(2000, 8192, 1, 250, 0.15),
        TaskClass(32000, 131072, 4, 1000, 0.1),
        TaskClass(2000, 4096, 0, 0, 0.1),
    ))
