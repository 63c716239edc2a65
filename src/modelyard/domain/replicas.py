"""Replica lifecycle as a transition table; ``transition`` is the only writer of ``.state``.

```
pending ─bound→ scheduled ─launched→ starting ─probe_passed→ ready
   │               │                    │  └exited/probe_failed→ failed ─launched→ starting
   │               │                    │                          └gave_up→ crash_loop ─launched→ starting
   └──drain──→ stopped ←──────── drain (nothing running) ─────────┘
ready/starting ─drain→ draining ─exited→ stopped
```
The restart backoff doubles per consecutive crash, from ``base_s`` up to ``max_s``.
After ``crash_loop_after`` consecutive crashes the replica is marked crash_loop with the
reason; it is still retried at the maximum backoff (like Kubernetes' CrashLoopBackOff).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from modelyard.domain.errors import InvalidTransition
from modelyard.domain.ids import ReplicaId


class ReplicaState(StrEnum):
    """Where a replica is in its life."""

    PENDING = "pending"
    SCHEDULED = "scheduled"
    STARTING = "starting"
    READY = "ready"
    FAILED = "failed"
    CRASH_LOOP = "crash_loop"
    DRAINING = "draining"
    STOPPED = "stopped"


class ReplicaEvent(StrEnum):
    """What can happen to a replica."""

    BOUND = "bound"
    LAUNCHED = "launched"
    PROBE_PASSED = "probe_passed"
    PROBE_FAILED = "probe_failed"
    EXITED = "exited"
    GAVE_UP = "gave_up"
    DRAIN = "drain"


S, E = ReplicaState, ReplicaEvent
REPLICA_TRANSITIONS: Mapping[ReplicaState, Mapping[ReplicaEvent, ReplicaState]] = MappingProxyType({
    S.PENDING: {E.BOUND: S.SCHEDULED, E.DRAIN: S.STOPPED},
    S.SCHEDULED: {E.LAUNCHED: S.STARTING, E.EXITED: S.FAILED, E.DRAIN: S.STOPPED},
    S.STARTING: {E.PROBE_PASSED: S.READY, E.PROBE_FAILED: S.FAILED, E.EXITED: S.FAILED,
                 E.DRAIN: S.DRAINING},
    S.READY: {E.PROBE_FAILED: S.FAILED, E.EXITED: S.FAILED, E.DRAIN: S.DRAINING},
    S.FAILED: {E.LAUNCHED: S.STARTING, E.GAVE_UP: S.CRASH_LOOP, E.DRAIN: S.STOPPED},
    S.CRASH_LOOP: {E.LAUNCHED: S.STARTING, E.DRAIN: S.STOPPED},
    S.DRAINING: {E.EXITED: S.STOPPED},
    S.STOPPED: {},
})
del S, E

RUNNING_STATES = frozenset({ReplicaState.STARTING, ReplicaState.READY, ReplicaState.DRAINING})
LIVE_STATES = frozenset(ReplicaState) - {ReplicaState.STOPPED, ReplicaState.DRAINING}


@dataclass(frozen=True)
class Allocation:
    """What the scheduler gave a replica on its node."""

    gpu_indexes: tuple[int, ...] = ()
    gpu_milli: int = 0
    gpu_memory_bytes: int = 0
    gpu_model: str = ""
    cpu_milli: int = 0
    memory_mib: int = 0
    borrowed: bool = False

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form for storage."""
        out = asdict(self)
        out["gpu_indexes"] = list(self.gpu_indexes)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Allocation:
        """Parse the stored form."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["gpu_indexes"] = tuple(known.get("gpu_indexes") or ())
        return cls(**known)


@dataclass(frozen=True)
class Replica:
    """One running (or wanting to run) instance of a revision."""

    id: ReplicaId
    deployment: str
    revision: int
    state: ReplicaState
    state_since: datetime
    created_at: datetime
    node: str | None = None
    pid: int | None = None
    port: int | None = None
    token: str | None = None
    restart_count: int = 0
    next_restart_at: datetime | None = None
    reason: str = ""
    version: int = 1
    allocation: Allocation | None = None

    @property
    def url(self) -> str | None:
        """Base URL of the replica's server, once it has a port."""
        return f"http://127.0.0.1:{self.port}" if self.port else None


def transition(
    replica: Replica, event: ReplicaEvent, now: datetime, reason: str | None = None
) -> Replica:
    """Return ``replica`` after ``event``; raise ``InvalidTransition`` for an illegal pair."""
    try:
        target = REPLICA_TRANSITIONS[replica.state][event]
    except KeyError:
        raise InvalidTransition("replica", replica.state, event) from None
    new_reason = replica.reason if reason is None else reason
    return replace(replica, state=target, state_since=now, reason=new_reason)


@dataclass(frozen=True)
class RestartPolicy:
    """Exponential backoff for crashed replicas."""

    base_s: float = 1.0
    max_s: float = 60.0
    crash_loop_after: int = 5

    def delay_s(self, restart_count: int) -> float:
        """Seconds to wait before restart number ``restart_count + 1``."""
        return float(min(self.max_s, self.base_s * (2 ** max(0, restart_count))))

    def next_restart_at(self, now: datetime, restart_count: int) -> datetime:
        """When a replica that crashed ``restart_count`` times before may restart."""
        return now + timedelta(seconds=self.delay_s(restart_count))

    def is_crash_loop(self, restart_count: int) -> bool:
        """True once consecutive crashes reach the crash-loop threshold."""
        return restart_count >= self.crash_loop_after
