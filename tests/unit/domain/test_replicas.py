"""The replica state machine, exhaustively from its table."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from modelyard.domain.errors import ErrorCode, InvalidTransition
from modelyard.domain.ids import ReplicaId
from modelyard.domain.replicas import (
    REPLICA_TRANSITIONS,
    Replica,
    ReplicaEvent,
    ReplicaState,
    RestartPolicy,
    transition,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)


def _replica(state: ReplicaState) -> Replica:
    return Replica(ReplicaId("r-1"), "d", 1, state, T0, T0, reason="old")


def test_table_covers_every_state() -> None:
    assert set(REPLICA_TRANSITIONS) == set(ReplicaState)


@pytest.mark.parametrize(("state", "event"), list(itertools.product(ReplicaState, ReplicaEvent)))
def test_every_pair(state: ReplicaState, event: ReplicaEvent) -> None:
    allowed = REPLICA_TRANSITIONS[state]
    if event in allowed:
        after = transition(_replica(state), event, T1)
        assert after.state == allowed[event]
        assert after.state_since == T1
        assert after.reason == "old"
    else:
        with pytest.raises(InvalidTransition) as info:
            transition(_replica(state), event, T1)
        assert info.value.code == ErrorCode.INVALID_TRANSITION


def test_reason_replaced_and_cleared() -> None:
    r = transition(_replica(ReplicaState.READY), ReplicaEvent.EXITED, T1, reason="crashed")
    assert r.reason == "crashed"
    r = transition(r, ReplicaEvent.LAUNCHED, T1)
    assert transition(r, ReplicaEvent.PROBE_PASSED, T1, reason="").reason == ""


def test_stopped_is_terminal() -> None:
    assert REPLICA_TRANSITIONS[ReplicaState.STOPPED] == {}


@pytest.mark.parametrize(("count", "delay"), [(0, 1.0), (1, 2.0), (2, 4.0), (5, 32.0), (6, 60.0),
                                              (30, 60.0)])
def test_backoff_doubles_up_to_max(count: int, delay: float) -> None:
    assert RestartPolicy(1.0, 60.0, 5).delay_s(count) == delay


def test_crash_loop_threshold() -> None:
    p = RestartPolicy(crash_loop_after=3)
    assert not p.is_crash_loop(2)
    assert p.is_crash_loop(3)
