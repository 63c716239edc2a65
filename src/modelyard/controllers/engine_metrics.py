"""Engine metrics: scrape each Ready engine replica and re-export under modelyard's names.

Every tick the scraper GETs the engine's own metrics endpoint (``/metrics``, or
``/prometheus/metrics`` for TensorRT-LLM), keeps the families the engine's adapter maps
(``runtimes.engines.metrics.translate``), labels them with deployment, revision and
replica, and holds the latest text per replica. ``/metrics`` appends ``render()``.
A replica that stops being Ready drops out at the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from modelyard.controllers.base import Result
from modelyard.domain.replicas import ReplicaState
from modelyard.runtimes.engines.catalog import ADAPTERS
from modelyard.runtimes.engines.metrics import render, translate
from modelyard.runtimes.engines.spec import Engine
from modelyard.store.unit_of_work import Store

logger = logging.getLogger(__name__)

METRICS_PATHS = {Engine.TRTLLM: "/prometheus/metrics"}


@dataclass(frozen=True)
class ScrapeTarget:
    """One engine replica to scrape."""

    replica_id: str
    deployment: str
    revision: int
    engine: Engine
    url: str

    @property
    def metrics_url(self) -> str:
        """The engine's own metrics endpoint."""
        return self.url + METRICS_PATHS.get(self.engine, "/metrics")


class EngineMetricsScraper:
    """A reconciler whose keys are Ready engine replicas."""

    name = "engine-metrics"

    def __init__(self, store: Store, *, timeout_s: float = 2.0) -> None:
        self.store = store
        self._client = httpx.AsyncClient(timeout=timeout_s, trust_env=False)
        self._targets: dict[str, ScrapeTarget] = {}
        self._texts: dict[str, str] = {}

    async def keys(self) -> Sequence[str]:
        """Ready replicas of engine revisions; forget the others."""
        targets: dict[str, ScrapeTarget] = {}
        async with self.store.uow() as uow:
            for r in await uow.replicas.all():
                if r.state != ReplicaState.READY or r.url is None:
                    continue
                rev = await uow.deployments.revision(r.deployment, r.revision)
                if rev is not None and rev.spec.engine is not None:
                    targets[r.id] = ScrapeTarget(r.id, r.deployment, r.revision,
                                                 Engine(rev.spec.engine), r.url)
        self._targets = targets
        for gone in set(self._texts) - set(targets):
            del self._texts[gone]
        return list(targets)

    async def reconcile(self, key: str) -> Result:
        """Scrape one replica; keep the last good text on failure."""
        target = self._targets.get(key)
        if target is None:
            return Result.done()
        try:
            resp = await self._client.get(target.metrics_url)
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            logger.info("engine metrics scrape failed",
                        extra={"replica_id": key, "error": type(exc).__name__})
            return Result.done()
        labels = {"deployment": target.deployment, "revision": str(target.revision),
                  "replica": target.replica_id}
        samples = translate(resp.text, ADAPTERS[target.engine].metrics, labels)
        self._texts[key] = render(samples)
        return Result.done()

    def render(self) -> str:
        """The re-exported samples of every engine replica."""
        return "".join(self._texts[k] for k in sorted(self._texts))

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
