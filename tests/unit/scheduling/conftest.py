"""Shared fixtures: the small JSON inventory and a workload profile over it."""

from __future__ import annotations

import pytest

from modelyard.domain.inventory import InventorySnapshot
from modelyard.scheduling.fragmentation import WorkloadProfile
from tests.unit.scheduling.inventory_loader import load_inventory


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
