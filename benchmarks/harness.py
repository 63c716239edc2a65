"""Shared benchmark plumbing: a platform in a temp home, a closed-loop load driver, stats."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.platform import PlatformProcess, cleanup_replicas


@dataclass(frozen=True)
class Cell:
    """Result of one load cell."""

    concurrency: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        """Successful requests per second."""
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def closed_loop(send: Callable[[], Awaitable[bool]], concurrency: int, duration_s: float,
                      warmup_s: float) -> Cell:
    """Run ``concurrency`` workers sending back to back; measure after the warm-up."""
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    measure_from = start + warmup_s
    stop_at = measure_from + duration_s

    async def worker() -> None:
        nonlocal errors
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                return
            ok = await send()
            t1 = time.perf_counter()
            if t0 >= measure_from:
                latencies.append((t1 - t0) * 1000)
                errors += not ok

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Cell(concurrency, len(latencies), errors, duration_s,
                statistics.median(latencies) if latencies else float("nan"),
                percentile(latencies, 99))


def start_platform(root: Path, env: dict[str, str] | None = None) -> PlatformProcess:
    """Start ``modelyard up`` in a fresh home under ``root``."""
    return PlatformProcess(root / "home", env=env).start(timeout_s=60)


def stop_platform(p: PlatformProcess) -> None:
    """Stop the platform and every replica it started."""
    p.stop()
    cleanup_replicas(p.home)


def command_line() -> str:
    """The command that is running, for the report."""
    return " ".join([os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd())
                     else "python", *sys.argv])


def git_revision() -> str:
    """Short git revision of the tree being measured."""
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def async_client(limit: int) -> httpx.AsyncClient:
    """An HTTP client sized for ``limit`` concurrent requests."""
    return httpx.AsyncClient(limits=httpx.Limits(max_connections=limit,
                                                 max_keepalive_connections=limit),
                             timeout=120, trust_env=False)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    for unit in ("us", "ms", "s", "m"):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "").isdigit():
            return float(text[: -len(unit)]) * _UNITS_MS[unit]
    raise ValueError(f"not a wrk duration: {text!r}")


def parse_wrk(output: str, concurrency: int, duration_s: float) -> Cell:
    """Read requests, errors and latency percentiles from ``wrk --latency`` output."""
    requests = errors = 0
    p50 = p99 = float("nan")
    for raw in output.splitlines():
        line = raw.strip()
        if " requests in " in line:
            requests = int(line.split()[0])
        elif line.startswith("Non-2xx or 3xx responses:"):
            errors += int(line.split(":")[1])
        elif line.startswith("Socket errors:"):
            errors += sum(int(part.split()[-1]) for part in line.split(":", 1)[1].split(","))
        elif line.startswith("50%"):
            p50 = _ms(line.split()[1])
        elif line.startswith("99%"):
            p99 = _ms(line.split()[1])
    return Cell(concurrency, requests, errors, duration_s, p50, p99)


def lua_post(path: Path, body_lua: str, headers: dict[str, str]) -> Path:
    """Write a wrk script whose ``request()`` POSTs the body built by ``body_lua``."""
    head = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    path.write_text(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                    f"{head}\n{body_lua}\n")
    return path


def wrk_cell(url: str, script: Path, concurrency: int, duration_s: float,
             warmup_s: float) -> Cell:
    """Warm up, then measure one closed-loop cell with ``wrk`` (one thread per core)."""
    threads = str(max(1, min(concurrency, 2)))
    base = ["wrk", "-t", threads, "-c", str(concurrency), "-s", str(script), "--latency",
            "--timeout", "60s"]
    if warmup_s > 0:
        subprocess.run([*base, "-d", f"{warmup_s:g}s", url], capture_output=True, check=True)
    done = subprocess.run([*base, "-d", f"{duration_s:g}s", url], capture_output=True,
                          text=True, check=True)
    return parse_wrk(done.stdout, concurrency, duration_s)


def have_wrk() -> bool:
    """True when the ``wrk`` load tool is installed (``make bench-deps``)."""
    import shutil

    return shutil.which("wrk") is not None
