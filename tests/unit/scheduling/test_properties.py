"""Property tests of the scheduler invariants: never over-commit, never exceed quota unborrowed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.domain.inventory import GPU_MILLI, InventorySnapshot, ResourceRequest
from modelyard.domain.quotas import Quota
from modelyard.scheduling.fragmentation import TaskClass, WorkloadProfile
from modelyard.scheduling.gpus import GIB
from modelyard.scheduling.placement import (
    POLICIES,
    Placement,
    apply_placement,
    make_policy,
    place,
)
from modelyard.scheduling.quotas import (
    Admit,
    Claim,
    RunningReplica,
    admit,
    usage_by_key,
)
from tests.unit.scheduling.inventory_loader import load_inventory

INVENTORY = load_inventory()
PROFILE = WorkloadProfile((TaskClass(4000, 8192, 1, 1000, 0.5), TaskClass(2000, 4096, 1, 300, 0.5)))


@st.composite
def requests(draw: st.DrawFn) -> ResourceRequest:
    kind = draw(st.sampled_from(["whole", "shared", "cpu"]))
    count, milli = {
        "whole": (draw(st.sampled_from([1, 2, 4, 8])), GPU_MILLI),
        "shared": (1, draw(st.integers(1, 999))),
        "cpu": (0, 0),
    }[kind]
    return ResourceRequest(
        f"r{draw(st.integers(0, 10**6))}",
        gpu_count=count, gpu_milli=milli,
        gpu_memory_bytes=draw(st.sampled_from([0, 4 * GIB, 20 * GIB])) if count else 0,
        cpu_milli=draw(st.integers(0, 40000)), memory_mib=draw(st.integers(0, 200000)),
    )


def assert_within_capacity(inv: InventorySnapshot) -> None:
    for node in inv.nodes:
        assert 0 <= node.cpu_used_milli <= node.cpu_milli
        assert 0 <= node.memory_used_mib <= node.memory_mib
        for gpu in node.gpus:
            assert 0 <= gpu.used_milli <= GPU_MILLI
            assert 0 <= gpu.used_memory_bytes <= gpu.memory_bytes


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(POLICIES), st.lists(requests(), min_size=1, max_size=40))
def test_no_policy_ever_over_commits(policy_name: str, reqs: list[ResourceRequest]) -> None:
    policy = make_policy(policy_name, seed=3, profile=PROFILE)
    inv = INVENTORY
    for r in reqs:
        decision = place(r, inv, policy)
        if isinstance(decision, Placement):
            node = inv.node(decision.node)
            assert not node.cordoned
            assert len({a.gpu_index for a in decision.allocations}) == r.gpu_count
            inv = apply_placement(inv, decision)
            assert_within_capacity(inv)
    used = sum(r.gpu_demand_milli for r in reqs)
    assert inv.gpu_used_milli <= min(used, inv.gpu_capacity_milli)


QUOTAS = (
    Quota.of_gpus("red", "H100", 4, 2),
    Quota.of_gpus("blue", "H100", 4, 4),
    Quota.of_gpus("green", "H100", 2, 0),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["red", "blue", "green"]),
                          st.sampled_from([250, 500, 1000, 2000, 3000])), max_size=40))
def test_quota_never_exceeded_without_borrowing(claims: list[tuple[str, int]]) -> None:
    running: list[RunningReplica] = []
    for i, (team, milli) in enumerate(claims):
        claim = Claim(f"c{i}", team, "H100", milli)
        decision = admit(claim, QUOTAS, running)
        if not isinstance(decision, Admit):
            continue
        before = usage_by_key(running).get((team, "H100"), 0)
        quota = next(q for q in QUOTAS if q.team == team)
        if not decision.borrowed:
            assert before + milli <= quota.guaranteed_milli
        running.append(RunningReplica(claim.replica_id, team, "H100", milli,
                                      claim.priority, borrowed=decision.borrowed))
        usage = usage_by_key(running)
        assert usage[(team, "H100")] <= quota.ceiling_milli
        if decision.borrowed:
            # Borrowing only ever takes idle guarantees; guaranteed claims may still arrive
            # later (the lender's right), which is what preemption reclaims.
            assert sum(usage.values()) <= sum(q.guaranteed_milli for q in QUOTAS)
