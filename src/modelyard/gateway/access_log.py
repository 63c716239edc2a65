"""The access log: one JSON line per request on stderr, written in batches off the hot path.

A line carries the request id, route, deployment, revision, replica, team, key id (never
the key), status, error code, latency, queue time and tokens; never a body or a header
value. Lines are buffered and written at most every ``flush_s`` or when the buffer fills.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Protocol

import orjson


class Loggable(Protocol):
    """What a request leaves for its log line."""

    route_name: str
    request_id: bytes
    deployment: str
    revision: str
    status: int
    code: str
    team: str
    key_id: str
    queue_s: float
    tokens_in: int
    tokens_out: int
    replica_id: str


class AccessLog:
    """Buffered JSON lines to a file descriptor (stderr by default)."""

    def __init__(self, *, enabled: bool = True, fd: int = 2, flush_s: float = 0.2,
                 max_buffer: int = 512) -> None:
        self.enabled = enabled
        self.fd = fd
        self.flush_s = flush_s
        self.max_buffer = max_buffer
        self._lines: list[bytes] = []
        self._scheduled = False

    def write(self, call: Loggable, latency_s: float) -> None:
        """Queue one request's line."""
        if not self.enabled:
            return
        self._lines.append(orjson.dumps({
            "time": time.time(), "logger": "modelyard.access", "request_id": call.request_id.decode(),
            "route": call.route_name, "deployment": call.deployment, "revision": call.revision,
            "replica_id": call.replica_id, "team": call.team, "key_id": call.key_id,
            "status": call.status, "code": call.code, "latency_ms": round(latency_s * 1000, 3),
            "queue_ms": round(call.queue_s * 1000, 3), "tokens_in": call.tokens_in,
            "tokens_out": call.tokens_out}) + b"\n")
        if len(self._lines) >= self.max_buffer:
            self.flush()
        elif not self._scheduled:
            try:
                asyncio.get_running_loop().call_later(self.flush_s, self.flush)
                self._scheduled = True
            except RuntimeError:
                self.flush()

    def flush(self) -> None:
        """Write the buffered lines."""
        self._scheduled = False
        if self._lines:
            data, self._lines = b"".join(self._lines), []
            with contextlib.suppress(OSError):
                os.write(self.fd, data)
