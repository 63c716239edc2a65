"""Placement: filters with readable reasons, every policy, tensor parallelism on one node."""

from __future__ import annotations

import pytest

from modelyard.domain.errors import ModelyardError
from modelyard.domain.inventory import InventorySnapshot, ResourceRequest, Toleration
from modelyard.scheduling.filters import RejectionCode, filter_nodes
from modelyard.scheduling.fragmentation import WorkloadProfile
from modelyard.scheduling.gpus import GIB
from modelyard.scheduling.placement import (
    POLICIES,
    Placement,
    Unschedulable,
    apply_placement,
    make_policy,
    place,
    release_placement,
)


def req(rid: str = "r", **kw: object) -> ResourceRequest:
    return ResourceRequest(rid, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(
    ("request_", "allowed_nodes"),
    [
        (req(gpu_count=1, gpu_milli=1000), {"h100-a", "h100-b", "a100-a", "t4-a"}),
        (req(gpu_count=8, gpu_milli=1000), {"h100-a", "h100-b"}),
        (req(gpu_count=4, gpu_milli=1000, gpu_models=frozenset({"A100-40GB"})), {"a100-a"}),
        (req(gpu_count=1, gpu_milli=250, gpu_memory_bytes=10 * GIB), {"h100-a", "h100-b", "a100-a", "t4-a"}),
        (req(gpu_count=1, gpu_milli=1000, node_selector={"zone": "eu-2"}), {"h100-b"}),
        (req(gpu_count=2, gpu_milli=1000, gpu_models=frozenset({"L4-24GB"}),
             tolerations=(Toleration("dedicated"),)), {"l4-a"}),
        (req(cpu_milli=60000), {"h100-a", "h100-b", "a100-a", "cpu-a"}),
    ],
)
def test_every_policy_places_only_on_allowed_nodes(
    inventory: InventorySnapshot, profile: WorkloadProfile, policy: str,
    request_: ResourceRequest, allowed_nodes: set[str],
) -> None:
    decision = place(request_, inventory, make_policy(policy, seed=1, profile=profile))
    assert isinstance(decision, Placement)
    assert decision.node in allowed_nodes
    assert len({a.gpu_index for a in decision.allocations}) == request_.gpu_count
    assert all(a.node == decision.node for a in decision.allocations)


@pytest.mark.parametrize(
    ("request_", "code", "text"),
    [
        (req(gpu_count=2, gpu_milli=1000, gpu_memory_bytes=80 * GIB,
             gpu_models=frozenset({"A100-40GB"})), RejectionCode.INSUFFICIENT_GPU,
         "no node with 2 free 80GB A100-40GB GPUs"),
        (req(gpu_count=16, gpu_milli=1000), RejectionCode.INSUFFICIENT_GPU, "no node with 16 free GPUs"),
        (req(gpu_count=1, gpu_milli=1000, gpu_models=frozenset({"L4-24GB"})),
         RejectionCode.TAINT_NOT_TOLERATED, "taint dedicated=batch not tolerated"),
        (req(gpu_count=1, gpu_milli=1000, node_selector={"zone": "us-9"}),
         RejectionCode.SELECTOR_MISMATCH, "label zone=us-9 missing"),
        (req(cpu_milli=999_000), RejectionCode.INSUFFICIENT_CPU, "not enough free CPU"),
        (req(memory_mib=10**8), RejectionCode.INSUFFICIENT_MEMORY, "not enough free memory"),
    ],
)
def test_unschedulable_explains_itself(
    inventory: InventorySnapshot, request_: ResourceRequest, code: RejectionCode, text: str
) -> None:
    decision = place(request_, inventory, "best-fit")
    assert isinstance(decision, Unschedulable)
    assert code in {r.code for r in decision.reasons}
    assert text in decision.message
    assert any(r.code is RejectionCode.CORDONED and r.message == "node cordoned" for r in decision.reasons)


def test_filter_nodes_reports_each_rejected_node(inventory: InventorySnapshot) -> None:
    kept, rejected = filter_nodes(req(gpu_count=8, gpu_milli=1000), inventory.nodes)
    assert {n.name for n in kept} == {"h100-a", "h100-b"}
    assert {r.node for r in rejected} == {"a100-a", "a100-old", "l4-a", "t4-a", "cpu-a"}


def test_tensor_parallel_replica_stays_on_one_node_until_full(inventory: InventorySnapshot) -> None:
    inv = inventory
    for i in range(4):
        decision = place(req(f"tp{i}", gpu_count=4, gpu_milli=1000,
                             gpu_models=frozenset({"H100-80GB"})), inv, "best-fit")
        assert isinstance(decision, Placement)
        inv = apply_placement(inv, decision)
    assert all(g.used_milli == 1000 for n in inv.nodes[:2] for g in n.gpus)
    last = place(req("tp5", gpu_count=2, gpu_milli=1000, gpu_models=frozenset({"H100-80GB"})),
                 inv, "best-fit")
    assert isinstance(last, Unschedulable)
    assert "no node with 2 free H100-80GB GPUs" in last.message


def test_best_fit_packs_and_spread_spreads(inventory: InventorySnapshot) -> None:
    first = place(req("a", gpu_count=1, gpu_milli=500), inventory, "best-fit")
    assert isinstance(first, Placement) and first.node == "t4-a"
    inv = apply_placement(inventory, first)
    second = place(req("b", gpu_count=1, gpu_milli=500), inv, "best-fit")
    assert isinstance(second, Placement) and second.allocations == (
        first.allocations[0].__class__("t4-a", 0, 500, 0),
    )
    spread = place(req("c", gpu_count=1, gpu_milli=500), inv, "spread")
    assert isinstance(spread, Placement) and spread.node in {"h100-a", "h100-b"}


def test_random_is_seeded_and_deterministic(inventory: InventorySnapshot) -> None:
    r = req("same", gpu_count=1, gpu_milli=1000)
    a = place(r, inventory, make_policy("random", seed=7))
    b = place(r, inventory, make_policy("random", seed=7))
    assert a == b
    nodes = {place(req(f"x{i}", gpu_count=1, gpu_milli=1000), inventory,
                   make_policy("random", seed=7)).node for i in range(40)}  # type: ignore[union-attr]
    assert len(nodes) > 1


def test_fgd_avoids_breaking_a_whole_gpu(inventory: InventorySnapshot, profile: WorkloadProfile) -> None:
    fgd = make_policy("fgd", profile=profile)
    inv = inventory
    half = place(req("h1", gpu_count=1, gpu_milli=500, gpu_models=frozenset({"H100-80GB"})), inv, fgd)
    assert isinstance(half, Placement)
    inv = apply_placement(inv, half)
    again = place(req("h2", gpu_count=1, gpu_milli=500, gpu_models=frozenset({"H100-80GB"})), inv, fgd)
    assert isinstance(again, Placement)
    assert (again.node, again.allocations[0].gpu_index) == (half.node, half.allocations[0].gpu_index)


def test_release_restores_the_inventory(inventory: InventorySnapshot) -> None:
    decision = place(req(gpu_count=2, gpu_milli=1000, cpu_milli=1000, memory_mib=10), inventory,
                     "gpu-packing")
    assert isinstance(decision, Placement)
    after = release_placement(apply_placement(inventory, decision), decision)
    assert after.nodes == inventory.nodes


@pytest.mark.parametrize("name", ["nope", "fgd"])
def test_unknown_or_underspecified_policies_are_refused(name: str) -> None:
    with pytest.raises(ModelyardError):
        make_policy(name)


@pytest.mark.parametrize(
    "kwargs",
    [{"gpu_count": 2, "gpu_milli": 500}, {"gpu_count": 1, "gpu_milli": 1001},
     {"gpu_count": 1, "gpu_milli": 0}, {"cpu_milli": -1}],
)
def test_invalid_requests_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ModelyardError):
        ResourceRequest("bad", **kwargs)


def test_capacity_aware_measure_sees_gpus_stranded_by_cpu() -> None:
    from modelyard.scheduling.fragmentation import TaskClass

    plain = WorkloadProfile((TaskClass(12000, 0, 1, 1000, 1.0),))
    aware = plain.with_capacity_limits()
    gpus = tuple(("X", 0, 1000, 0) for _ in range(4))
    assert plain.fragmentation(20000, 0, gpus) == 0.0
    assert aware.fragmentation(20000, 0, gpus) == pytest.approx(3000.0)
    assert aware.fragmentation(48000, 0, gpus) == 0.0
    assert aware.fragmentation(8000, 0, gpus) == plain.fragmentation(8000, 0, gpus) == 4000.0
