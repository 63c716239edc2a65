"""LocalBackend: replicas as local processes, each in its own process group.

A built-in replica gets a listening socket bound on 127.0.0.1:0 (``--fd``), so no other
process can take the port in between; an engine binds the port reserved for it. A JSON
record per replica in ``run_dir`` (pid, port, token, health path) lets a restarted server
adopt processes that are still alive: a record is trusted only when the process still
carries its token (on its command line, or as ``MODELYARD_REPLICA_TOKEN`` in its
environment).
Stopping sends SIGTERM to the group and SIGKILL once the grace period has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from modelyard.backends.base import LaunchSpec, Observed, Started

logger = logging.getLogger(__name__)


@dataclass
class _Proc:
    replica_id: str
    pid: int
    port: int
    token: str
    log: str
    health_path: str = "/v2/health/ready"
    handle: subprocess.Popen[bytes] | None = None
    exit_code: int | None = None
    stop_deadline: float | None = None


def _cmdline_has(pid: int, token: str) -> bool:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return token.encode() in raw.split(b"\0")


def _environ_has(pid: int, token: str) -> bool:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"MODELYARD_REPLICA_TOKEN={token}".encode() in raw.split(b"\0")


def _owns(pid: int, token: str) -> bool:
    """The process still is the replica we started (token on its command line or env)."""
    return _cmdline_has(pid, token) or _environ_has(pid, token)


def _is_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in {"Z", "X"}


def _last_reason(log: str) -> str:
    try:
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            lines = fh.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.startswith("modelyard-replica:"):
            return line.removeprefix("modelyard-replica:").strip()
    return lines[-1].strip()[:300] if lines else ""


class LocalBackend:
    """Runs replicas as processes on this machine."""

    name = "local"

    def __init__(self, run_dir: Path, logs_dir: Path, *, python: str = "",
                 stop_grace_s: float = 10.0, probe_timeout_s: float = 1.0) -> None:
        self.run_dir = run_dir
        self.logs_dir = logs_dir
        self.python = python or sys.executable
        self.stop_grace_s = stop_grace_s
        run_dir.mkdir(parents=True, exist_ok=True)
        logs_dir.mkdir(parents=True, exist_ok=True)
        self._procs: dict[str, _Proc] = {}
        self._client = httpx.AsyncClient(timeout=probe_timeout_s, trust_env=False)
        self._adopt_survivors()

    def _record_path(self, replica_id: str) -> Path:
        return self.run_dir / f"{replica_id}.json"

    def _adopt_survivors(self) -> None:
        for path in sorted(self.run_dir.glob("*.json")):
            try:
                rec = json.loads(path.read_text())
                proc = _Proc(rec["replica_id"], int(rec["pid"]), int(rec["port"]), rec["token"],
                             rec["log"], rec.get("health_path", "/v2/health/ready"))
            except (OSError, ValueError, KeyError):
                path.unlink(missing_ok=True)
                continue
            if _is_alive(proc.pid) and _owns(proc.pid, proc.token):
                logger.info("adopted replica process", extra={"replica_id": proc.replica_id,
                                                             "pid": proc.pid})
            else:
                proc.exit_code = -1
            self._procs[proc.replica_id] = proc

    def reserve_port(self) -> int:
        """A port that was free a moment ago (engines bind their own)."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    async def start(self, spec: LaunchSpec) -> Started:
        """Start the replica's process and record it."""
        if spec.program is not None:
            return self._start_program(spec)
        return self._start_python(spec)

    def _spawn(self, spec: LaunchSpec, argv: list[str], port: int, token: str,
               pass_fds: tuple[int, ...] = ()) -> Started:
        log = str(self.logs_dir / f"{spec.replica_id}.log")
        env = {**os.environ, **spec.env, "MODELYARD_REPLICA_TOKEN": token}
        with open(log, "ab") as out:
            handle = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                      pass_fds=pass_fds, start_new_session=True,
                                      stdin=subprocess.DEVNULL)
        proc = _Proc(spec.replica_id, handle.pid, port, token, log, spec.health_path, handle)
        self._procs[spec.replica_id] = proc
        self._record_path(spec.replica_id).write_text(json.dumps({
            "replica_id": spec.replica_id, "pid": handle.pid, "port": port, "token": token,
            "log": log, "deployment": spec.deployment, "health_path": spec.health_path}))
        logger.info("started replica process", extra={"replica_id": spec.replica_id,
                                                      "pid": handle.pid, "port": port})
        return Started(spec.replica_id, handle.pid, port, token)

    def _start_program(self, spec: LaunchSpec) -> Started:
        assert spec.program is not None and spec.port is not None
        token = secrets.token_hex(16)
        return self._spawn(spec, [spec.program, *spec.argv], spec.port, token)

    def _start_python(self, spec: LaunchSpec) -> Started:
        token = secrets.token_hex(16)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit TCP_NODELAY; without it every keep-alive response
        # waits for the gateway's delayed ACK (about 40 ms on Linux).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        port = sock.getsockname()[1]
        fd = sock.fileno()
        argv = [self.python, *spec.argv, "--fd", str(fd), "--token", token]
        try:
            return self._spawn(spec, argv, port, token, (fd,))
        finally:
            sock.close()

    def _poll(self, proc: _Proc) -> bool:
        """Return True while the process runs; record its exit otherwise."""
        if proc.exit_code is not None:
            return False
        if proc.handle is not None:
            code = proc.handle.poll()
            if code is None:
                return True
            proc.exit_code = code
            return False
        if _is_alive(proc.pid) and _owns(proc.pid, proc.token):
            return True
        proc.exit_code = -1
        return False

    def _signal(self, proc: _Proc, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)

    async def stop(self, replica_id: str) -> None:
        """SIGTERM the process group now; SIGKILL it once the grace period has passed."""
        proc = self._procs.get(replica_id)
        if proc is None or not self._poll(proc):
            return
        now = time.monotonic()
        if proc.stop_deadline is None:
            proc.stop_deadline = now + self.stop_grace_s
            self._signal(proc, signal.SIGTERM)
        elif now >= proc.stop_deadline:
            self._signal(proc, signal.SIGKILL)

    async def _probe(self, proc: _Proc) -> bool:
        try:
            resp = await self._client.get(f"http://127.0.0.1:{proc.port}{proc.health_path}")
        except httpx.HTTPError:
            return False
        return resp.status_code == 200

    async def observe(self) -> Sequence[Observed]:
        """Poll every process and probe the live ones, concurrently."""
        procs = list(self._procs.values())
        alive = [self._poll(p) for p in procs]
        for p, is_alive in zip(procs, alive, strict=True):
            if is_alive and p.stop_deadline is not None and time.monotonic() >= p.stop_deadline:
                self._signal(p, signal.SIGKILL)
        probes = await asyncio.gather(*(self._probe(p) if a and p.stop_deadline is None
                                        else _false() for p, a in zip(procs, alive, strict=True)))
        return [
            Observed(p.replica_id, p.pid, p.port, p.token, a, bool(r), p.exit_code,
                     "" if a else _last_reason(p.log))
            for p, a, r in zip(procs, alive, probes, strict=True)
        ]

    def forget(self, replica_id: str) -> None:
        """Drop an exited process's record."""
        proc = self._procs.get(replica_id)
        if proc is not None and not self._poll(proc):
            del self._procs[replica_id]
            self._record_path(replica_id).unlink(missing_ok=True)

    def log_path(self, replica_id: str) -> str | None:
        """The replica's log file."""
        path = self.logs_dir / f"{replica_id}.log"
        return str(path) if path.exists() else None

    async def close(self) -> None:
        """Close the probe client; processes keep running for adoption."""
        await self._client.aclose()

    async def stop_all(self, timeout_s: float) -> None:
        """Stop every process and wait for them (used by ``up --stop-replicas-on-exit``)."""
        deadline = time.monotonic() + timeout_s
        for rid in list(self._procs):
            await self.stop(rid)
        while any(self._poll(p) for p in self._procs.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for p in self._procs.values():
            if self._poll(p):
                self._signal(p, signal.SIGKILL)
        for rid in list(self._procs):
            self.forget(rid)


async def _false() -> bool:
    return False
