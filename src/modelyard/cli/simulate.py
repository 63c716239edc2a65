"""``modelyard simulate``: replay a GPU workload trace through the real placement code."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import click

from modelyard.cli.output import emit_json, emit_table, output_option

POLICIES = ("random", "best-fit", "spread", "dot-product", "gpu-packing", "gpu-clustering",
            "fgd", "fgd-plus")


def run_simulation(nodes: Path, pods: Path, policy_name: str, seed: int, factor: float,
                   timed: bool) -> dict[str, Any]:
    """Replay the trace; arrivals-only (the ATC'23 experiment) or timed with departures."""
    from modelyard.scheduling.fragmentation import WorkloadProfile
    from modelyard.scheduling.placement import make_policy
    from modelyard.scheduling.simulator import (
        SimTask,
        inflate_workload,
        replay_arrivals,
        simulate,
    )
    from modelyard.scheduling.trace import read_nodes, read_tasks

    inventory = read_nodes(nodes)
    trace = read_tasks(pods)
    requests = [t.request for t in trace]
    profile = WorkloadProfile.from_requests(requests)
    policy = make_policy(policy_name, seed=seed, profile=profile)
    if timed:
        tasks = [SimTask(t.request, float(t.creation_time_s or 0),
                         None if t.deletion_time_s is None
                         else float(t.deletion_time_s - (t.creation_time_s or 0)))
                 for t in trace]
        report = simulate(inventory, tasks, policy, profile=profile)
        return {"mode": "timed", "policy": policy_name, "nodes": len(inventory.nodes),
                "tasks": len(tasks), "placed": report.placed, "completed": report.completed,
                "pending": report.pending, "preempted": report.preempted,
                "allocation_ratio": round(report.allocation_ratio, 4),
                "fragmentation_ratio": round(report.fragmentation_ratio, 4),
                "simulated_s": report.end_s}
    arrivals = inflate_workload(requests, inventory.gpu_capacity_milli, factor=factor, seed=seed)
    replay = replay_arrivals(inventory, arrivals, policy, profile=profile, timer=time.perf_counter)
    last = replay.points[-1]
    at_100 = replay.points[min(100, len(replay.points) - 1)]
    return {"mode": "arrivals", "policy": policy_name, "seed": seed, "factor": factor,
            "nodes": len(inventory.nodes), "tasks": len(arrivals), "placed": replay.placed,
            "pending": replay.skipped, "preempted": 0,
            "allocation_ratio_at_100": round(at_100.allocation_ratio, 4),
            "fragmentation_ratio_at_100": round(at_100.fragmentation_ratio, 4),
            "allocation_ratio": round(last.allocation_ratio, 4),
            "fragmentation_ratio": round(last.fragmentation_ratio, 4),
            "decision_ms_median": round(1000 * statistics.median(replay.decision_seconds), 3)
            if replay.decision_seconds else None}


@click.command("simulate")
@click.option("--nodes", required=True, type=click.Path(exists=True, path_type=Path),
              help="Node list CSV (sn,cpu_milli,memory_mib,gpu,model).")
@click.option("--pods", required=True, type=click.Path(exists=True, path_type=Path),
              help="Task list CSV (the Alibaba GPU trace 2023 columns).")
@click.option("--policy", type=click.Choice(POLICIES), default="fgd-plus", show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--factor", type=float, default=1.3, show_default=True,
              help="Arrivals mode: inflate demand to this multiple of GPU capacity.")
@click.option("--timed", is_flag=True,
              help="Use the trace's creation/deletion times (tasks leave; preemption on).")
@output_option
def simulate_command(nodes: Path, pods: Path, policy: str, seed: int, factor: float,
                     timed: bool, output: str) -> None:
    """Replay a workload through the same scheduling code the platform runs."""
    report = run_simulation(nodes, pods, policy, seed, factor, timed)
    if output == "json":
        emit_json(report)
    else:
        emit_table([(k, v) for k, v in report.items()], ["metric", "value"])
