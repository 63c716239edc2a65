"""Metering: usage records into the store, replica time per hour, budgets judged.

``StoreUsageSink`` is the gateway's ``UsageSink`` in ``modelyard up`` (and behind
``POST /api/v1/usage``): it fills in each record's model version from its revision and
writes the batch. ``ResourceMeter`` (a reconciler with one key) accrues, every
``interval_s``, the time of each Ready replica since its Ready time or its last accrual
into hour buckets: CPU-seconds (its allocated CPUs, one without an allocation) and
GPU-seconds by GPU model from its scheduler allocation (``domain.usage.held``), then
judges every team budget: the soft limit raises one ``budget.soft_limit`` event per period
and ``modelyard_budget_used_ratio`` follows spending over the hard limit.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime

from modelyard.controllers.base import Result
from modelyard.domain.audit import AuditDraft
from modelyard.domain.clock import Clock
from modelyard.domain.costs import (
    BudgetState,
    BudgetVerdict,
    Prices,
    ResourceSeconds,
    cost_of,
    judge,
    period_label,
    period_start,
)
from modelyard.domain.drift import DriftSample
from modelyard.domain.replicas import Replica, ReplicaState
from modelyard.domain.usage import GroupBy, ResourceUsage, UsageRecord, accrue, held
from modelyard.observability.metrics import BUDGET_SPENT, BUDGET_USED_RATIO, REPLICA_SECONDS
from modelyard.store.unit_of_work import Store, UnitOfWork

logger = logging.getLogger(__name__)


class StoreUsageSink:
    """Writes usage batches to the store, with model versions resolved from revisions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._versions: dict[tuple[str, int], int | None] = {}

    async def _version(self, uow: UnitOfWork, deployment: str, revision: int | None) -> int | None:
        if revision is None:
            return None
        key = (deployment, revision)
        if len(self._versions) > 10_000:  # bounded; a recreated deployment refills it
            self._versions.clear()
        if key not in self._versions:
            rev = await uow.deployments.revision(deployment, revision)
            self._versions[key] = rev.spec.version if rev is not None else None
        return self._versions[key]

    async def write(self, records: Sequence[UsageRecord]) -> None:
        """Store one batch in one transaction."""
        async with self.store.uow() as uow:
            versions = {}
            for key in {(r.deployment, r.revision) for r in records
                        if r.model_version is None and r.revision is not None}:
                versions[key] = await self._version(uow, key[0], key[1])
            await uow.usage.add(records, versions)

    async def write_samples(self, samples: Sequence[DriftSample]) -> None:
        """Store one batch of drift samples."""
        async with self.store.uow() as uow:
            await uow.drift.add_samples(samples)


async def team_spend(uow: UnitOfWork, team: str, since: datetime, prices: Prices) -> float:
    """What ``team``'s replicas cost since ``since``."""
    gpu: dict[str, float] = {}
    cpu = 0.0
    for _key, gpu_model, cpu_s, gpu_s in await uow.usage.resource_totals(GroupBy.TEAM, since,
                                                                         team=team):
        cpu += cpu_s
        if gpu_s:
            gpu[gpu_model] = gpu.get(gpu_model, 0.0) + gpu_s
    return cost_of(ResourceSeconds(cpu, gpu), prices)


class ResourceMeter:
    """Accrues replica time and judges budgets (one key, visited every resync)."""

    name = "metering"

    def __init__(self, store: Store, clock: Clock, prices: Prices, *,
                 interval_s: float = 5.0) -> None:
        self.store = store
        self.clock = clock
        self.prices = prices
        self.interval_s = interval_s
        self._last: datetime | None = None

    async def keys(self) -> Sequence[str]:
        """One key: all replicas and budgets."""
        return ["all"]

    async def reconcile(self, key: str) -> Result:
        """Accrue and judge when ``interval_s`` passed since the last time."""
        now = self.clock.now()
        if self._last is not None and (now - self._last).total_seconds() < self.interval_s:
            return Result.done()
        self._last = now
        async with self.store.uow() as uow:
            for replica in await uow.replicas.all():
                if replica.state == ReplicaState.READY:
                    await self._accrue(uow, replica, now)
        await self.judge_budgets(now)
        return Result(requeue_after_s=self.interval_s)

    async def _accrue(self, uow: UnitOfWork, replica: Replica, now: datetime) -> None:
        since = max(replica.state_since, await uow.usage.watermark(replica.id) or replica.state_since)
        dep = await uow.deployments.get(replica.deployment)
        rev = await uow.deployments.revision(replica.deployment, replica.revision)
        if dep is None or rev is None:
            return
        h = held(replica.allocation)
        for bucket, seconds in accrue(since, now):
            await uow.usage.accrue(ResourceUsage(
                replica.id, bucket, dep.team, dep.name, replica.revision, rev.spec.model,
                rev.spec.version, h.gpu_model, math.ceil(h.gpus), seconds * h.cpus,
                seconds * h.gpus, now))
            REPLICA_SECONDS.labels(dep.team, "cpu", "").inc(seconds * h.cpus)
            if h.gpus:
                REPLICA_SECONDS.labels(dep.team, "gpu", h.gpu_model).inc(seconds * h.gpus)

    async def judge_budgets(self, now: datetime) -> list[BudgetVerdict]:
        """Judge every budget; raise the soft-limit event once per period."""
        verdicts = []
        async with self.store.uow() as uow:
            for budget, alerted in await uow.usage.budgets():
                start = period_start(now, budget.period)
                verdict = judge(budget, await team_spend(uow, budget.team, start, self.prices))
                verdicts.append(verdict)
                BUDGET_USED_RATIO.labels(budget.team).set(verdict.used_ratio)
                BUDGET_SPENT.labels(budget.team).set(verdict.spent)
                label = period_label(now, budget.period)
                if verdict.state != BudgetState.OK and alerted != label:
                    await uow.usage.mark_alerted(budget.team, label)
                    await uow.audit.append(AuditDraft(
                        now, "metering", budget.team, "budget.soft_limit", f"budget/{budget.team}",
                        details={"spent": f"{verdict.spent:.4f}", "soft": str(budget.soft),
                                 "hard": str(budget.hard), "period": label}))
                    logger.warning("team budget soft limit reached",
                                   extra={"team": budget.team, "spent": verdict.spent})
        return verdicts
