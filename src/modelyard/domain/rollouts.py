"""Rollout: how traffic moves from a deployment's stable revision to a candidate.

Strategies: ``rolling`` (replace replicas a few at a time), ``blue-green`` (bring the
candidate fully up, switch all traffic at once, keep the old revision warm for an instant
switch-back), ``canary`` (traffic steps with an automatic analysis at each) and
``shadow`` (copy a share of traffic to the candidate; clients only ever see stable).

The lifecycle is the table ``ROLLOUT_TRANSITIONS``; ``transition`` is the only writer of
``.state``. The pure functions at the bottom say, for a rollout in a given state, which
revision the deployment serves, how many replicas each revision needs and how the
gateway splits traffic; controllers and handlers apply what they return.

```
starting ─candidate_ready→ progressing ─step_passed→ progressing
   │  └completed→ succeeded            ├completed / promote→ succeeded
   │                                   ├switched→ warm ─warm_expired / promote→ succeeded
   └pause→ paused ─resume→ starting    ├analysis_failed / abort→ aborted
                    (abort, promote)   └pause→ paused          warm ─abort→ aborted
```
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from modelyard.domain.analysis import Figures, Thresholds
from modelyard.domain.errors import InvalidTransition


class Strategy(StrEnum):
    """How a rollout moves traffic."""

    ROLLING = "rolling"
    BLUE_GREEN = "blue-green"
    CANARY = "canary"
    SHADOW = "shadow"


class RolloutState(StrEnum):
    """Where a rollout is."""

    STARTING = "starting"
    PROGRESSING = "progressing"
    PAUSED = "paused"
    WARM = "warm"
    SUCCEEDED = "succeeded"
    ABORTED = "aborted"


class RolloutEvent(StrEnum):
    """What can happen to a rollout."""

    CANDIDATE_READY = "candidate_ready"
    STEP_PASSED = "step_passed"
    ANALYSIS_FAILED = "analysis_failed"
    SWITCHED = "switched"
    COMPLETED = "completed"
    WARM_EXPIRED = "warm_expired"
    PAUSE = "pause"
    RESUME = "resume"
    PROMOTE = "promote"
    ABORT = "abort"


S, E = RolloutState, RolloutEvent
ROLLOUT_TRANSITIONS: Mapping[RolloutState, Mapping[RolloutEvent, RolloutState]] = MappingProxyType({
    S.STARTING: {E.CANDIDATE_READY: S.PROGRESSING, E.COMPLETED: S.SUCCEEDED, E.PAUSE: S.PAUSED,
                 E.ABORT: S.ABORTED},
    S.PROGRESSING: {E.STEP_PASSED: S.PROGRESSING, E.ANALYSIS_FAILED: S.ABORTED,
                    E.SWITCHED: S.WARM, E.COMPLETED: S.SUCCEEDED, E.PAUSE: S.PAUSED,
                    E.PROMOTE: S.SUCCEEDED, E.ABORT: S.ABORTED},
    S.PAUSED: {E.RESUME: S.STARTING, E.PROMOTE: S.SUCCEEDED, E.ABORT: S.ABORTED},
    S.WARM: {E.WARM_EXPIRED: S.SUCCEEDED, E.PROMOTE: S.SUCCEEDED, E.ABORT: S.ABORTED},
    S.SUCCEEDED: {},
    S.ABORTED: {},
})
del S, E

ACTIVE_STATES = frozenset({RolloutState.STARTING, RolloutState.PROGRESSING, RolloutState.PAUSED,
                           RolloutState.WARM})


@dataclass(frozen=True)
class RolloutStep:
    """One canary step: the candidate's share of traffic and how long it is held."""

    index: int
    weight: int
    interval_s: float


@dataclass(frozen=True)
class RolloutSpec:
    """How a rollout is to run, fixed when it is created."""

    strategy: Strategy
    steps: tuple[int, ...] = (5, 25, 50, 100)
    step_interval_s: float = 60.0
    thresholds: Thresholds = field(default_factory=Thresholds)
    shadow_percent: int = 100
    max_surge: int = 1
    max_unavailable: int = 0
    keep_old_s: float = 300.0


@dataclass(frozen=True)
class Rollout:
    """One move from ``stable_revision`` to ``candidate_revision`` of a deployment."""

    id: str
    deployment: str
    stable_revision: int
    candidate_revision: int
    spec: RolloutSpec
    state: RolloutState
    state_since: datetime
    created_at: datetime
    created_by: str
    step_index: int = 0
    step_started_at: datetime | None = None
    message: str = ""
    reason: str = ""
    version: int = 1

    @property
    def is_active(self) -> bool:
        """True until the rollout succeeded or was aborted."""
        return self.state in ACTIVE_STATES

    @property
    def step(self) -> RolloutStep:
        """The current canary step."""
        i = min(self.step_index, len(self.spec.steps) - 1)
        return RolloutStep(i, self.spec.steps[i], self.spec.step_interval_s)

    @property
    def is_last_step(self) -> bool:
        """True on the final canary step."""
        return self.step_index >= len(self.spec.steps) - 1


def transition(rollout: Rollout, event: RolloutEvent, now: datetime,
               reason: str | None = None) -> Rollout:
    """Return ``rollout`` after ``event``; raise ``InvalidTransition`` for an illegal pair."""
    try:
        target = ROLLOUT_TRANSITIONS[rollout.state][event]
    except KeyError:
        raise InvalidTransition("rollout", rollout.state, event) from None
    out = replace(rollout, state=target, state_since=now,
                  reason=rollout.reason if reason is None else reason)
    if event == RolloutEvent.STEP_PASSED:
        out = replace(out, step_index=rollout.step_index + 1, step_started_at=now)
    elif event == RolloutEvent.CANDIDATE_READY:
        out = replace(out, step_started_at=now)
    return out


class HistoryKind(StrEnum):
    """What a rollout history entry records."""

    CREATED = "created"
    CANDIDATE_READY = "candidate_ready"
    STEP_PASSED = "step_passed"
    ANALYSIS_FAILED = "analysis_failed"
    SWITCHED = "switched"
    COMPLETED = "completed"
    WARM_EXPIRED = "warm_expired"
    PAUSED = "paused"
    RESUMED = "resumed"
    PROMOTED = "promoted"
    ABORTED = "aborted"
    ROLLBACK = "rollback"
    VALIDATION = "validation"
    GATE_OVERRIDDEN = "gate_overridden"
    ENVIRONMENT_PROMOTION = "environment_promotion"


EVENT_HISTORY: Mapping[RolloutEvent, HistoryKind] = MappingProxyType({
    RolloutEvent.CANDIDATE_READY: HistoryKind.CANDIDATE_READY,
    RolloutEvent.STEP_PASSED: HistoryKind.STEP_PASSED,
    RolloutEvent.ANALYSIS_FAILED: HistoryKind.ANALYSIS_FAILED,
    RolloutEvent.SWITCHED: HistoryKind.SWITCHED,
    RolloutEvent.COMPLETED: HistoryKind.COMPLETED,
    RolloutEvent.WARM_EXPIRED: HistoryKind.WARM_EXPIRED,
    RolloutEvent.PAUSE: HistoryKind.PAUSED,
    RolloutEvent.RESUME: HistoryKind.RESUMED,
    RolloutEvent.PROMOTE: HistoryKind.PROMOTED,
    RolloutEvent.ABORT: HistoryKind.ABORTED,
})


@dataclass(frozen=True)
class HistoryEntry:
    """One step, abort, promotion, rollback or gate decision, with its figures."""

    deployment: str
    at: datetime
    kind: HistoryKind
    actor: str
    message: str
    rollout_id: str | None = None
    revision: int | None = None
    figures: Figures | None = None
    id: int | None = None


@dataclass(frozen=True)
class Validation:
    """A recorded validation result of one revision (the promotion gate reads it)."""

    deployment: str
    revision: int
    passed: bool
    summary: str
    recorded_at: datetime
    recorded_by: str
    id: int | None = None
    figures: Mapping[str, Any] | None = None  # a validation run's measurements and SLO results
    command: str = ""  # the command that measured them


def serving_revision(rollout: Rollout) -> int:
    """The revision the deployment serves (``current_revision``) in the rollout's state."""
    if rollout.spec.strategy == Strategy.ROLLING:
        return rollout.stable_revision if rollout.state == RolloutState.ABORTED else (
            rollout.candidate_revision)
    if rollout.state in (RolloutState.SUCCEEDED, RolloutState.WARM):
        return rollout.candidate_revision
    return rollout.stable_revision


def replica_targets(current_revision: int, desired: int, rollout: Rollout | None) -> dict[int, int]:
    """How many replicas each revision needs; revisions left out are to be drained."""
    if rollout is None or not rollout.is_active or rollout.spec.strategy == Strategy.ROLLING:
        return {current_revision: desired}
    spec = rollout.spec
    if spec.strategy == Strategy.CANARY:
        extra = max(1, math.ceil(desired * rollout.step.weight / 100))
    elif spec.strategy == Strategy.SHADOW:
        extra = max(1, math.ceil(desired * spec.shadow_percent / 100))
    else:
        extra = desired
    other = (rollout.stable_revision if current_revision == rollout.candidate_revision
             else rollout.candidate_revision)
    return {current_revision: desired, other: extra}


@dataclass(frozen=True)
class TrafficPlan:
    """How a gateway splits a deployment's traffic: ``()`` weights = every Ready replica."""

    weights: tuple[tuple[int, int], ...] = ()
    shadow: tuple[int, int] | None = None


def traffic_plan(rollout: Rollout | None) -> TrafficPlan:
    """The split for a deployment whose latest rollout is ``rollout``."""
    if rollout is None or rollout.state == RolloutState.SUCCEEDED:
        return TrafficPlan()
    stable, candidate = rollout.stable_revision, rollout.candidate_revision
    if rollout.state == RolloutState.ABORTED:
        return TrafficPlan(((stable, 100),))
    match rollout.spec.strategy:
        case Strategy.ROLLING:
            return TrafficPlan()
        case Strategy.CANARY:
            w = rollout.step.weight
            return TrafficPlan(((stable, 100 - w), (candidate, w)))
        case Strategy.SHADOW:
            return TrafficPlan(((stable, 100),), (candidate, rollout.spec.shadow_percent))
        case Strategy.BLUE_GREEN:
            if rollout.state == RolloutState.WARM:
                return TrafficPlan(((candidate, 100),))
            return TrafficPlan(((stable, 100),))
    return TrafficPlan()
