"""Backend protocol: start, stop and observe replica processes; nothing else.

Placement is decided elsewhere; a backend is told what to run and reports what runs.
``observe`` returns one ``Observed`` per process the backend knows, including processes
that outlived a previous server (adopted by their token) and ones that have exited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class LaunchSpec:
    """How to run one replica: module argv for the interpreter, environment, probe."""

    replica_id: str
    deployment: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    health_path: str = "/v2/health/ready"
    program: str | None = None  # None: argv runs under this Python with a bound socket (--fd)
    port: int | None = None  # for programs that bind their own port (engines)


@dataclass(frozen=True)
class Started:
    """What a successful start returns."""

    replica_id: str
    pid: int
    port: int
    token: str


@dataclass(frozen=True)
class Observed:
    """One process as the backend sees it now."""

    replica_id: str
    pid: int
    port: int
    token: str
    alive: bool
    ready: bool
    exit_code: int | None = None
    reason: str = ""


class Backend(Protocol):
    """An execution substrate for replicas."""

    name: str

    def reserve_port(self) -> int:
        """A free port for a program that binds its own (an engine)."""
        ...

    async def start(self, spec: LaunchSpec) -> Started:
        """Start a replica process and return its pid, port and token."""
        ...

    async def stop(self, replica_id: str) -> None:
        """Ask a replica to stop (graceful first, forced after the grace period)."""
        ...

    async def observe(self) -> Sequence[Observed]:
        """Report every known process, alive or exited, with its readiness."""
        ...

    def forget(self, replica_id: str) -> None:
        """Drop the record of an exited process."""
        ...

    def log_path(self, replica_id: str) -> str | None:
        """Where the replica's output goes, if on this machine."""
        ...

    async def close(self) -> None:
        """Release resources (processes keep running)."""
        ...
