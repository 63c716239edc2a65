"""Loads hardware inventories from the JSON fixtures (shared by tests and conftest)."""

from __future__ import annotations

import json
from pathlib import Path

from modelyard.domain.inventory import Gpu, InventorySnapshot, Node, Taint
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
