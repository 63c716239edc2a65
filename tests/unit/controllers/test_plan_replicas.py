"""plan_replicas: create, drain extras, replace old revisions only once the new ones are ready."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from modelyard.controllers.deployments import plan_replicas
from modelyard.domain.deployments import Deployment, Environment
from modelyard.domain.ids import ReplicaId
from modelyard.domain.replicas import Replica, ReplicaState

T0 = datetime(2026, 1, 1, tzinfo=UTC)
S = ReplicaState


def dep(desired: int, revision: int = 1, deleting: bool = False) -> Deployment:
    return Deployment("d", "t", Environment.DEV, desired, revision, T0, T0, deleting)


def rep(i: int, state: ReplicaState, revision: int = 1) -> Replica:
    return Replica(ReplicaId(f"r{i}"), "d", revision, state, T0, T0 + timedelta(seconds=i))


@pytest.mark.parametrize(("desired", "states", "create", "drained"), [
    (2, [], 2, set()),
    (2, [S.READY], 1, set()),
    (2, [S.READY, S.READY], 0, set()),
    (1, [S.READY, S.READY], 0, {"r1"}),          # newest ready goes first
    (1, [S.READY, S.PENDING], 0, {"r1"}),        # a pending one goes before a ready one
    (0, [S.READY, S.STARTING], 0, {"r0", "r1"}),
    (2, [S.READY, S.DRAINING], 1, set()),        # draining replicas do not count
    (1, [S.FAILED], 0, set()),                   # failed replicas are restarted, not replaced
])
def test_counts(desired: int, states: list[ReplicaState], create: int, drained: set[str]) -> None:
    plan = plan_replicas(dep(desired), [rep(i, s) for i, s in enumerate(states)])
    assert plan.create == create
    assert set(plan.drain) == drained


def test_deleting_drains_all_live() -> None:
    plan = plan_replicas(dep(2, deleting=True), [rep(0, S.READY), rep(1, S.DRAINING),
                                                  rep(2, S.PENDING)])
    assert plan.create == 0 and set(plan.drain) == {"r0", "r2"}


def test_old_revision_kept_until_new_ready() -> None:
    old = [rep(0, S.READY, revision=1)]
    assert plan_replicas(dep(1, revision=2), old).create == 1
    mixed = old + [rep(1, S.STARTING, revision=2)]
    assert plan_replicas(dep(1, revision=2), mixed).drain == ()
    done = old + [rep(1, S.READY, revision=2)]
    assert plan_replicas(dep(1, revision=2), done).drain == (ReplicaId("r0"),)


def test_old_revision_not_ready_is_replaced_at_once() -> None:
    plan = plan_replicas(dep(1, revision=2), [rep(0, S.CRASH_LOOP, revision=1)])
    assert plan.create == 1 and plan.drain == (ReplicaId("r0"),)
