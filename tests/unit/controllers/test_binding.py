"""decide_binding: placement, quota admission, borrowing and preemption as a table."""

from __future__ import annotations

from modelyard.controllers.binding import (
    BindingRequest,
    Bound,
    Pending,
    Preempt,
    decide_binding,
)
from modelyard.domain.deployments import Resources
from modelyard.domain.inventory import Gpu, GpuAllocation, InventorySnapshot, Node
from modelyard.domain.quotas import PriorityClass, Quota
from modelyard.scheduling.quotas import RunningReplica

GIB = 1024**3
P = PriorityClass


def inventory(used: int = 0) -> InventorySnapshot:
    node = Node("n1", tuple(Gpu(i, "H100-80GB", 80 * GIB) for i in range(4)), 64000, 512 * 1024)
    allocs = tuple(GpuAllocation("n1", i, 1000) for i in range(used))
    return InventorySnapshot((node.allocate(allocs, 0, 0) if allocs else node,))


def req(team: str = "a", gpus: int = 1, prio: PriorityClass = P.DEV) -> BindingRequest:
    return BindingRequest("new", team, prio, Resources(gpu_count=gpus))


def running(team: str, n: int, prio: PriorityClass, borrowed: bool = False) -> list[RunningReplica]:
    return [RunningReplica(f"{team}-{i}", team, "H100-80GB", 1000, prio, borrowed, float(i), "n1")
            for i in range(n)]


def test_cpu_only_replica_binds_without_quota() -> None:
    d = decide_binding(BindingRequest("new", "a", P.DEV, Resources()), inventory(), [], [],
                       "best-fit")
    assert isinstance(d, Bound) and d.allocation.gpu_indexes == ()


def test_gpu_replica_gets_gpus_and_model() -> None:
    d = decide_binding(req(gpus=2), inventory(), [], [], "best-fit")
    assert isinstance(d, Bound)
    assert len(d.allocation.gpu_indexes) == 2 and d.allocation.gpu_model == "H100-80GB"


def test_quota_exhausted_is_pending_with_reason() -> None:
    quotas = [Quota.of_gpus("a", "H100-80GB", 1), Quota.of_gpus("b", "H100-80GB", 1)]
    d = decide_binding(req(), inventory(1), running("a", 1, P.DEV), quotas, "best-fit")
    assert isinstance(d, Pending) and "team quota exhausted: 1/1 H100-80GB" in d.reason


def test_borrowing_idle_guarantee() -> None:
    quotas = [Quota.of_gpus("a", "H100-80GB", 1, borrow=2), Quota.of_gpus("b", "H100-80GB", 2)]
    d = decide_binding(req(), inventory(1), running("a", 1, P.DEV), quotas, "best-fit")
    assert isinstance(d, Bound) and d.allocation.borrowed


def test_full_node_preempts_lower_priority() -> None:
    d = decide_binding(req("a", 1, P.PRODUCTION), inventory(4), running("b", 4, P.DEV), [],
                       "best-fit")
    assert isinstance(d, Preempt) and len(d.victims) == 1 and d.reasons


def test_guaranteed_production_of_another_team_is_not_preempted() -> None:
    quotas = [Quota.of_gpus("a", "H100-80GB", 0, borrow=4), Quota.of_gpus("b", "H100-80GB", 4)]
    d = decide_binding(req("a", 1, P.PRODUCTION), inventory(4), running("b", 4, P.PRODUCTION),
                       quotas, "best-fit")
    assert isinstance(d, Pending)


def test_cordoned_node_reason() -> None:
    inv = InventorySnapshot((Node("n1", (), 1000, 1024, cordoned=True),))
    d = decide_binding(BindingRequest("new", "a", P.DEV, Resources()), inv, [], [], "best-fit")
    assert isinstance(d, Pending) and "cordoned" in d.reason


def test_no_preemption_for_a_claim_the_quota_refuses() -> None:
    quotas = [Quota.of_gpus("a", "H100-80GB", 2)]
    d = decide_binding(req("a", 1, P.PRODUCTION), inventory(4), running("a", 4, P.DEV), quotas,
                       "best-fit")
    assert isinstance(d, Pending) and "team quota exhausted" in d.reason


def test_stopping_replicas_are_waited_for() -> None:
    d = decide_binding(req("a", 1, P.PRODUCTION), inventory(4), running("b", 3, P.DEV), [],
                       "best-fit", {"n1": 1000})
    assert isinstance(d, Pending) and "waiting for stopping replicas" in d.reason
