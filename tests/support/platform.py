"""Run real modelyard processes (``up``, ``server``, ``gateway``) for tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from modelyard.cli.client import Client


def free_port() -> int:
    """A port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def replica_pids(home: Path) -> set[int]:
    """PIDs of live replica processes started from ``home``'s artifacts."""
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if state != "Z" and b"modelyard.runtimes.server" in cmd and any(
                str(home).encode() in part for part in cmd):
            pids.add(int(proc.name))
    return pids


class PlatformProcess:
    """One modelyard process on 127.0.0.1 with its own home."""

    def __init__(self, home: Path, command: str = "up", *, env: dict[str, str] | None = None,
                 extra: list[str] | None = None, port: int | None = None,
                 tls: tuple[Path, Path, Path] | None = None) -> None:
        """``tls`` = (certificate, private key, CA bundle): serve HTTPS and trust that CA."""
        self.home = home
        self.command = command
        self.port = port or free_port()
        self.env = {**os.environ, **(env or {})}
        self.extra = extra or []
        self.tls = tls
        if tls is not None:
            self.extra += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
        self.verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(tls[2])) if tls else True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / f"{command}-{self.port}.log"
        self._client: Client | None = None

    def start(self, timeout_s: float = 30.0) -> PlatformProcess:
        """Start the process and wait until ``/readyz`` answers 200."""
        self.home.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "modelyard", self.command, "--home", str(self.home),
                "--port", str(self.port), *self.extra]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.command} exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1, trust_env=False,
                             verify=self.verify).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.command} not ready: {self.log.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> None:
        """Stop the process (SIGTERM by default, SIGKILL to simulate a crash)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def key(self) -> str:
        """The admin key written on first start."""
        return (self.home / "admin.key").read_text().strip()

    def client(self) -> Client:
        """A REST client as admin (one per process, closed by ``stop``)."""
        if self._client is None:
            self._client = Client(self.url, self.key,
                                  verify=str(self.tls[2]) if self.tls else True)
        return self._client

    def http(self, key: str | None = None) -> httpx.Client:
        """A raw HTTP client with the admin key (or ``key``)."""
        return httpx.Client(base_url=self.url, trust_env=False, timeout=30, verify=self.verify,
                            headers={"Authorization": f"Bearer {key or self.key}"})


def wait_for(predicate: Any, timeout_s: float = 30.0, interval_s: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"condition not met in {timeout_s}s (last value {last!r})")


def cleanup_replicas(home: Path) -> None:
    """Kill any replica left from ``home`` (a test's safety net, after its assertions)."""
    for pid in replica_pids(home):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
