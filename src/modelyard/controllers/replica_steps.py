"""Pure: the next step for one replica, from its record and what the backend observes.

``next_step`` never does I/O; the replica controller applies the step it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from modelyard.backends.base import Observed
from modelyard.domain.replicas import Replica, ReplicaState, RestartPolicy

EXIT_ARTIFACT_CORRUPT = 78


@dataclass(frozen=True)
class Wait:
    """Nothing to do now."""


@dataclass(frozen=True)
class Bind:
    """Bind the replica to a node."""

    node: str


@dataclass(frozen=True)
class Launch:
    """Start a process for the replica."""


@dataclass(frozen=True)
class Adopt:
    """A live process already serves the replica: take it as launched."""

    observed: Observed


@dataclass(frozen=True)
class MarkReady:
    """The replica passed its readiness probe."""


@dataclass(frozen=True)
class MarkFailed:
    """The replica died or failed its probes; restart it later."""

    reason: str
    stop_process: bool = False
    permanent: bool = False


@dataclass(frozen=True)
class StopProcess:
    """Ask the backend to stop the replica's process."""


@dataclass(frozen=True)
class Finish:
    """The process is gone; the replica is stopped and can be forgotten."""


Step = Wait | Bind | Launch | Adopt | MarkReady | MarkFailed | StopProcess | Finish


COMPILE_START_GRACE_S = 600.0  # more time to get Ready for a replica that compiles its graph


@dataclass(frozen=True)
class StepInputs:
    """Settings the decision depends on."""

    policy: RestartPolicy
    start_timeout_s: float
    probe_failures_to_fail: int = 3
    node: str = "local"
    placement_policy: str = "best-fit"
    drain_delay_s: float = 0.0


def for_revision(inp: StepInputs, compiles: bool) -> StepInputs:
    """The inputs for a replica of a revision: one that compiles (``--compile``) gets longer."""
    if not compiles:
        return inp
    return replace(inp, start_timeout_s=inp.start_timeout_s + COMPILE_START_GRACE_S)


def _exit_reason(obs: Observed) -> tuple[str, bool]:
    if obs.exit_code == EXIT_ARTIFACT_CORRUPT:
        return obs.reason or "artifact_corrupt", True
    code = "lost (not a child of this server)" if obs.exit_code == -1 else f"code {obs.exit_code}"
    detail = f": {obs.reason}" if obs.reason else ""
    return f"process exited with {code}{detail}", False


def _running_step(r: Replica, obs: Observed | None, now: datetime, probe_failures: int,
                  inp: StepInputs) -> Step:
    if obs is None or obs.token != r.token:
        return MarkFailed("process is gone")
    if not obs.alive:
        reason, permanent = _exit_reason(obs)
        return MarkFailed(reason, permanent=permanent)
    if r.state == ReplicaState.STARTING:
        if obs.ready:
            return MarkReady()
        if (now - r.state_since).total_seconds() > inp.start_timeout_s:
            return MarkFailed(f"not ready after {inp.start_timeout_s:.0f}s", stop_process=True)
        return Wait()
    if not obs.ready and probe_failures >= inp.probe_failures_to_fail:
        return MarkFailed(f"failed {probe_failures} readiness probes", stop_process=True)
    return Wait()


def _restart_step(r: Replica, obs: Observed | None, now: datetime) -> Step:
    if obs is not None and obs.alive:
        if r.state == ReplicaState.SCHEDULED:
            return Adopt(obs)
        return StopProcess()
    if r.next_restart_at is not None and now < r.next_restart_at:
        return Wait()
    return Launch()


def next_step(r: Replica, obs: Observed | None, now: datetime, probe_failures: int,
              inp: StepInputs) -> Step:
    """Return what to do next for replica ``r`` given the observed process ``obs``."""
    match r.state:
        case ReplicaState.PENDING:
            return Bind(inp.node)
        case ReplicaState.SCHEDULED | ReplicaState.FAILED | ReplicaState.CRASH_LOOP:
            return _restart_step(r, obs, now)
        case ReplicaState.STARTING | ReplicaState.READY:
            return _running_step(r, obs, now, probe_failures, inp)
        case ReplicaState.DRAINING:
            if obs is None or not obs.alive:
                return Finish()
            # gateways stop routing to a draining replica first; stop it once they have
            if (now - r.state_since).total_seconds() < inp.drain_delay_s:
                return Wait()
            return StopProcess()
        case ReplicaState.STOPPED:
            return Finish()
    return Wait()
