"""Quota admission: may a team take more GPUs of a model now? ``Admit | Queue | Reject``.

Accounting is per (team, GPU model) in milli-GPU over the replicas that run now:
- within the team's guarantee: ``Admit(borrowed=False)``;
- beyond it but within the borrowing limit, and only while other teams' guarantees of the
  model lie idle enough to lend: ``Admit(borrowed=True)`` (such replicas may be preempted
  when the lender reclaims its guarantee);
- otherwise ``Queue`` (it may fit later) or ``Reject`` (it never can: no quota, or larger
  than guarantee + borrowing limit).
Invariant (property-tested): an admitted claim never takes a team past its guarantee
without being marked borrowed, and never past guarantee + borrowing limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from modelyard.domain.quotas import PriorityClass, Quota, format_gpus

QuotaKey = tuple[str, str]
"""(team, gpu_model)."""


@dataclass(frozen=True, slots=True)
class Claim:
    """A replica's claim on quota: who, which GPU model, how much, how important."""

    replica_id: str
    team: str
    gpu_model: str
    gpu_milli: int
    priority: PriorityClass = PriorityClass.DEV


@dataclass(frozen=True, slots=True)
class RunningReplica:
    """A replica holding GPUs now, as quota accounting and preemption see it."""

    replica_id: str
    team: str
    gpu_model: str
    gpu_milli: int
    priority: PriorityClass
    borrowed: bool = False
    started_s: float = 0.0
    node: str = ""


@dataclass(frozen=True, slots=True)
class Admit:
    """Go ahead; ``borrowed`` replicas run on other teams' idle guarantees."""

    borrowed: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Queue:
    """Not now; retry when quota frees up."""

    reason: str


@dataclass(frozen=True, slots=True)
class Reject:
    """Never, as the quotas stand."""

    reason: str


QuotaDecision = Admit | Queue | Reject


def usage_by_key(running: Iterable[RunningReplica]) -> dict[QuotaKey, int]:
    """Milli-GPU held per (team, model)."""
    usage: dict[QuotaKey, int] = {}
    for r in running:
        key = (r.team, r.gpu_model)
        usage[key] = usage.get(key, 0) + r.gpu_milli
    return usage


def lendable_milli(
    gpu_model: str, team: str, quotas: Sequence[Quota], usage: Mapping[QuotaKey, int]
) -> int:
    """Idle guaranteed milli-GPU of ``gpu_model`` that other teams could lend now."""
    return sum(
        max(0, q.guaranteed_milli - usage.get((q.team, q.gpu_model), 0))
        for q in quotas
        if q.gpu_model == gpu_model and q.team != team
    )


def borrowed_milli(gpu_model: str, quotas: Sequence[Quota], usage: Mapping[QuotaKey, int]) -> int:
    """Milli-GPU of ``gpu_model`` held beyond guarantees, summed over teams."""
    return sum(
        max(0, usage.get((q.team, q.gpu_model), 0) - q.guaranteed_milli)
        for q in quotas
        if q.gpu_model == gpu_model
    )


def find_quota(quotas: Sequence[Quota], team: str, gpu_model: str) -> Quota | None:
    """The quota of ``team`` for ``gpu_model``, if any."""
    return next((q for q in quotas if q.team == team and q.gpu_model == gpu_model), None)


def admit(
    claim: Claim, quotas: Sequence[Quota], running: Iterable[RunningReplica]
) -> QuotaDecision:
    """Decide whether ``claim`` may run now under ``quotas`` given ``running`` replicas."""
    quota = find_quota(quotas, claim.team, claim.gpu_model)
    model = claim.gpu_model
    if quota is None:
        return Reject(f"team {claim.team} has no quota for {model}")
    if claim.gpu_milli > quota.ceiling_milli:
        return Reject(
            f"request of {format_gpus(claim.gpu_milli)} {model} exceeds team quota "
            f"{format_gpus(quota.guaranteed_milli)} + {format_gpus(quota.borrow_limit_milli)} "
            "borrowable"
        )
    usage = usage_by_key(running)
    used = usage.get((claim.team, model), 0)
    after = used + claim.gpu_milli
    if after <= quota.guaranteed_milli:
        return Admit(borrowed=False, reason=f"within guarantee: {format_gpus(after)}/"
                     f"{format_gpus(quota.guaranteed_milli)} {model}")
    exhausted = (f"team quota exhausted: {format_gpus(used)}/"
                 f"{format_gpus(quota.guaranteed_milli)} {model}")
    if after > quota.ceiling_milli:
        return Queue(f"{exhausted}, borrowing limit {format_gpus(quota.borrow_limit_milli)} reached")
    overflow = after - max(used, quota.guaranteed_milli)
    spare = lendable_milli(model, claim.team, quotas, usage) - borrowed_milli(model, quotas, usage)
    if overflow > spare:
        return Queue(f"{exhausted}; only {format_gpus(max(spare, 0))} {model} idle to borrow")
    return Admit(borrowed=True, reason=f"{exhausted}; borrowing {format_gpus(overflow)} {model}")


__all__ = [
    "Admit",
    "Claim",
    "Queue",
    "QuotaDecision",
    "Reject",
    "RunningReplica",
    "admit",
    "borrowed_milli",
    "find_quota",
    "lendable_milli",
    "usage_by_key",
]
