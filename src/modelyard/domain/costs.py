"""Cost attribution and budgets (pure): prices × replica time, and budget verdicts.

Cost comes from replica time only: GPU-seconds priced per GPU model per hour, and
CPU-seconds per CPU-hour (a replica without GPUs counts one CPU). Cost per 1k tokens is
derived: the group's cost over its tokens. A budget has a soft limit (alert) and a hard
limit (new deployments refused) per period (day, week, calendar month, UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from modelyard.domain.errors import ErrorCode, ModelyardError


@dataclass(frozen=True)
class Prices:
    """Prices per hour of a GPU (by GPU model) and of a CPU."""

    gpu_hour: Mapping[str, float] = field(default_factory=dict)
    default_gpu_hour: float = 0.0
    cpu_hour: float = 0.0

    def of_gpu(self, gpu_model: str) -> float:
        """The hourly price of one GPU of ``gpu_model``."""
        return self.gpu_hour.get(gpu_model, self.default_gpu_hour)


@dataclass(frozen=True)
class ResourceSeconds:
    """Replica time of one group: CPU-seconds and GPU-seconds by GPU model."""

    cpu_seconds: float = 0.0
    gpu_seconds: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CostLine:
    """The cost of one group over a window."""

    key: str
    cpu_seconds: float
    gpu_seconds: float
    cost: float
    tokens: int

    @property
    def cost_per_1k_tokens(self) -> float | None:
        """Cost per thousand tokens served (None without tokens)."""
        return self.cost / self.tokens * 1000 if self.tokens else None


def cost_of(usage: ResourceSeconds, prices: Prices) -> float:
    """The price of ``usage``."""
    gpu = sum(s / 3600 * prices.of_gpu(m) for m, s in usage.gpu_seconds.items())
    return gpu + usage.cpu_seconds / 3600 * prices.cpu_hour


def cost_line(key: str, usage: ResourceSeconds, tokens: int, prices: Prices) -> CostLine:
    """One line of a cost report."""
    return CostLine(key, usage.cpu_seconds, sum(usage.gpu_seconds.values()),
                    cost_of(usage, prices), tokens)


class Period(StrEnum):
    """The period a budget applies to."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def period_start(now: datetime, period: Period) -> datetime:
    """The start of the period holding ``now`` (weeks start on Monday)."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == Period.DAY:
        return day
    if period == Period.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_label(now: datetime, period: Period) -> str:
    """A name of the period holding ``now`` (``2026-11``, ``2026-11-29``)."""
    start = period_start(now, period)
    return start.strftime("%Y-%m") if period == Period.MONTH else start.strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Budget:
    """A team's spending limits per period."""

    team: str
    soft: float
    hard: float
    period: Period = Period.MONTH

    def __post_init__(self) -> None:
        if self.soft < 0 or self.hard <= 0 or self.soft > self.hard:
            raise ModelyardError(ErrorCode.INVALID_REQUEST,
                                 "a budget needs 0 <= soft <= hard and hard > 0")


class BudgetState(StrEnum):
    """Where spending stands against a budget."""

    OK = "ok"
    SOFT_EXCEEDED = "soft_exceeded"
    HARD_EXCEEDED = "hard_exceeded"


@dataclass(frozen=True)
class BudgetVerdict:
    """A budget judged against the period's spending."""

    budget: Budget
    spent: float
    state: BudgetState

    @property
    def used_ratio(self) -> float:
        """Spending over the hard limit."""
        return self.spent / self.budget.hard


def judge(budget: Budget, spent: float) -> BudgetVerdict:
    """Compare ``spent`` in the current period with the limits (reaching a limit counts)."""
    if spent >= budget.hard:
        state = BudgetState.HARD_EXCEEDED
    elif spent >= budget.soft:
        state = BudgetState.SOFT_EXCEEDED
    else:
        state = BudgetState.OK
    return BudgetVerdict(budget, spent, state)
