"""Schemas of revisions (updates, rollback, promotion, validations) and rollouts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modelyard.controllers.rollout_steps import Hold
from modelyard.domain.analysis import Figures, Thresholds
from modelyard.domain.rollouts import HistoryEntry, Rollout, RolloutSpec, Strategy, Validation


class RolloutOptions(BaseModel):
    """How the new revision replaces the current one."""

    model_config = ConfigDict(extra="forbid")
    strategy: Strategy = Strategy.ROLLING
    steps: list[int] = Field(default_factory=lambda: [5, 25, 50, 100], min_length=1, max_length=20)
    step_interval_s: float = Field(60.0, ge=0, le=7 * 86400)
    max_error_rate_increase: float = Field(0.02, ge=0, le=1)
    max_p95_ratio: float = Field(1.5, ge=1, le=100)
    latency_slack_s: float = Field(0.01, ge=0, le=60)
    min_requests: int = Field(20, ge=1, le=10**9)
    shadow_percent: int = Field(100, ge=1, le=100)
    max_surge: int = Field(1, ge=0, le=64)
    max_unavailable: int = Field(0, ge=0, le=64)
    keep_old_s: float = Field(300.0, ge=0, le=7 * 86400)

    @field_validator("steps")
    @classmethod
    def _increasing(cls, steps: list[int]) -> list[int]:
        pairs = zip(steps, steps[1:], strict=False)
        if any(not 1 <= s <= 100 for s in steps) or any(a >= b for a, b in pairs):
            raise ValueError("steps must be increasing percentages between 1 and 100")
        return steps

    def rollout_spec(self) -> RolloutSpec:
        """The domain spec."""
        return RolloutSpec(
            strategy=self.strategy, steps=tuple(self.steps), step_interval_s=self.step_interval_s,
            thresholds=Thresholds(self.max_error_rate_increase, self.max_p95_ratio,
                                  self.latency_slack_s, self.min_requests),
            shadow_percent=self.shadow_percent, max_surge=self.max_surge,
            max_unavailable=self.max_unavailable, keep_old_s=self.keep_old_s)


class RevisionCreate(RolloutOptions):
    """Change a deployment's spec: a new revision, rolled out with ``strategy``."""

    model: str | None = Field(default=None, min_length=1, max_length=63)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    alias: str | None = Field(default=None, min_length=1, max_length=63)
    replicas: int | None = Field(default=None, ge=0, le=64)
    message: str = Field(default="", max_length=2000)
    max_batch_size: int | None = Field(default=None, ge=0, le=4096,
                                       description="None keeps the current revision's value.")
    max_batch_delay_ms: float | None = Field(default=None, ge=0, le=10_000,
                                             description="None keeps the current revision's value.")
    instances: int | None = Field(default=None, ge=1, le=16,
                                  description="None keeps the current revision's value.")
    compile: bool | None = Field(default=None,
                                 description="None keeps the current revision's value.")


class RollbackCreate(RolloutOptions):
    """Restore an earlier revision's spec as a new revision."""

    to_revision: int | None = Field(default=None, ge=1, le=2**31 - 1)
    message: str = Field(default="", max_length=2000)


class PromotionCreate(RolloutOptions):
    """Copy a staging revision to a production deployment, behind the validation gate."""

    target: str = Field(min_length=1, max_length=63)
    revision: int | None = Field(default=None, ge=1, le=2**31 - 1)
    override_reason: str | None = Field(default=None, min_length=1, max_length=2000)
    message: str = Field(default="", max_length=2000)


class ValidationCreate(BaseModel):
    """A validation result of one revision."""

    model_config = ConfigDict(extra="forbid")
    passed: bool
    summary: str = Field(default="", max_length=4000)
    figures: dict[str, Any] | None = Field(
        default=None, description="A validation run's figures and per-SLO results.")
    command: str = Field(default="", max_length=4000, description="The command that measured them.")


class RolloutAction(BaseModel):
    """Why a person paused, resumed, promoted or aborted a rollout."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=2000)


class GatewayStatsReport(BaseModel):
    """A gateway's cumulative per-revision counters."""

    model_config = ConfigDict(extra="forbid")
    gateway_id: str = Field(min_length=1, max_length=64)
    stats: list[dict[str, Any]] = Field(max_length=10000)


class HistoryPublic(BaseModel):
    """One rollout step, abort, promotion, rollback or gate decision."""

    at: datetime
    kind: str
    actor: str
    message: str
    rollout_id: str | None
    revision: int | None
    figures: dict[str, Any] | None

    @classmethod
    def from_domain(cls, e: HistoryEntry) -> HistoryPublic:
        """Build from the domain object."""
        return cls(at=e.at, kind=str(e.kind), actor=e.actor, message=e.message,
                   rollout_id=e.rollout_id, revision=e.revision,
                   figures=e.figures.to_json() if e.figures else None)


class ValidationPublic(BaseModel):
    """A recorded validation result."""

    deployment: str
    revision: int
    passed: bool
    summary: str
    recorded_at: datetime
    recorded_by: str
    figures: dict[str, Any] | None = None
    command: str = ""

    @classmethod
    def from_domain(cls, v: Validation) -> ValidationPublic:
        """Build from the domain object."""
        return cls(deployment=v.deployment, revision=v.revision, passed=v.passed,
                   summary=v.summary, recorded_at=v.recorded_at, recorded_by=v.recorded_by,
                   figures=dict(v.figures) if v.figures is not None else None, command=v.command)


class RolloutPublic(BaseModel):
    """A rollout with its history and, while active, its live figures."""

    id: str
    deployment: str
    strategy: str
    state: str
    stable_revision: int
    candidate_revision: int
    steps: list[int]
    step: int
    step_weight: int
    step_interval_s: float
    step_started_at: datetime | None
    shadow_percent: int
    keep_old_s: float
    thresholds: dict[str, float]
    created_at: datetime
    created_by: str
    message: str
    reason: str
    waiting_for: str | None
    live: dict[str, Any] | None
    history: list[HistoryPublic]

    @classmethod
    def from_domain(cls, r: Rollout, history: list[HistoryEntry], *, hold: Hold | None = None,
                    live: Figures | None = None) -> RolloutPublic:
        """Build from domain objects."""
        th = r.spec.thresholds
        return cls(
            id=r.id, deployment=r.deployment, strategy=str(r.spec.strategy), state=str(r.state),
            stable_revision=r.stable_revision, candidate_revision=r.candidate_revision,
            steps=list(r.spec.steps), step=r.step.index + 1, step_weight=r.step.weight,
            step_interval_s=r.spec.step_interval_s, step_started_at=r.step_started_at,
            shadow_percent=r.spec.shadow_percent, keep_old_s=r.spec.keep_old_s,
            thresholds={"max_error_rate_increase": th.max_error_rate_increase,
                        "max_p95_ratio": th.max_p95_ratio, "latency_slack_s": th.latency_slack_s,
                        "min_requests": th.min_requests},
            created_at=r.created_at, created_by=r.created_by, message=r.message, reason=r.reason,
            waiting_for=hold.reason if hold and r.is_active else None,
            live=live.to_json() if live and r.is_active else None,
            history=[HistoryPublic.from_domain(e) for e in history])
