"""Usage records, replica-time accrual, costs and budgets on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from modelyard.controllers.metering import ResourceMeter, StoreUsageSink, team_spend
from modelyard.domain.clock import FakeClock
from modelyard.domain.costs import Budget, BudgetState, Period, Prices
from modelyard.domain.deployments import Deployment, Environment, Revision, RevisionSpec
from modelyard.domain.ids import ReplicaId
from modelyard.domain.replicas import Allocation, Replica, ReplicaState
from modelyard.domain.usage import GroupBy, UsageRecord, aggregate
from modelyard.store import tables as t
from modelyard.store.repositories.audit import AuditFilter
from modelyard.store.unit_of_work import Store
from tests.support.databases import database_url

T0 = datetime(2026, 3, 1, 12, 40, tzinfo=UTC)
SPEC = RevisionSpec("iris", 3, None, "sklearn", "sha256:" + "a" * 64, "m.joblib")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    with database_url(request.param, tmp_path) as url:
        s = Store(url)
        await asyncio.to_thread(s.migrate)
        try:
            yield s
        finally:
            await s.close()


async def _deployment(store: Store, name: str = "d", team: str = "t") -> None:
    async with store.uow() as uow:
        await uow.deployments.add(Deployment(name, team, Environment.PRODUCTION, 1, 1, T0, T0),
                                  Revision(name, 1, SPEC, T0, "me", ""))


async def test_usage_records_aggregate_like_the_pure_reference(store: Store) -> None:
    await _deployment(store)
    recs = [UsageRecord(T0, "t", f"k{i % 2}", "d", 1, "iris", 500 if i == 3 else 200, 0.01 * i,
                        i, 2 * i) for i in range(6)]
    old = UsageRecord(datetime(2026, 1, 1, tzinfo=UTC), "t", "k0", "d", 1, "iris", 200, 1.0)
    await StoreUsageSink(store).write([*recs, old])  # the sink fills in model versions
    filled = [replace(r, model_version=3) for r in recs]
    async with store.uow() as uow:
        for by in (GroupBy.TEAM, GroupBy.DEPLOYMENT, GroupBy.KEY, GroupBy.MODEL):
            got = await uow.usage.totals(by, datetime(2026, 3, 1, tzinfo=UTC))
            want = aggregate(filled, by)
            assert [(u.key, u.requests, u.errors, u.prompt_tokens, u.completion_tokens)
                    for u in got] == [(u.key, u.requests, u.errors, u.prompt_tokens,
                                       u.completion_tokens) for u in want]
            assert sum(u.latency_s_sum for u in got) == pytest.approx(0.15)
        assert [u.key for u in await uow.usage.totals(GroupBy.MODEL, T0)] == ["iris@3"]
        assert await uow.usage.totals(GroupBy.TEAM, T0, team="other") == []
        assert [(u.key, u.requests) for u in await uow.usage.totals(GroupBy.PROJECT, T0)] == [
            ("-", 6)]
        await uow.conn.execute(insert(t.models).values(name="iris", team="t", description="",
                                                       created_at=T0, created_by="me"))
        await uow.conn.execute(insert(t.model_versions).values(
            model="iris", version=3, digest="sha256:x", framework="sklearn", task="c",
            size_bytes=1, artifact_name="m", tags='{"project": "fraud"}', created_at=T0,
            created_by="me"))
        assert [(u.key, u.requests, u.errors) for u in await uow.usage.totals(
            GroupBy.PROJECT, T0)] == [("fraud", 6, 1)]


async def test_replica_time_accrues_into_cost_with_a_fake_clock(store: Store) -> None:
    await _deployment(store)
    clock = FakeClock(T0)
    async with store.uow() as uow:
        await uow.replicas.add(Replica(ReplicaId("d-1"), "d", 1, ReplicaState.READY, T0, T0))
        # two half H100s and 4 CPUs from the scheduler
        await uow.replicas.add(Replica(ReplicaId("d-2"), "d", 1, ReplicaState.READY, T0, T0,
                                       allocation=Allocation((0, 1), 500, 0, "H100", 4000)))
        await uow.usage.set_budget(Budget("t", soft=0.2, hard=1.0, period=Period.MONTH), T0, "me")
    prices = Prices({"H100": 4.0}, cpu_hour=0.1)
    meter = ResourceMeter(store, clock, prices, interval_s=60)
    clock.advance(30 * 60)  # 12:40 → 13:10, accrued in two passes
    await meter.reconcile("all")
    clock.advance(2 * 3600)  # → 15:10
    await meter.reconcile("all")
    async with store.uow() as uow:
        rows = sorted(await uow.usage.resource_totals(GroupBy.DEPLOYMENT, T0))
        assert rows == [("d", "", pytest.approx(9000.0), 0.0),
                        ("d", "H100", pytest.approx(4 * 9000.0), pytest.approx(9000.0))]
        assert (await uow.usage.resource_totals(GroupBy.MODEL, T0))[0][0] == "iris@3"
        spend = await team_spend(uow, "t", datetime(2026, 3, 1, tzinfo=UTC), prices)
        # 2.5 h × (1 + 4 CPUs × 0.1) + 2.5 h × one whole H100 × 4.0
        assert spend == pytest.approx(2.5 * 5 * 0.1 + 2.5 * 4.0)
    verdicts = await meter.judge_budgets(clock.now())
    assert verdicts[0].state == BudgetState.HARD_EXCEEDED
    async with store.uow() as uow:
        assert (await uow.usage.budgets())[0][1] == "2026-03"  # alerted once this period
        assert await uow.usage.delete_budget("t") and not await uow.usage.delete_budget("t")


async def test_drift_controller_judges_llm_routes_from_usage(store: Store) -> None:
    from modelyard.controllers.drift import DriftConfig, DriftController
    from modelyard.observability.drift import Thresholds

    llm = replace(SPEC, model="llama", framework="transformers")
    async with store.uow() as uow:
        await uow.deployments.add(Deployment("chat", "t", Environment.PRODUCTION, 1, 1, T0, T0),
                                  Revision("chat", 1, llm, T0, "me", ""))
    clock = FakeClock(T0)
    ctl = DriftController(store, clock, DriftConfig(interval_s=0, llm_window_s=600,
                                                    thresholds=Thresholds(min_samples=30)))
    assert await ctl.keys() == ["chat"]

    def window(start: datetime, completion: int, failing: int) -> list[UsageRecord]:
        return [UsageRecord(start + timedelta(seconds=i), "t", "k", "chat", 1, "llama",
                            500 if i < failing else 200, 0.1, 40 + i % 7, completion + i % 5)
                for i in range(60)]

    sink = StoreUsageSink(store)
    await sink.write(window(T0, 20, 0) + window(T0 + timedelta(seconds=600), 20, 1))
    clock.advance(1200)
    await ctl.reconcile("chat")
    async with store.uow() as uow:
        at, drifted, report = await uow.drift.report("chat")  # type: ignore[misc]
        assert not drifted and report["state"] == "stable" and report["window"] == 60
        assert report["error_rate"]["current"] == pytest.approx(1 / 60, abs=1e-6)
    await sink.write(window(T0 + timedelta(seconds=1200), 80, 12))
    clock.advance(600)
    await ctl.reconcile("chat")
    async with store.uow() as uow:
        _, drifted, report = await uow.drift.report("chat")  # type: ignore[misc]
        assert drifted
        assert {f["name"] for f in report["features"] if f["drifted"]} == {
            "completion_tokens", "error_rate"}
        events = [e for e in await uow.audit.list(AuditFilter(action="drift.detected"))]
        assert len(events) == 1
