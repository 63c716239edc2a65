"""Per-revision request statistics of one gateway, and their report to the control plane.

``StatsRecorder`` keeps cumulative ``RevisionStats`` per (deployment, revision) in
memory; the canary analysis reads windows of them. In ``modelyard up`` the control plane
reads the recorder directly; a gateway running alone sends its snapshot to the server
every ``interval_s`` with ``StatsReporter`` (``POST /api/v1/gateway-stats``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import uuid

import httpx

from modelyard.domain.revision_stats import (
    LATENCY_BUCKETS_S,
    RevisionStats,
    bucket_index,
    snapshot_to_json,
)

logger = logging.getLogger(__name__)


class _Tally:
    """Mutable counters of one revision (updated on every request; read as RevisionStats)."""

    __slots__ = ("requests", "errors", "latency_sum_s", "buckets", "compared", "disagreed")

    def __init__(self) -> None:
        self.requests = self.errors = self.compared = self.disagreed = 0
        self.latency_sum_s = 0.0
        self.buckets = [0] * (len(LATENCY_BUCKETS_S) + 1)

    def stats(self) -> RevisionStats:
        return RevisionStats(self.requests, self.errors, self.latency_sum_s, tuple(self.buckets),
                             self.compared, self.disagreed)


class StatsRecorder:
    """Cumulative counters of the requests this gateway forwarded."""

    def __init__(self) -> None:
        self._stats: dict[str, dict[int, _Tally]] = {}

    def _tally(self, deployment: str, revision: int) -> _Tally:
        revs = self._stats.get(deployment)
        if revs is None:
            revs = self._stats[deployment] = {}
        tally = revs.get(revision)
        if tally is None:
            tally = revs[revision] = _Tally()
        return tally

    def record(self, deployment: str, revision: int, latency_s: float, *, error: bool) -> None:
        """Count one request."""
        tally = self._tally(deployment, revision)
        tally.requests += 1
        tally.errors += error
        tally.latency_sum_s += latency_s
        tally.buckets[bucket_index(latency_s)] += 1

    def record_comparison(self, deployment: str, revision: int, *, disagreed: bool) -> None:
        """Count one compared shadow answer."""
        tally = self._tally(deployment, revision)
        tally.compared += 1
        tally.disagreed += disagreed

    def snapshot(self) -> dict[str, dict[int, RevisionStats]]:
        """A copy of every counter."""
        return {dep: {rev: t.stats() for rev, t in list(revs.items())}
                for dep, revs in list(self._stats.items())}


class StatsReporter:
    """Sends the recorder's snapshot to the server periodically (gateway-alone mode)."""

    def __init__(self, recorder: StatsRecorder, server_url: str, api_key: str, *,
                 interval_s: float, verify: ssl.SSLContext | bool = True) -> None:
        self.recorder = recorder
        self.url = server_url.rstrip("/") + "/api/v1/gateway-stats"
        self.interval_s = interval_s
        self.gateway_id = f"gw-{uuid.uuid4().hex[:12]}"
        self._client = httpx.AsyncClient(headers={"Authorization": f"Bearer {api_key}"},
                                         timeout=httpx.Timeout(5.0), verify=verify,
                                         trust_env=False)
        self._task: asyncio.Task[None] | None = None

    async def report_once(self) -> None:
        """Send one snapshot."""
        body = {"gateway_id": self.gateway_id, "stats": snapshot_to_json(self.recorder.snapshot())}
        resp = await self._client.post(self.url, json=body)
        resp.raise_for_status()

    async def run(self) -> None:
        """Report until cancelled; a failed report is retried at the next interval."""
        while True:
            try:
                await self.report_once()
            except httpx.HTTPError as exc:
                logger.warning("stats report failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        """Start reporting as an owned task."""
        self._task = asyncio.create_task(self.run(), name="stats-report")

    async def stop(self) -> None:
        """Stop reporting."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()
