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
