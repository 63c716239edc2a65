"""Pure: the next step of one rollout, from its record, its replicas and the measurements.

``decide`` never does I/O; the rollout controller applies the step it returns. A canary
is judged continuously: a failing analysis aborts at once (so a broken candidate serves
as few requests as possible), while a passing one advances only after the step interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from modelyard.domain.analysis import Failed, Figures, Inconclusive, Passed, analyze
from modelyard.domain.revision_stats import RevisionStats
from modelyard.domain.rollouts import Rollout, RolloutEvent, RolloutState, Strategy


@dataclass(frozen=True)
class RolloutView:
    """What the controller observed about one rollout."""

    now: datetime
    candidate_ready: int
    candidate_wanted: int
    candidate_crash_loop: bool
    old_live: int
    stable: RevisionStats
    candidate: RevisionStats


@dataclass(frozen=True)
class Hold:
    """Nothing to do now."""

    reason: str
    figures: Figures | None = None


@dataclass(frozen=True)
class Fire:
    """Apply ``event`` to the rollout; ``message`` and ``figures`` go into its history."""

    event: RolloutEvent
    message: str
    figures: Figures | None = None


Decision = Hold | Fire


def _starting(r: Rollout, v: RolloutView) -> Decision:
    if v.candidate_crash_loop:
        return Fire(RolloutEvent.ABORT, f"revision {r.candidate_revision} replicas crash-loop")
    if v.candidate_ready < v.candidate_wanted:
        return Hold(f"revision {r.candidate_revision}: {v.candidate_ready}/{v.candidate_wanted} "
                    "replicas ready")
    if r.spec.strategy == Strategy.ROLLING:
        if v.old_live:
            return Hold(f"{v.old_live} replicas of older revisions left")
        return Fire(RolloutEvent.COMPLETED, f"every replica runs revision {r.candidate_revision}")
    return Fire(RolloutEvent.CANDIDATE_READY,
                f"revision {r.candidate_revision} is ready ({v.candidate_ready} replicas)")


def _canary(r: Rollout, v: RolloutView) -> Decision:
    step = r.step
    verdict = analyze(v.stable, v.candidate, r.spec.thresholds)
    if isinstance(verdict, Failed):
        return Fire(RolloutEvent.ANALYSIS_FAILED,
                    f"step {step.index + 1} ({step.weight}%) failed: " + "; ".join(verdict.reasons),
                    verdict.figures)
    started = r.step_started_at or r.state_since
    if (v.now - started).total_seconds() < step.interval_s:
        return Hold(f"step {step.index + 1} ({step.weight}%) running", verdict.figures)
    if isinstance(verdict, Inconclusive):
        return Hold(verdict.reason, verdict.figures)
    assert isinstance(verdict, Passed)
    if r.is_last_step:
        return Fire(RolloutEvent.COMPLETED,
                    f"step {step.index + 1} ({step.weight}%) passed; revision "
                    f"{r.candidate_revision} promoted", verdict.figures)
    nxt = r.spec.steps[step.index + 1]
    return Fire(RolloutEvent.STEP_PASSED,
                f"step {step.index + 1} ({step.weight}%) passed; next {nxt}%", verdict.figures)


def decide(r: Rollout, v: RolloutView) -> Decision:
    """Return what to do next for rollout ``r``."""
    match r.state:
        case RolloutState.STARTING:
            return _starting(r, v)
        case RolloutState.PROGRESSING:
            if v.candidate_crash_loop and r.spec.strategy != Strategy.BLUE_GREEN:
                return Fire(RolloutEvent.ABORT,
                            f"revision {r.candidate_revision} replicas crash-loop")
            if r.spec.strategy == Strategy.CANARY:
                return _canary(r, v)
            if r.spec.strategy == Strategy.BLUE_GREEN:
                return Fire(RolloutEvent.SWITCHED,
                            f"all traffic switched to revision {r.candidate_revision}; revision "
                            f"{r.stable_revision} kept warm for {r.spec.keep_old_s:g}s")
            return Hold("shadowing until promoted or aborted",
                        Figures.from_stats(v.stable, v.candidate))
        case RolloutState.WARM:
            if (v.now - r.state_since).total_seconds() >= r.spec.keep_old_s:
                return Fire(RolloutEvent.WARM_EXPIRED,
                            f"revision {r.stable_revision} released after {r.spec.keep_old_s:g}s")
            return Hold(f"revision {r.stable_revision} kept warm")
    return Hold(f"rollout is {r.state}")
