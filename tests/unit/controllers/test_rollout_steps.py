"""decide(): the rollout controller's pure next step; rolling replacement in plan_replicas."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from modelyard.controllers.deployments import plan_replicas
from modelyard.controllers.rollout_steps import Fire, Hold, RolloutView, decide
from modelyard.domain.analysis import Thresholds
from modelyard.domain.deployments import Deployment, Environment
from modelyard.domain.ids import ReplicaId
from modelyard.domain.replicas import Replica, ReplicaState
from modelyard.domain.revision_stats import RevisionStats, observe
from modelyard.domain.rollouts import Rollout, RolloutEvent, RolloutSpec, RolloutState, Strategy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
S, E = RolloutState, RolloutEvent


def stats(n: int, errors: int = 0) -> RevisionStats:
    s = RevisionStats()
    for i in range(n):
        s = observe(s, 0.003, error=i < errors)
    return s


def ro(strategy: Strategy, state: RolloutState, **kw: object) -> Rollout:
    spec = RolloutSpec(strategy, steps=(10, 100), step_interval_s=5, keep_old_s=30,
                       thresholds=Thresholds(min_requests=10))
    base = Rollout("ro", "d", 1, 2, spec, state, T0, T0, "me", step_started_at=T0)
    return replace(base, **kw)  # type: ignore[arg-type]


def view(after_s: float = 0, ready: int = 1, wanted: int = 1, crash: bool = False, old: int = 0,
         stable: RevisionStats | None = None, cand: RevisionStats | None = None) -> RolloutView:
    return RolloutView(T0 + timedelta(seconds=after_s), ready, wanted, crash, old,
                       stable or stats(100), cand or stats(0))


@pytest.mark.parametrize(("rollout", "v", "event"), [
    (ro(Strategy.CANARY, S.STARTING), view(ready=0), None),
    (ro(Strategy.CANARY, S.STARTING), view(ready=1), E.CANDIDATE_READY),
    (ro(Strategy.CANARY, S.STARTING), view(ready=0, crash=True), E.ABORT),
    (ro(Strategy.BLUE_GREEN, S.STARTING), view(ready=1, wanted=2), None),
    (ro(Strategy.BLUE_GREEN, S.STARTING), view(ready=2, wanted=2), E.CANDIDATE_READY),
    (ro(Strategy.BLUE_GREEN, S.PROGRESSING), view(), E.SWITCHED),
    (ro(Strategy.BLUE_GREEN, S.WARM), view(after_s=29), None),
    (ro(Strategy.BLUE_GREEN, S.WARM), view(after_s=30), E.WARM_EXPIRED),
    (ro(Strategy.ROLLING, S.STARTING), view(ready=2, wanted=2, old=1), None),
    (ro(Strategy.ROLLING, S.STARTING), view(ready=2, wanted=2, old=0), E.COMPLETED),
    (ro(Strategy.SHADOW, S.PROGRESSING), view(after_s=999, cand=stats(100)), None),
    (ro(Strategy.CANARY, S.PROGRESSING), view(after_s=1, cand=stats(10, errors=5)),
     E.ANALYSIS_FAILED),                                        # fails early, mid-step
    (ro(Strategy.CANARY, S.PROGRESSING), view(after_s=1, cand=stats(20)), None),   # too early
    (ro(Strategy.CANARY, S.PROGRESSING), view(after_s=6, cand=stats(5)), None),    # too few
    (ro(Strategy.CANARY, S.PROGRESSING), view(after_s=6, cand=stats(20)), E.STEP_PASSED),
    (ro(Strategy.CANARY, S.PROGRESSING, step_index=1), view(after_s=6, cand=stats(20)),
     E.COMPLETED),
    (ro(Strategy.CANARY, S.PROGRESSING), view(crash=True), E.ABORT),
    (ro(Strategy.CANARY, S.PAUSED), view(after_s=99, cand=stats(10, errors=10)), None),
    (ro(Strategy.CANARY, S.ABORTED), view(), None),
])
def test_decide(rollout: Rollout, v: RolloutView, event: RolloutEvent | None) -> None:
    d = decide(rollout, v)
    if event is None:
        assert isinstance(d, Hold) and d.reason
    else:
        assert isinstance(d, Fire) and d.event == event and d.message


def test_failed_step_carries_figures() -> None:
    d = decide(ro(Strategy.CANARY, S.PROGRESSING), view(cand=stats(10, errors=5)))
    assert isinstance(d, Fire) and d.figures is not None
    assert d.figures.candidate_error_rate == 0.5 and "error rate" in d.message


def dep(desired: int, revision: int) -> Deployment:
    return Deployment("d", "t", Environment.DEV, desired, revision, T0, T0)


def rep(i: int, state: ReplicaState, revision: int) -> Replica:
    return Replica(ReplicaId(f"r{i}"), "d", revision, state, T0, T0 + timedelta(seconds=i))


def rolling(surge: int, unavailable: int) -> Rollout:
    r = ro(Strategy.ROLLING, S.STARTING)
    return replace(r, spec=replace(r.spec, max_surge=surge, max_unavailable=unavailable))


def test_rolling_replaces_a_few_at_a_time_without_dropping_ready() -> None:
    old = [rep(i, ReplicaState.READY, 1) for i in range(4)]
    r = rolling(1, 0)
    plan = plan_replicas(dep(4, 2), old, r)
    assert plan.create_revisions == ((2, 1),) and plan.drain == ()
    starting = old + [rep(4, ReplicaState.STARTING, 2)]
    assert plan_replicas(dep(4, 2), starting, r).create == 0
    one_ready = old + [rep(4, ReplicaState.READY, 2)]
    plan = plan_replicas(dep(4, 2), one_ready, r)
    assert plan.drain == (ReplicaId("r0"),) and plan.create == 0   # oldest first, ready stays 4
    after = old[1:] + [rep(4, ReplicaState.READY, 2)]
    assert plan_replicas(dep(4, 2), after, r).create_revisions == ((2, 1),)


def test_rolling_max_unavailable_drains_before_new_ready() -> None:
    old = [rep(i, ReplicaState.READY, 1) for i in range(4)]
    plan = plan_replicas(dep(4, 2), old, rolling(0, 2))
    assert plan.create == 0 and len(plan.drain) == 2


def test_canary_targets_keep_stable_and_add_candidate() -> None:
    r = ro(Strategy.CANARY, S.PROGRESSING)
    stable = [rep(i, ReplicaState.READY, 1) for i in range(2)]
    plan = plan_replicas(dep(2, 1), stable, r)
    assert plan.create_revisions == ((2, 1),) and plan.drain == ()
    aborted = replace(r, state=S.ABORTED)
    plan = plan_replicas(dep(2, 1), stable + [rep(5, ReplicaState.READY, 2)], aborted)
    assert plan.drain == (ReplicaId("r5"),) and plan.create == 0
