"""Rollout lifecycle: the transition table exhaustively, serving revision, targets, traffic."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from modelyard.domain.errors import ErrorCode, InvalidTransition
from modelyard.domain.rollouts import (
    ACTIVE_STATES,
    EVENT_HISTORY,
    ROLLOUT_TRANSITIONS,
    Rollout,
    RolloutEvent,
    RolloutSpec,
    RolloutState,
    Strategy,
    replica_targets,
    serving_revision,
    traffic_plan,
    transition,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
S, E = RolloutState, RolloutEvent


def ro(strategy: Strategy = Strategy.CANARY, state: RolloutState = S.STARTING, **kw: object) -> Rollout:
    spec = RolloutSpec(strategy, steps=(5, 50, 100), step_interval_s=10, shadow_percent=30)
    return replace(Rollout("ro-1", "d", 1, 2, spec, state, T0, T0, "me"), **kw)  # type: ignore[arg-type]


EXPECTED = {
    (S.STARTING, E.CANDIDATE_READY): S.PROGRESSING, (S.STARTING, E.COMPLETED): S.SUCCEEDED,
    (S.STARTING, E.PAUSE): S.PAUSED, (S.STARTING, E.ABORT): S.ABORTED,
    (S.PROGRESSING, E.STEP_PASSED): S.PROGRESSING, (S.PROGRESSING, E.ANALYSIS_FAILED): S.ABORTED,
    (S.PROGRESSING, E.SWITCHED): S.WARM, (S.PROGRESSING, E.COMPLETED): S.SUCCEEDED,
    (S.PROGRESSING, E.PAUSE): S.PAUSED, (S.PROGRESSING, E.PROMOTE): S.SUCCEEDED,
    (S.PROGRESSING, E.ABORT): S.ABORTED,
    (S.PAUSED, E.RESUME): S.STARTING, (S.PAUSED, E.PROMOTE): S.SUCCEEDED,
    (S.PAUSED, E.ABORT): S.ABORTED,
    (S.WARM, E.WARM_EXPIRED): S.SUCCEEDED, (S.WARM, E.PROMOTE): S.SUCCEEDED,
    (S.WARM, E.ABORT): S.ABORTED,
}


@pytest.mark.parametrize("state", list(RolloutState))
@pytest.mark.parametrize("event", list(RolloutEvent))
def test_every_state_event_pair(state: RolloutState, event: RolloutEvent) -> None:
    r = ro(state=state)
    later = T0 + timedelta(seconds=5)
    if (state, event) in EXPECTED:
        out = transition(r, event, later)
        assert out.state == EXPECTED[(state, event)] and out.state_since == later
    else:
        with pytest.raises(InvalidTransition) as err:
            transition(r, event, later)
        assert err.value.code == ErrorCode.INVALID_TRANSITION


def test_table_matches_expected_and_terminal_states() -> None:
    table = {(s, e): t for s, row in ROLLOUT_TRANSITIONS.items() for e, t in row.items()}
    assert table == EXPECTED
    assert set(ROLLOUT_TRANSITIONS) == set(RolloutState)
    assert {s for s, row in ROLLOUT_TRANSITIONS.items() if row} == ACTIVE_STATES
    assert set(EVENT_HISTORY) == set(RolloutEvent)


def test_step_passed_advances_and_restarts_the_clock() -> None:
    later = T0 + timedelta(seconds=11)
    out = transition(ro(state=S.PROGRESSING), E.STEP_PASSED, later)
    assert out.step_index == 1 and out.step_started_at == later and out.step.weight == 50
    assert not out.is_last_step and transition(out, E.STEP_PASSED, later).is_last_step
    ready = transition(ro(), E.CANDIDATE_READY, later)
    assert ready.step_started_at == later and ready.step_index == 0


def test_abort_keeps_the_reason() -> None:
    assert transition(ro(state=S.PROGRESSING), E.ABORT, T0, reason="bad").reason == "bad"
    assert transition(ro(state=S.PROGRESSING, reason="x"), E.PAUSE, T0).reason == "x"


@pytest.mark.parametrize(("strategy", "state", "serving"), [
    (Strategy.ROLLING, S.STARTING, 2), (Strategy.ROLLING, S.SUCCEEDED, 2),
    (Strategy.ROLLING, S.ABORTED, 1),
    (Strategy.CANARY, S.PROGRESSING, 1), (Strategy.CANARY, S.SUCCEEDED, 2),
    (Strategy.CANARY, S.ABORTED, 1), (Strategy.SHADOW, S.PROGRESSING, 1),
    (Strategy.BLUE_GREEN, S.PROGRESSING, 1), (Strategy.BLUE_GREEN, S.WARM, 2),
    (Strategy.BLUE_GREEN, S.ABORTED, 1), (Strategy.BLUE_GREEN, S.SUCCEEDED, 2),
])
def test_serving_revision(strategy: Strategy, state: RolloutState, serving: int) -> None:
    assert serving_revision(ro(strategy, state)) == serving


@pytest.mark.parametrize(("rollout", "current", "targets"), [
    (None, 1, {1: 4}),
    (ro(Strategy.ROLLING), 2, {2: 4}),
    (ro(Strategy.CANARY, S.PROGRESSING), 1, {1: 4, 2: 1}),           # 5% of 4 → 1
    (ro(Strategy.CANARY, S.PROGRESSING, step_index=1), 1, {1: 4, 2: 2}),
    (ro(Strategy.CANARY, S.PROGRESSING, step_index=2), 1, {1: 4, 2: 4}),
    (ro(Strategy.SHADOW, S.PROGRESSING), 1, {1: 4, 2: 2}),           # 30% of 4 → 2
    (ro(Strategy.BLUE_GREEN, S.STARTING), 1, {1: 4, 2: 4}),
    (ro(Strategy.BLUE_GREEN, S.WARM), 2, {2: 4, 1: 4}),
    (ro(Strategy.CANARY, S.ABORTED), 1, {1: 4}),
])
def test_replica_targets(rollout: Rollout | None, current: int, targets: dict[int, int]) -> None:
    assert replica_targets(current, 4, rollout) == targets


@pytest.mark.parametrize(("rollout", "weights", "shadow"), [
    (None, (), None),
    (ro(Strategy.ROLLING), (), None),
    (ro(Strategy.CANARY, S.SUCCEEDED), (), None),
    (ro(Strategy.CANARY, S.ABORTED), ((1, 100),), None),
    (ro(Strategy.CANARY, S.PROGRESSING), ((1, 95), (2, 5)), None),
    (ro(Strategy.CANARY, S.PAUSED, step_index=1), ((1, 50), (2, 50)), None),
    (ro(Strategy.SHADOW, S.PROGRESSING), ((1, 100),), (2, 30)),
    (ro(Strategy.BLUE_GREEN, S.PROGRESSING), ((1, 100),), None),
    (ro(Strategy.BLUE_GREEN, S.WARM), ((2, 100),), None),
])
def test_traffic_plan(rollout: Rollout | None, weights: tuple[tuple[int, int], ...],
                      shadow: tuple[int, int] | None) -> None:
    plan = traffic_plan(rollout)
    assert plan.weights == weights and plan.shadow == shadow
