"""Pure canary analysis: candidate vs stable measurements → a verdict with its figures.

``analyze`` judges one window of gateway measurements. It is Inconclusive until the
candidate has served ``min_requests``; then it Fails when the candidate's error rate
exceeds stable's by more than ``max_error_rate_increase``, or its p95 latency exceeds
``max_p95_ratio`` × stable's p95 plus ``latency_slack_s`` (the slack keeps
millisecond-level noise from failing a healthy candidate); otherwise it Passes. The
latency comparison needs ``min_requests`` on stable as well; without them only the
error rate is judged (against 0 for stable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelyard.domain.revision_stats import RevisionStats


@dataclass(frozen=True)
class Thresholds:
    """When a candidate fails its analysis."""

    max_error_rate_increase: float = 0.02
    max_p95_ratio: float = 1.5
    latency_slack_s: float = 0.01
    min_requests: int = 20


@dataclass(frozen=True)
class Figures:
    """The measurements a verdict was drawn from (shown with every rollout event)."""

    stable_requests: int
    stable_error_rate: float
    stable_p95_s: float | None
    candidate_requests: int
    candidate_error_rate: float
    candidate_p95_s: float | None
    disagreement_rate: float | None = None

    @classmethod
    def from_stats(cls, stable: RevisionStats, candidate: RevisionStats) -> Figures:
        """Summarize two windows."""
        return cls(stable.requests, round(stable.error_rate, 6), _round(stable.quantile_s(0.95)),
                   candidate.requests, round(candidate.error_rate, 6),
                   _round(candidate.quantile_s(0.95)), _round(candidate.disagreement_rate))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figures:
        """Parse the form written by ``to_json``."""
        return cls(**data)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


@dataclass(frozen=True)
class Passed:
    """The candidate is at least as good as allowed."""

    figures: Figures


@dataclass(frozen=True)
class Failed:
    """The candidate is worse than allowed; ``reasons`` say how."""

    figures: Figures
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Inconclusive:
    """Too few requests to judge yet."""

    figures: Figures
    reason: str


AnalysisVerdict = Passed | Failed | Inconclusive


def analyze(stable: RevisionStats, candidate: RevisionStats, thresholds: Thresholds) -> AnalysisVerdict:
    """Judge ``candidate`` against ``stable`` over the same window."""
    figures = Figures.from_stats(stable, candidate)
    if candidate.requests < thresholds.min_requests:
        return Inconclusive(figures, f"candidate served {candidate.requests} of the "
                                     f"{thresholds.min_requests} requests needed to judge")
    reasons: list[str] = []
    baseline_errors = stable.error_rate if stable.requests >= thresholds.min_requests else 0.0
    if candidate.error_rate > baseline_errors + thresholds.max_error_rate_increase:
        reasons.append(f"error rate {candidate.error_rate:.1%} > stable {baseline_errors:.1%} "
                       f"+ {thresholds.max_error_rate_increase:.1%}")
    stable_p95 = stable.quantile_s(0.95)
    cand_p95 = candidate.quantile_s(0.95)
    if stable.requests >= thresholds.min_requests and stable_p95 is not None and cand_p95 is not None:
        limit = stable_p95 * thresholds.max_p95_ratio + thresholds.latency_slack_s
        if cand_p95 > limit:
            reasons.append(f"p95 latency {cand_p95 * 1000:.1f} ms > {thresholds.max_p95_ratio:g} × "
                           f"stable {stable_p95 * 1000:.1f} ms + "
                           f"{thresholds.latency_slack_s * 1000:.0f} ms")
    if reasons:
        return Failed(figures, tuple(reasons))
    return Passed(figures)
