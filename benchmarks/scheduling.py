"""Placement policies on the Alibaba GPU trace 2023, as in Weng et al. (USENIX ATC '23).

Re-implements the paper's experiment (see shared/data/alibaba-gpu-2023/README.md): the
1,213 GPU nodes; tasks shuffled with seeds 42-51 and inflated to 1.3x the GPU capacity by
sampling with replacement; tasks placed one at a time, never leaving; a task that does not
fit is skipped; at each whole percent of arrived GPU demand the allocation ratio and the
fragmentation ratio are recorded; medians over seeds. Placement runs through
``modelyard.scheduling.placement.place`` unchanged (via ``simulator.replay_arrivals``).

    python benchmarks/scheduling.py                # all policies, seeds 42-51
    python benchmarks/scheduling.py --quick        # seeds 42-43
    python benchmarks/scheduling.py --json         # one JSON object instead of a table
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from modelyard.scheduling.fragmentation import WorkloadProfile
from modelyard.scheduling.placement import make_policy
from modelyard.scheduling.simulator import (
    ArrivalReplay,
    inflate_workload,
    replay_arrivals,
)
from modelyard.scheduling.trace import NODE_FILE, TASK_FILE, read_nodes, read_tasks

ROOT = Path(__file__).resolve().parents[1]

POLICIES = ("random", "dot-product", "gpu-clustering", "gpu-packing", "best-fit", "fgd", "fgd-plus")
PAPER_UNALLOCATED = {"random": 13.75, "dot-product": 9.44, "gpu-clustering": 8.42,
                     "gpu-packing": 8.19, "best-fit": 7.09, "fgd": 4.77}
PAPER_ALLOC_130 = {"best-fit": 93.11, "fgd": 95.40}
MARKS = (90, 95, 100, 130)


def default_trace_dir() -> Path:
    """The shared trace folder: ``../shared/...`` from the repo root, or above it."""
    for base in (ROOT.parent, *ROOT.parents, ROOT):
        candidate = base / "shared" / "data" / "alibaba-gpu-2023"
        if (candidate / NODE_FILE).exists():
            return candidate
    return ROOT.parent / "shared" / "data" / "alibaba-gpu-2023"


def parse_seeds(text: str) -> list[int]:
    """``42-51`` or ``42,43`` -> seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    return seeds


def run_one(job: tuple[str, int, str, str, float]) -> ArrivalReplay:
    """One policy on one seed (runs in a worker process)."""
    policy_name, seed, nodes_path, pods_path, factor = job
    inventory = read_nodes(Path(nodes_path))
    requests = [t.request for t in read_tasks(Path(pods_path))]
    profile = WorkloadProfile.from_requests(requests)
    tasks = inflate_workload(requests, inventory.gpu_capacity_milli, factor=factor, seed=seed)
    policy = make_policy(policy_name, seed=seed, profile=profile)
    return replay_arrivals(inventory, tasks, policy, profile=profile, timer=time.perf_counter)


def summarise(replays: list[ArrivalReplay]) -> dict[str, float]:
    """Medians over seeds for one policy."""
    def at(mark: int, field: str) -> float:
        values = [getattr(r.points[min(mark, len(r.points) - 1)], field) for r in replays]
        return 100 * statistics.median(values)
    row = {f"alloc_{m}": at(m, "allocation_ratio") for m in MARKS}
    row["unallocated_100"] = 100 - row["alloc_100"]
    row["fragmentation_100"] = at(100, "fragmentation_ratio")
    row["decision_ms_median"] = 1000 * statistics.median(
        statistics.median(r.decision_seconds) for r in replays
    )
    row["skipped_median"] = statistics.median(r.skipped for r in replays)
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table (or JSON)."""
    trace = default_trace_dir()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=Path, default=trace / NODE_FILE)
    parser.add_argument("--pods", type=Path, default=trace / TASK_FILE)
    parser.add_argument("--seeds", default="42-51")
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--factor", type=float, default=1.3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true", help="seeds 42-43 only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    seeds = [42, 43] if args.quick else parse_seeds(args.seeds)
    policies = [p for p in args.policies.split(",") if p]
    jobs = [(p, s, str(args.nodes), str(args.pods), args.factor) for p in policies for s in seeds]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        replays = list(pool.map(run_one, jobs))
    elapsed = time.perf_counter() - started
    results = {p: summarise([r for r, j in zip(replays, jobs, strict=True) if j[0] == p])
               for p in policies}
    args_text = [shlex.quote(a) for a in (argv or sys.argv[1:])]
    command = " ".join(["python -m benchmarks.scheduling", *args_text])
    if args.json:
        print(json.dumps({"command": command, "seeds": seeds, "factor": args.factor,
                          "elapsed_s": round(elapsed, 1), "results": results,
                          "paper_unallocated_100": PAPER_UNALLOCATED,
                          "paper_alloc_130": PAPER_ALLOC_130}, indent=2, sort_keys=True))
        return 0
    print_table(results, seeds, elapsed, command)
    return 0


def print_table(results: dict[str, dict[str, float]], seeds: list[int], elapsed: float,
                command: str) -> None:
    """Human-readable table, best policy last."""
    print(f"Alibaba GPU trace 2023, {len(seeds)} seeds, medians; all figures in % of GPU capacity")
    head = ("policy", "alloc@90", "alloc@95", "alloc@100", "alloc@130", "unalloc@100",
            "paper", "paper@130", "frag@100", "ms/decision")
    print(" | ".join(f"{h:>14}" if i == 0 else f"{h:>11}" for i, h in enumerate(head)))
    for name, r in sorted(results.items(), key=lambda kv: -kv[1]["alloc_100"]):
        paper = PAPER_UNALLOCATED.get(name)
        paper130 = PAPER_ALLOC_130.get(name)
        cells = [name, *(f"{r[f'alloc_{m}']:.2f}" for m in MARKS), f"{r['unallocated_100']:.2f}",
                 f"{paper:.2f}" if paper else "-", f"{paper130:.2f}" if paper130 else "-",
                 f"{r['fragmentation_100']:.2f}", f"{r['decision_ms_median']:.3f}"]
        print(" | ".join(f"{c:>14}" if i == 0 else f"{c:>11}" for i, c in enumerate(cells)))
    print(f"elapsed {elapsed:.0f}s; command: {command}")


if __name__ == "__main__":
    raise SystemExit(main())
