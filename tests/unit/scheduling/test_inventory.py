"""Inventory data: immutability, invariants, and the incremental grouping by shape."""

from __future__ import annotations

import pytest

from modelyard.domain.errors import ModelyardError
from modelyard.domain.inventory import Gpu, GpuAllocation, InventorySnapshot, Node


def make(name: str, gpus: int = 2) -> Node:
    return Node(name, tuple(Gpu(i, "A10-24GB", 24) for i in range(gpus)), 8000, 1024)


@pytest.mark.parametrize(
    ("allocations", "cpu", "memory"),
    [
        ((GpuAllocation("n", 0, 1001),), 0, 0),
        ((GpuAllocation("n", 0, 600), GpuAllocation("n", 0, 600)), 0, 0),
        ((GpuAllocation("n", 0, 100, 25),), 0, 0),
        ((), 8001, 0),
        ((), 0, 1025),
        ((GpuAllocation("other", 0, 100),), 0, 0),
        ((GpuAllocation("n", 5, 100),), 0, 0),
    ],
)
def test_allocation_never_over_commits(
    allocations: tuple[GpuAllocation, ...], cpu: int, memory: int
) -> None:
    with pytest.raises(ModelyardError):
        make("n").allocate(allocations, cpu, memory)


def test_release_is_the_inverse_of_allocate() -> None:
    node = make("n")
    allocs = (GpuAllocation("n", 1, 300, 4),)
    used = node.allocate(allocs, 1000, 10)
    assert used.gpus[1].free_milli == 700 and used.gpus[1].free_memory_bytes == 20
    assert used.release(allocs, 1000, 10) == node


def test_by_shape_stays_consistent_through_with_node() -> None:
    inv = InventorySnapshot(tuple(make(f"n{i}") for i in range(4)))
    assert list(inv.by_shape.values()) == [inv.nodes]
    changed = inv.node("n2").allocate((GpuAllocation("n2", 0, 500),), 0, 0)
    new = inv.with_node(changed)
    fresh = InventorySnapshot(new.nodes)
    assert {k: v for k, v in new.by_shape.items()} == dict(fresh.by_shape)
    back = new.with_node(inv.node("n2"))
    assert [n.name for n in next(iter(back.by_shape.values()))] == ["n0", "n1", "n2", "n3"]
    assert inv.nodes[2].gpus[0].used_milli == 0  # the old snapshot is untouched


def test_unknown_node_is_not_found() -> None:
    with pytest.raises(ModelyardError):
        InventorySnapshot().node("ghost")
