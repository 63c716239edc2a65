"""Rollout controller: advances rolling, blue-green, canary and shadow rollouts.

Each reconcile loads a deployment's active rollout, its replicas and the per-revision
measurements of the current analysis window, asks ``rollout_steps.decide`` for the next
step and applies it with ``apply_event``, which API handlers (pause, resume, promote,
abort) use as well: it moves the rollout through its transition table, points the
deployment at the revision the new state serves and records a history entry with the
figures that drove the step.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import replace
from datetime import datetime

from modelyard.controllers.base import Result
from modelyard.controllers.revision_stats import RevisionStatsBook
from modelyard.controllers.rollout_steps import Fire, Hold, RolloutView, decide
from modelyard.domain.analysis import Figures
from modelyard.domain.clock import Clock
from modelyard.domain.deployments import Deployment
from modelyard.domain.replicas import LIVE_STATES, Replica, ReplicaState
from modelyard.domain.revision_stats import RevisionStats
from modelyard.domain.rollouts import (
    EVENT_HISTORY,
    HistoryEntry,
    Rollout,
    RolloutEvent,
    RolloutState,
    Strategy,
    replica_targets,
    serving_revision,
    transition,
)
from modelyard.observability.metrics import ROLLOUT_STEPS
from modelyard.store.unit_of_work import Store, UnitOfWork

logger = logging.getLogger(__name__)

_ENDS_WITH_REASON = frozenset({RolloutEvent.ABORT, RolloutEvent.ANALYSIS_FAILED})


async def apply_event(uow: UnitOfWork, dep: Deployment, rollout: Rollout, event: RolloutEvent,
                      *, now: datetime, actor: str, message: str,
                      figures: Figures | None = None) -> Rollout:
    """Apply ``event`` to ``rollout``, repoint the deployment and record it in the history."""
    new = transition(rollout, event, now, reason=message if event in _ENDS_WITH_REASON else None)
    new = await uow.rollouts.save(new)
    serving = serving_revision(new)
    if dep.current_revision != serving:
        await uow.deployments.save(replace(dep, current_revision=serving), now)
    await uow.rollouts.record(HistoryEntry(dep.name, now, EVENT_HISTORY[event], actor, message,
                                           new.id, new.candidate_revision, figures))
    ROLLOUT_STEPS.labels(dep.name, str(event)).inc()
    logger.info("rollout %s", event, extra={
        "deployment": dep.name, "rollout": new.id, "state": str(new.state),
        "candidate": new.candidate_revision, "reason": message})
    return new


def window_key(r: Rollout) -> Hashable:
    """The analysis window of a rollout's current step (shadow: the whole rollout)."""
    if r.spec.strategy == Strategy.SHADOW:
        return (r.id, "shadow")
    return (r.id, r.step_index, r.step_started_at)


def live_figures(book: RevisionStatsBook, r: Rollout) -> Figures:
    """Stable and candidate figures of the rollout's current window."""
    key = window_key(r)
    return Figures.from_stats(book.window(key, r.deployment, r.stable_revision),
                              book.window(key, r.deployment, r.candidate_revision))


def observe(dep: Deployment, r: Rollout, replicas: Sequence[Replica], book: RevisionStatsBook,
            now: datetime) -> RolloutView:
    """Build the view ``decide`` judges."""
    targets = replica_targets(dep.current_revision, dep.desired_replicas, r)
    cand = [x for x in replicas if x.revision == r.candidate_revision]
    wanted = (max(1, dep.desired_replicas) if r.spec.strategy in (Strategy.ROLLING, Strategy.BLUE_GREEN)
              else 1)
    stable = candidate = RevisionStats()
    if r.state == RolloutState.PROGRESSING:
        key = window_key(r)
        stable = book.window(key, dep.name, r.stable_revision)
        candidate = book.window(key, dep.name, r.candidate_revision)
    return RolloutView(
        now=now,
        candidate_ready=sum(x.state == ReplicaState.READY for x in cand),
        candidate_wanted=wanted,
        candidate_crash_loop=any(x.state == ReplicaState.CRASH_LOOP for x in cand),
        old_live=sum(x.state in LIVE_STATES and x.revision not in targets for x in replicas),
        stable=stable,
        candidate=candidate,
    )


class RolloutController:
    """Moves each active rollout to its next step."""

    name = "rollouts"

    def __init__(self, store: Store, book: RevisionStatsBook, clock: Clock) -> None:
        self.store = store
        self.book = book
        self.clock = clock
        self.holds: dict[str, Hold] = {}

    async def keys(self) -> Sequence[str]:
        """Deployments with an active rollout."""
        async with self.store.uow() as uow:
            active = await uow.rollouts.active()
        ids = {r.id for r in active}
        self.book.forget(lambda k: isinstance(k, tuple) and k[0] in ids)
        for rid in [k for k in self.holds if k not in ids]:
            del self.holds[rid]
        return sorted({r.deployment for r in active})

    async def reconcile(self, key: str) -> Result:
        """Do the next step of ``key``'s active rollout."""
        async with self.store.uow() as uow:
            active = await uow.rollouts.active(key)
            dep = await uow.deployments.get(key)
            if not active or dep is None or dep.deleting:
                return Result.done()
            r = active[-1]
            now = self.clock.now()
            view = observe(dep, r, await uow.replicas.all(key), self.book, now)
            match decide(r, view):
                case Hold() as hold:
                    self.holds[r.id] = hold
                case Fire(event=event, message=message, figures=figures):
                    self.holds.pop(r.id, None)
                    await apply_event(uow, dep, r, event, now=now, actor="controller",
                                      message=message, figures=figures)
        return Result.done()
