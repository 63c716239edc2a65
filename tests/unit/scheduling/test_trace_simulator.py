"""Trace reader on a tiny subset, the arrival replay and the timed simulator."""

from __future__ import annotations

import pytest

from modelyard.domain.errors import ModelyardError
from modelyard.domain.inventory import Gpu, InventorySnapshot, Node, ResourceRequest
from modelyard.domain.quotas import PriorityClass
from modelyard.scheduling.fragmentation import WorkloadProfile
from modelyard.scheduling.gpus import GPU_MODELS, gpu_memory_bytes, lookup_gpu
from modelyard.scheduling.placement import make_policy
from modelyard.scheduling.simulator import (
    SimTask,
    inflate_workload,
    replay_arrivals,
    simulate,
)
from modelyard.scheduling.trace import parse_nodes, parse_tasks

NODES_CSV = """sn,cpu_milli,memory_mib,gpu,model
openb-node-0000,64000,262144,2,P100
openb-node-0001,96000,393216,8,G2
openb-node-0002,104000,524288,2,T4
"""
TASKS_CSV = """\
name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0
openb-pod-0001,6000,12288,1,460,,LS,Running,427061,12902960,427061
openb-pod-0002,8000,30000,8,1000,,BE,Running,10,,10
openb-pod-0003,4000,1024,0,0,,Burstable,Running,20,,
openb-pod-0004,6000,12288,1,500,T4|P100,LS,Running,30,40,30
"""


def test_trace_rows_become_nodes_and_requests() -> None:
    nodes = parse_nodes(NODES_CSV.splitlines())
    assert [len(n.gpus) for n in nodes] == [2, 8, 2]
    assert nodes[2].gpus[0].memory_bytes == GPU_MODELS["T4-16GB"].memory_bytes
    assert nodes[1].gpus[0].memory_bytes == 0  # G2 is undisclosed
    tasks = parse_tasks(TASKS_CSV.splitlines())
    shared, multi, cpu, spec = tasks[1].request, tasks[2].request, tasks[3].request, tasks[4].request
    assert shared.is_shared and shared.gpu_demand_milli == 460
    assert multi.gpu_count == 8 and multi.gpu_demand_milli == 8000
    assert cpu.gpu_count == 0 and tasks[3].deletion_time_s is None
    assert spec.gpu_models == frozenset({"T4", "P100"})
    assert tasks[0].qos == "LS" and tasks[0].deletion_time_s == 12537496


@pytest.mark.parametrize("bad", ["sn,cpu_milli\nx,1\n", "sn,cpu_milli,memory_mib,gpu,model\nx,a,1,1,T4\n"])
def test_bad_rows_are_refused(bad: str) -> None:
    with pytest.raises(ModelyardError):
        parse_nodes(bad.splitlines())


def test_gpu_catalogue_aliases() -> None:
    assert lookup_gpu("V100M32") == GPU_MODELS["V100-32GB"]
    assert gpu_memory_bytes("nope", 7) == 7
    assert {"H100-80GB", "H200-141GB", "A100-40GB", "L40S-48GB", "RTX4090-24GB"} <= set(GPU_MODELS)


def test_inflate_reaches_the_factor_and_keeps_ids_unique() -> None:
    reqs = [t.request for t in parse_tasks(TASKS_CSV.splitlines())]
    tasks = inflate_workload(reqs, 12_000, factor=1.3, seed=42)
    assert sum(t.gpu_demand_milli for t in tasks) >= 15_600
    assert len({t.replica_id for t in tasks}) == len(tasks)
    assert inflate_workload(reqs, 12_000, factor=1.3, seed=42) == tasks


@pytest.mark.parametrize("policy", ["best-fit", "fgd", "fgd-plus", "random"])
def test_replay_records_every_percent(policy: str) -> None:
    inv = InventorySnapshot(parse_nodes(NODES_CSV.splitlines()))
    reqs = [t.request for t in parse_tasks(TASKS_CSV.splitlines())]
    profile = WorkloadProfile.from_requests(reqs)
    tasks = inflate_workload(reqs, inv.gpu_capacity_milli, factor=1.3, seed=1)
    clock = iter(range(10**6))
    replay = replay_arrivals(inv, tasks, make_policy(policy, seed=1, profile=profile),
                             profile=profile, timer=lambda: float(next(clock)))
    assert [p.arrived_percent for p in replay.points] == list(range(len(replay.points)))
    assert len(replay.points) >= 131
    assert replay.placed + replay.skipped == len(tasks)
    assert all(0 <= p.allocation_ratio <= 1 and 0 <= p.fragmentation_ratio <= 1 for p in replay.points)
    assert replay.points[100].allocation_ratio > 0.5
    assert len(replay.decision_seconds) == len(tasks)


def _node(name: str, gpus: int) -> Node:
    return Node(name, tuple(Gpu(i, "H100", 80) for i in range(gpus)), 64000, 262144)


def test_simulate_queues_completes_and_preempts() -> None:
    inv = InventorySnapshot((_node("a", 2),))
    profile = WorkloadProfile.from_requests([ResourceRequest("x", 1, 1000)])

    def whole(rid: str) -> ResourceRequest:
        return ResourceRequest(rid, 1, 1000)

    tasks = [
        SimTask(whole("batch-1"), 0, 100, priority=PriorityClass.BATCH),
        SimTask(whole("batch-2"), 1, 100, priority=PriorityClass.BATCH),
        SimTask(whole("dev-1"), 2, 10, priority=PriorityClass.BATCH),
        SimTask(whole("prod-1"), 3, 50, priority=PriorityClass.PRODUCTION),
    ]
    report = simulate(inv, tasks, make_policy("best-fit"), profile=profile)
    assert report.preempted == 1
    assert report.pending == 0 and report.completed == 4
    assert report.allocation_ratio == 0.0 and report.end_s > 100
    no_preempt = simulate(inv, tasks, make_policy("best-fit"), profile=profile, preemption=False)
    assert no_preempt.preempted == 0 and no_preempt.completed == 4
