"""Gateway overhead: the modelyard gateway against nginx and vllm-router on one fast upstream.

Starts, in one run, a minimal fast OpenAI-compatible upstream (``fast_upstream``: a fixed
JSON answer, and a 20-chunk SSE stream), nginx as a plain keep-alive reverse proxy, the
Rust ``vllm-router`` (``vllm-router==0.1.17``, installed with
``pip install --target .bench-site vllm-router==0.1.17``) and modelyard (``modelyard
server`` + ``modelyard gateway --workers N``) serving an external-endpoint deployment
that points at the upstream, with authentication, rate limits (per key and team,
requests and tokens) and metering on. Each is measured with ``wrk`` at concurrency 1,
16 and 64 (``--duration`` seconds per cell after a warm-up). Then the streaming check:
time to the first chunk through the gateway against direct (chunks are 10 ms apart, so
a buffering proxy would show ~190 ms).

    python -m benchmarks.gateway [--duration 15] [--workers 2] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import Cell, command_line, git_revision, lua_post, wrk_cell
from tests.support.platform import PlatformProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
BENCH_SITE = ROOT / ".bench-site"
BODY = '{"model":"bench","messages":[{"role":"user","content":"hello"}]}'
STREAM_BODY = '{"model":"bench","stream":true,"messages":[{"role":"user","content":"hello"}]}'
PATH = "/v1/chat/completions"
CONCURRENCY = (1, 16, 64)

NGINX_CONF = """
worker_processes auto;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log crit;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {root}/nginx-body;
  proxy_temp_path {root}/nginx-proxy;
  fastcgi_temp_path {root}/nginx-fcgi;
  uwsgi_temp_path {root}/nginx-uwsgi;
  scgi_temp_path {root}/nginx-scgi;
  upstream up {{ server 127.0.0.1:{up}; keepalive 256; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }}
  }}
}}
"""


def wait_http(url: str, *, body: str = BODY, headers: dict[str, str] | None = None,
              timeout_s: float = 60.0) -> None:
    """Wait until ``url`` answers a POST with 200."""
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:
            r = httpx.post(url, content=body, timeout=2, trust_env=False,
                           headers={"Content-Type": "application/json", **(headers or {})})
            if r.status_code == 200:
                return
            last = f"{r.status_code} {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.1)
    raise RuntimeError(f"{url} not serving: {last}")


class Stack:
    """Every process of one run, stopped together."""

    def __init__(self, root: Path, workers: int) -> None:
        self.root = root
        self.workers = workers
        self.procs: list[subprocess.Popen[bytes]] = []
        self.platforms: list[PlatformProcess] = []
        self.urls: dict[str, str] = {}
        self.gateway_key = ""

    def spawn(self, argv: list[str], env: dict[str, str] | None = None,
              log: str = "proc") -> subprocess.Popen[bytes]:
        out = (self.root / f"{log}.log").open("ab")
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})}, cwd=ROOT)
        self.procs.append(proc)
        return proc

    def start_upstream(self) -> None:
        port = free_port()
        self.spawn([sys.executable, "-m", "benchmarks.fast_upstream", str(port), "10"], log="upstream")
        self.urls["direct"] = f"http://127.0.0.1:{port}"
        wait_http(self.urls["direct"] + PATH)

    def start_nginx(self) -> None:
        if shutil.which("nginx") is None:
            return
        port = free_port()
        conf = self.root / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=self.root, up=self.urls["direct"].rsplit(":", 1)[1],
                                          port=port))
        self.spawn(["nginx", "-c", str(conf), "-p", str(self.root), "-g", "daemon off;"], log="nginx")
        self.urls["nginx"] = f"http://127.0.0.1:{port}"
        wait_http(self.urls["nginx"] + PATH)

    def start_vllm_router(self) -> None:
        if not (BENCH_SITE / "vllm_router").is_dir():
            return
        port = free_port()
        self.spawn([sys.executable, "-m", "vllm_router.launch_router", "--host", "127.0.0.1",
                    "--port", str(port), "--worker-urls", self.urls["direct"],
                    "--policy", "round_robin", "--log-level", "error"],
                   env={"PYTHONPATH": str(BENCH_SITE)}, log="vllm-router")
        self.urls["vllm-router"] = f"http://127.0.0.1:{port}"
        wait_http(self.urls["vllm-router"] + PATH)

    def start_modelyard(self) -> None:
        home = self.root / "home"
        limits = {"MODELYARD_GATEWAY__KEY_REQUESTS_PER_MINUTE": "1000000000",
                  "MODELYARD_GATEWAY__TEAM_REQUESTS_PER_MINUTE": "1000000000",
                  "MODELYARD_GATEWAY__KEY_TOKENS_PER_MINUTE": "1000000000",
                  "MODELYARD_GATEWAY__TEAM_TOKENS_PER_MINUTE": "1000000000",
                  "BENCH_UPSTREAM_KEY": "upstream-secret"}
        server = PlatformProcess(home, "server", env=limits).start(60)
        self.platforms.append(server)
        admin = server.client()
        self.gateway_key = admin.create_key(name="bench", team="default", role="developer")["key"]
        admin.deploy_external(name="bench", endpoints=[self.urls["direct"]],
                              upstream_key_env="BENCH_UPSTREAM_KEY")
        gw = PlatformProcess(home, "gateway", env=limits,
                             extra=["--server", server.url, "--workers", str(self.workers)])
        self.platforms.append(gw.start(60))
        self.urls["modelyard"] = gw.url
        for _ in range(self.workers * 4):  # every worker has its route table
            wait_http(gw.url + PATH, headers={"Authorization": f"Bearer {self.gateway_key}"})

    def stop(self) -> None:
        for p in reversed(self.platforms):
            p.stop()
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def first_chunk_ms(url: str, headers: dict[str, str], tries: int) -> tuple[float, float]:
    """Median (time to first chunk, time to the whole stream) in ms over ``tries`` streams."""
    firsts, totals = [], []
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        for _ in range(tries):
            t0 = time.perf_counter()
            async with client.stream("POST", url + PATH, content=STREAM_BODY,
                                     headers={"Content-Type": "application/json",
                                              **headers}) as resp:
                first = None
                async for _chunk in resp.aiter_raw():
                    if first is None:
                        first = time.perf_counter() - t0
            totals.append(time.perf_counter() - t0)
            firsts.append(first or 0.0)
    return statistics.median(firsts) * 1000, statistics.median(totals) * 1000


def cell_json(c: Cell) -> dict[str, float]:
    return {"rps": round(c.rps, 1), "p50_ms": round(c.p50_ms, 3), "p99_ms": round(c.p99_ms, 3),
            "requests": c.requests, "errors": c.errors}


def run(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-gw-"))
    stack = Stack(root, args.workers)
    results: dict[str, dict[str, dict[str, float]]] = {}
    try:
        stack.start_upstream()
        stack.start_nginx()
        stack.start_vllm_router()
        stack.start_modelyard()
        script = lua_post(root / "post.lua", f"wrk.body = '{BODY}'",
                          {"Authorization": f"Bearer {stack.gateway_key}"})
        for name, url in stack.urls.items():
            results[name] = {}
            for c in CONCURRENCY:
                cell = wrk_cell(url + PATH, script, c, args.duration, args.warmup)
                results[name][str(c)] = cell_json(cell)
        auth = {"Authorization": f"Bearer {stack.gateway_key}"}
        direct_first, direct_total = asyncio.run(first_chunk_ms(stack.urls["direct"], {}, 10))
        gw_first, gw_total = asyncio.run(first_chunk_ms(stack.urls["modelyard"], auth, 10))
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return {"results": results, "streaming": {
        "direct_first_chunk_ms": round(direct_first, 2), "gateway_first_chunk_ms": round(gw_first, 2),
        "direct_stream_ms": round(direct_total, 2), "gateway_stream_ms": round(gw_total, 2)}}


def ratios(out: dict[str, Any]) -> dict[str, float | None]:
    r = out["results"]
    gw, vr, direct = r.get("modelyard", {}), r.get("vllm-router", {}), r["direct"]
    def ratio(c: str) -> float | None:
        return round(gw[c]["rps"] / vr[c]["rps"], 3) if vr and gw and vr[c]["rps"] else None
    return {"gateway_vs_vllm_router_rps_c16": ratio("16"),
            "gateway_vs_vllm_router_rps_c64": ratio("64"),
            "gateway_added_p50_ms_c1": round(gw["1"]["p50_ms"] - direct["1"]["p50_ms"], 3),
            "vllm_router_added_p50_ms_c1": (round(vr["1"]["p50_ms"] - direct["1"]["p50_ms"], 3)
                                            if vr else None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0, help="Seconds per cell.")
    parser.add_argument("--warmup", type=float, default=3.0, help="Warm-up seconds per cell.")
    parser.add_argument("--workers", type=int, default=2, help="modelyard gateway processes.")
    parser.add_argument("--quick", action="store_true", help="3 s cells, 1 s warm-up.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument("--keep", action="store_true", help="Keep the logs folder.")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup = 3.0, 1.0
    out = run(args)
    out["ratios"] = ratios(out)
    out["command"] = command_line()
    out["revision"] = git_revision()
    out["workers"] = args.workers
    out["duration_s"] = args.duration
    if args.json:
        print(json.dumps(out, sort_keys=True))
        return
    print(f"# gateway benchmark  ({out['command']}, rev {out['revision']}, "
          f"{args.duration:g} s per cell, gateway workers {args.workers})")
    print(f"{'target':<13}{'c':>4}{'req/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, cells in out["results"].items():
        for c, cell in cells.items():
            print(f"{name:<13}{c:>4}{cell['rps']:>11.0f}{cell['p50_ms']:>9.3f}"
                  f"{cell['p99_ms']:>9.3f}{cell['errors']:>8}")
    for k, v in out["ratios"].items():
        print(f"{k}: {v}")
    for k, v in out["streaming"].items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
