"""Drift controller: judges each deployment's newest sampled window against its reference.

Every ``interval_s`` per deployment with samples: load the reference of the serving model
version (registered, or taken once from the first ``reference_size`` samples of traffic
when none was; an uploaded one, inputs only, takes its prediction baseline from the first
answers of traffic), compare the newest ``window_size`` samples taken after it feature by
feature and on the prediction (``observability.drift``), export PSI and KS gauges, keep
the report for ``modelyard drift show``, and raise a ``drift.detected`` event (audit log,
warning log, ``modelyard_drift_events_total``) when a deployment starts drifting. Samples
beyond ``keep_samples`` per deployment are pruned.

LLM deployments (the transformers runtime or an engine) are judged from usage records:
prompt and completion length distributions and the error rate of the last
``llm_window_s`` against the window before it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from modelyard.controllers.base import Result
from modelyard.domain.audit import AuditDraft
from modelyard.domain.clock import Clock
from modelyard.domain.drift import DriftSample, Reference, default_columns
from modelyard.observability.drift import (
    FeatureDrift,
    Thresholds,
    compare,
    feature_drift,
    llm_drift,
)
from modelyard.observability.metrics import DRIFT_DETECTED, DRIFT_EVENTS, DRIFT_KS, DRIFT_PSI
from modelyard.store.unit_of_work import Store, UnitOfWork

logger = logging.getLogger(__name__)
PREDICTION = "prediction"
LLM_FRAMEWORKS = ("transformers",)


def is_llm(framework: str, engine: str | None) -> bool:
    """Whether a revision serves an LLM (judged on lengths and errors, not sampled rows)."""
    return engine is not None or framework in LLM_FRAMEWORKS


@dataclass(frozen=True)
class DriftConfig:
    """Windows, thresholds and timing of the drift controller."""

    window_size: int = 500
    reference_size: int = 500
    keep_samples: int = 20_000
    interval_s: float = 10.0
    thresholds: Thresholds = Thresholds()
    llm_window_s: float = 3600.0


def judge_window(ref: Reference, window: Sequence[DriftSample],
                 t: Thresholds) -> list[FeatureDrift]:
    """Per-feature drift plus the prediction's shift (pure)."""
    out = compare(ref.columns, ref.rows, [s.features for s in window], t)
    preds = [s.prediction for s in window if s.prediction is not None]
    if ref.predictions and preds:
        out.append(feature_drift(PREDICTION, ref.predictions, preds, t))
    return out


class DriftController:
    """A reconciler whose keys are deployments with drift samples."""

    name = "drift"

    def __init__(self, store: Store, clock: Clock, config: DriftConfig) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self._last: dict[str, datetime] = {}
        self._keys: list[str] = []
        self._keys_at: datetime | None = None

    async def keys(self) -> Sequence[str]:
        """Deployments that have samples, and LLM deployments (judged from usage records).

        The list is refreshed once per ``interval_s``: the manager asks every tick, and
        this controller must not slow the ticks that route traffic.
        """
        now = self.clock.now()
        if self._keys_at is not None and (now - self._keys_at).total_seconds() < self.config.interval_s:
            return self._keys
        async with self.store.uow() as uow:
            keys = set(await uow.drift.deployments_with_samples())
            for dep in await uow.deployments.all():
                rev = await uow.deployments.revision(dep.name, dep.current_revision)
                if rev is not None and is_llm(rev.spec.framework, rev.spec.engine):
                    keys.add(dep.name)
        self._keys, self._keys_at = sorted(keys), now
        return self._keys

    async def reconcile(self, key: str) -> Result:
        """Judge ``key`` when its interval passed."""
        now = self.clock.now()
        last = self._last.get(key)
        if last is not None and (now - last).total_seconds() < self.config.interval_s:
            return Result.done()
        self._last[key] = now
        async with self.store.uow() as uow:
            await self._judge(uow, key, now)
            await uow.drift.prune(key, self.config.keep_samples)
        return Result(requeue_after_s=self.config.interval_s)

    async def _reference(self, uow: UnitOfWork, key: str, model: str,
                         version: int, now: datetime) -> tuple[Reference, int] | None:
        found = await uow.drift.reference(model, version)
        if found is not None and not found[0].predictions:
            return await self._prediction_baseline(uow, key, *found)
        if found is not None:
            return found
        first = await uow.drift.samples(key, limit=self.config.reference_size, newest=False)
        if len(first) < self.config.reference_size:
            return None
        rows = tuple(s.features for _, s in first)
        preds = tuple(s.prediction for _, s in first if s.prediction is not None)
        ref = Reference(model, version, default_columns(len(rows[0])), rows, "traffic", now, preds)
        await uow.drift.set_reference(ref, last_sample_id=first[-1][0])
        return ref, first[-1][0]

    async def _prediction_baseline(self, uow: UnitOfWork, key: str, ref: Reference,
                                   after: int) -> tuple[Reference, int]:
        """Give an uploaded reference the predictions of the first answers of traffic.

        Windows start after those ``reference_size`` answers.
        """
        first = await uow.drift.samples(key, after_id=after, limit=self.config.reference_size,
                                        newest=False)
        preds = tuple(s.prediction for _, s in first if s.prediction is not None)
        if len(first) < self.config.reference_size or not preds:
            return ref, after
        ref = replace(ref, predictions=preds)
        await uow.drift.set_reference(ref, last_sample_id=first[-1][0])
        return ref, first[-1][0]

    async def _judge(self, uow: UnitOfWork, key: str, now: datetime) -> None:
        dep = await uow.deployments.get(key)
        rev = await uow.deployments.revision(key, dep.current_revision) if dep else None
        if dep is None or rev is None:
            return
        model, version = rev.spec.model, rev.spec.version
        if is_llm(rev.spec.framework, rev.spec.engine):
            await self._judge_llm(uow, key, dep.team, f"{model}@{version}", now)
            return
        found = await self._reference(uow, key, model, version, now)
        report: dict[str, Any] = {"model": model, "version": version, "features": [],
                                  "window": 0, "reference": None, "state": "no_reference"}
        drifted = False
        if found is not None:
            ref, after = found
            window = [s for _, s in await uow.drift.samples(key, after_id=after,
                                                             limit=self.config.window_size)]
            report.update(window=len(window), reference={"source": ref.source, "rows": len(ref.rows)})
            if len(window) < self.config.thresholds.min_samples:
                report["state"] = "collecting"
            else:
                results = judge_window(ref, window, self.config.thresholds)
                drifted = any(r.drifted for r in results)
                report.update(state="drifted" if drifted else "stable",
                              features=[r.to_json() for r in results])
                for r in results:
                    DRIFT_PSI.labels(key, r.name).set(r.psi)
                    DRIFT_KS.labels(key, r.name).set(r.ks)
        await self._save(uow, key, dep.team, now, drifted, report)

    async def _judge_llm(self, uow: UnitOfWork, key: str, team: str, model: str,
                         now: datetime) -> None:
        """Prompt/completion lengths and error rate: the last window against the one before."""
        window = timedelta(seconds=self.config.llm_window_s)
        reference = await uow.usage.requests(key, now - 2 * window, now - window)
        current = await uow.usage.requests(key, now - window, now)
        model_name, _, version = model.partition("@")
        report: dict[str, Any] = {"model": model_name, "version": int(version), "kind": "llm",
                                  "window": len(current), "features": [],
                                  "reference": {"source": "previous_window",
                                                "rows": len(reference)}}
        drifted = False
        if min(len(reference), len(current)) < self.config.thresholds.min_samples:
            report["state"] = "collecting"
        else:
            lengths, rate = llm_drift(reference, current, self.config.thresholds)
            drifted = rate.drifted or any(f.drifted for f in lengths)
            report.update(state="drifted" if drifted else "stable",
                          features=[f.to_json() for f in lengths], error_rate=rate.to_json())
            if rate.drifted:
                report["features"].append({"name": "error_rate", "psi": 0.0, "ks": 0.0,
                                           "p_value": 1.0, "drifted": True})
            for f in lengths:
                DRIFT_PSI.labels(key, f.name).set(f.psi)
                DRIFT_KS.labels(key, f.name).set(f.ks)
        await self._save(uow, key, team, now, drifted, report)

    async def _save(self, uow: UnitOfWork, key: str, team: str, now: datetime, drifted: bool,
                    report: dict[str, Any]) -> None:
        """Keep the report; raise the event when ``key`` starts drifting."""
        DRIFT_DETECTED.labels(key).set(1 if drifted else 0)
        previous = await uow.drift.report(key)
        await uow.drift.save_report(key, now, drifted, report)
        if drifted and (previous is None or not previous[1]):
            moved = [f["name"] for f in report["features"] if f["drifted"]]
            DRIFT_EVENTS.labels(key).inc()
            logger.warning("drift detected", extra={"deployment": key, "features": moved})
            await uow.audit.append(AuditDraft(
                now, "drift", team, "drift.detected", f"deployment/{key}",
                details={"features": ",".join(moved)[:500],
                         "model": f"{report['model']}@{report['version']}",
                         "window": str(report["window"])}))
