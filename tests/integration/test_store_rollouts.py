"""Rollouts, their history and revision validations on real SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from modelyard.domain.analysis import Figures, Thresholds
from modelyard.domain.deployments import Deployment, Environment, Revision, RevisionSpec
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.rollouts import (
    HistoryEntry,
    HistoryKind,
    Rollout,
    RolloutEvent,
    RolloutSpec,
    RolloutState,
    Strategy,
    Validation,
    transition,
)
from modelyard.store.unit_of_work import Store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)




SPEC = RevisionSpec("iris", 1, None, "sklearn", "sha256:" + "a" * 64, "m.joblib", replicas=3)


async def test_rollouts_history_validations(store: Store) -> None:
    spec = RolloutSpec(Strategy.CANARY, (5, 50, 100), 2.5, Thresholds(0.05, 2.0, 0.02, 30),
                       shadow_percent=40, max_surge=2, max_unavailable=1, keep_old_s=9)
    r = Rollout("ro-1", "d", 1, 2, spec, RolloutState.STARTING, T0, T0, "me", message="why")
    async with store.uow() as uow:
        await uow.deployments.add(Deployment("d", "t", Environment.STAGING, 3, 1, T0, T0),
                                  Revision("d", 1, SPEC, T0, "me", "first"))
        await uow.deployments.add_revision(Revision("d", 2, replace(SPEC, version=2), T0, "me", ""))
        await uow.rollouts.add(r)
    async with store.uow() as uow:
        assert (await uow.deployments.revision("d", 1)) == Revision("d", 1, SPEC, T0, "me", "first")
        assert await uow.rollouts.latest("d") == r
        assert await uow.rollouts.active() == [r]
        moved = transition(r, RolloutEvent.CANDIDATE_READY, T0 + timedelta(seconds=1))
        saved = await uow.rollouts.save(moved)
        assert saved.version == 2
        with pytest.raises(ModelyardError) as err:
            await uow.rollouts.save(moved)          # stale version
        assert err.value.code == ErrorCode.CONFLICT
        figures = Figures(100, 0.0, 0.004, 20, 0.5, 0.006, None)
        await uow.rollouts.record(HistoryEntry("d", T0, HistoryKind.ANALYSIS_FAILED, "controller",
                                               "bad", "ro-1", 2, figures))
        await uow.rollouts.record(HistoryEntry("d", T0, HistoryKind.VALIDATION, "me", "ok"))
        v = await uow.rollouts.add_validation(Validation("d", 2, True, "p95 ok", T0, "me"))
        assert v.id is not None
    async with store.uow() as uow:
        got = await uow.rollouts.latest("d")
        assert got is not None and got.state == RolloutState.PROGRESSING and got.spec == spec
        assert got.step_started_at == T0 + timedelta(seconds=1)
        history = await uow.rollouts.history("d")
        assert [e.kind for e in history] == [HistoryKind.ANALYSIS_FAILED, HistoryKind.VALIDATION]
        assert history[0].figures == figures
        assert [e.kind for e in await uow.rollouts.history("d", "ro-1")] == [
            HistoryKind.ANALYSIS_FAILED]
        assert [x.summary for x in await uow.rollouts.validations("d", 2)] == ["p95 ok"]
        assert (await uow.rollouts.latest_by_deployment())["d"].id == "ro-1"
        await uow.deployments.delete("d")
    async with store.uow() as uow:
        assert await uow.rollouts.all("d") == []
        assert await uow.rollouts.history("d") == []
