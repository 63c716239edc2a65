"""Team GPU quotas and priority classes.

A ``Quota`` gives a team, for one GPU model, a *guaranteed* amount (always available to
it, reclaimable by preemption from borrowers) and a *borrowing limit* (how much more it
may take from other teams' idle guarantees, at the risk of being preempted). Amounts are
in milli-GPU so that shared GPUs count exactly (1000 = one whole GPU).

``PriorityClass`` orders replicas for preemption: production > staging > dev > batch =
workspace. Numeric values live in one table, ``PRIORITY_VALUES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.inventory import GPU_MILLI


class PriorityClass(StrEnum):
    """How important a replica is when GPUs are short."""

    PRODUCTION = "production"
    STAGING = "staging"
    DEV = "dev"
    BATCH = "batch"
    WORKSPACE = "workspace"

    @property
    def value_number(self) -> int:
        """The numeric priority; higher wins."""
        return PRIORITY_VALUES[self]


PRIORITY_VALUES: Mapping[PriorityClass, int] = MappingProxyType(
    {
        PriorityClass.PRODUCTION: 1000,
        PriorityClass.STAGING: 500,
        PriorityClass.DEV: 100,
        PriorityClass.BATCH: 10,
        PriorityClass.WORKSPACE: 10,
    }
)
"""Numeric value of each priority class."""


@dataclass(frozen=True, slots=True)
class Quota:
    """A team's guaranteed and borrowable GPU capacity for one GPU model, in milli-GPU."""

    team: str
    gpu_model: str
    guaranteed_milli: int
    borrow_limit_milli: int = 0

    def __post_init__(self) -> None:
        """Check the invariants."""
        if self.guaranteed_milli < 0 or self.borrow_limit_milli < 0:
            raise ModelyardError(ErrorCode.INVALID_REQUEST, "quota amounts must not be negative")

    @classmethod
    def of_gpus(cls, team: str, gpu_model: str, guaranteed: float, borrow: float = 0) -> Quota:
        """Build a quota from whole-GPU amounts (``2.5`` = two and a half GPUs)."""
        return cls(team, gpu_model, round(guaranteed * GPU_MILLI), round(borrow * GPU_MILLI))

    @property
    def ceiling_milli(self) -> int:
        """The most the team may hold of this model: guaranteed plus borrowing limit."""
        return self.guaranteed_milli + self.borrow_limit_milli


def format_gpus(milli: int) -> str:
    """``4000`` -> ``4``, ``2500`` -> ``2.5``: milli-GPU as readable GPUs."""
    return f"{milli / GPU_MILLI:g}"


__all__ = ["GPU_MILLI", "PRIORITY_VALUES", "PriorityClass", "Quota", "format_gpus"]
