"""next_step: the replica controller's decisions as a table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from modelyard.backends.base import Observed
from modelyard.controllers.replica_steps import (
    COMPILE_START_GRACE_S,
    Adopt,
    Bind,
    Finish,
    Launch,
    MarkFailed,
    MarkReady,
    StepInputs,
    StopProcess,
    Wait,
    for_revision,
    next_step,
)
from modelyard.domain.ids import ReplicaId
from modelyard.domain.replicas import Replica, ReplicaState, RestartPolicy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
INP = StepInputs(policy=RestartPolicy(), start_timeout_s=30)
S = ReplicaState


def rep(state: ReplicaState, **kw: object) -> Replica:
    base = Replica(ReplicaId("r"), "d", 1, state, T0, T0, pid=10, port=1000, token="tok")
    return replace(base, **kw)  # type: ignore[arg-type]


def obs(alive: bool = True, ready: bool = True, token: str = "tok", code: int | None = None,
        reason: str = "") -> Observed:
    return Observed("r", 10, 1000, token, alive, ready, code, reason)


NOW = T0 + timedelta(seconds=5)


@pytest.mark.parametrize(("replica", "observed", "expected"), [
    (rep(S.PENDING), None, Bind("local")),
    (rep(S.SCHEDULED), None, Launch()),
    (rep(S.SCHEDULED), obs(), Adopt(obs())),
    (rep(S.STARTING), obs(ready=False), Wait()),
    (rep(S.STARTING), obs(), MarkReady()),
    (rep(S.READY), obs(), Wait()),
    (rep(S.READY), None, MarkFailed("process is gone")),
    (rep(S.READY), obs(token="other"), MarkFailed("process is gone")),
    (rep(S.DRAINING), obs(), StopProcess()),
    (rep(S.DRAINING), obs(alive=False, code=0), Finish()),
    (rep(S.DRAINING), None, Finish()),
    (rep(S.STOPPED), None, Finish()),
    (rep(S.FAILED, next_restart_at=NOW + timedelta(seconds=1)), None, Wait()),
    (rep(S.FAILED, next_restart_at=NOW), None, Launch()),
    (rep(S.FAILED), obs(), StopProcess()),
    (rep(S.CRASH_LOOP, next_restart_at=NOW - timedelta(seconds=1)), None, Launch()),
])
def test_steps(replica: Replica, observed: Observed | None, expected: object) -> None:
    assert next_step(replica, observed, NOW, 0, INP) == expected


def test_exit_reason_and_corrupt_artifact_is_permanent() -> None:
    step = next_step(rep(S.STARTING), obs(alive=False, code=78, reason="artifact_corrupt: x"),
                     NOW, 0, INP)
    assert step == MarkFailed("artifact_corrupt: x", permanent=True)
    step = next_step(rep(S.READY), obs(alive=False, code=1, reason="boom"), NOW, 0, INP)
    assert isinstance(step, MarkFailed) and "code 1: boom" in step.reason and not step.permanent


def test_start_timeout_and_probe_failures() -> None:
    late = T0 + timedelta(seconds=31)
    step = next_step(rep(S.STARTING), obs(ready=False), late, 0, INP)
    assert isinstance(step, MarkFailed) and step.stop_process
    assert next_step(rep(S.READY), obs(ready=False), NOW, 2, INP) == Wait()
    step = next_step(rep(S.READY), obs(ready=False), NOW, 3, INP)
    assert isinstance(step, MarkFailed) and step.stop_process


def test_a_replica_that_compiles_gets_minutes_more_to_get_ready() -> None:
    late = T0 + timedelta(seconds=31)
    assert for_revision(INP, compiles=False) is INP
    assert next_step(rep(S.STARTING), obs(ready=False), late, 0,
                     for_revision(INP, compiles=True)) == Wait()
    much_later = T0 + timedelta(seconds=31 + COMPILE_START_GRACE_S)
    step = next_step(rep(S.STARTING), obs(ready=False), much_later, 0,
                     for_revision(INP, compiles=True))
    assert isinstance(step, MarkFailed)


def test_draining_replica_is_stopped_only_after_the_drain_delay() -> None:
    inp = replace(INP, drain_delay_s=1.0)
    draining = replace(rep(S.DRAINING), state_since=NOW)
    assert next_step(draining, obs(), NOW + timedelta(seconds=0.5), 0, inp) == Wait()
    assert next_step(draining, obs(), NOW + timedelta(seconds=1), 0, inp) == StopProcess()
    assert next_step(draining, None, NOW, 0, inp) == Finish()
