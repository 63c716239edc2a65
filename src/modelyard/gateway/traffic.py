"""Traffic control of one gateway: revision split, pinning, shadow copies, per-revision stats.

The decisions are pure (``split.choose_revision``, ``split.is_shadowed``,
``shadow.disagrees``); this module keeps their per-deployment state (split scores,
request counters), records what happened and owns the shadow tasks. Shadow copies run
after the client's answer is known, never delay it, never change it, and are dropped
when ``max_shadow_in_flight`` copies are already running.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace
from typing import Any

from modelyard.domain.errors import ModelyardError
from modelyard.domain.routes import RouteEntry
from modelyard.gateway.proxy import Proxy
from modelyard.gateway.shadow import disagrees
from modelyard.gateway.split import choose_revision, is_shadowed, parse_pin
from modelyard.gateway.stats import StatsRecorder
from modelyard.observability.metrics import (
    GATEWAY_REVISION_LATENCY,
    GATEWAY_REVISION_REQUESTS,
    GATEWAY_SHADOW,
)


def is_error(status: int) -> bool:
    """True for answers that count as failures of the revision (5xx, or no answer)."""
    return status == 0 or status >= 500


class Traffic:
    """Per-deployment split state, shadow tasks and the stats recorder."""

    def __init__(self, recorder: StatsRecorder, *, max_shadow_in_flight: int = 64) -> None:
        self.recorder = recorder
        self.max_shadow_in_flight = max_shadow_in_flight
        self._scores: dict[str, tuple[tuple[tuple[int, int], ...], dict[int, int]]] = {}
        self._counters: dict[str, int] = {}
        self._shadows: set[asyncio.Task[None]] = set()
        self._children: dict[tuple[str, int, int], tuple[Any, Any]] = {}

    def target(self, route: RouteEntry, pin_header: str | None) -> tuple[RouteEntry, int | None]:
        """The route narrowed to the revision that serves this request, and that revision."""
        if pin_header is None and not route.weights:
            return route, None  # no split and no pin: every endpoint (the common case)
        pinned = parse_pin(pin_header)
        weights, scores = self._scores.get(route.deployment, ((), {}))
        if weights != route.weights:
            scores = {}
        revision, new_scores = choose_revision(route, pinned, scores)
        if pinned is None:
            self._scores[route.deployment] = (route.weights, new_scores)
        if revision is None:
            return route, None
        return replace(route, endpoints=route.endpoints_of(revision)), revision

    def record(self, route: RouteEntry, revision: int | None, replica_id: str | None,
               latency_s: float, status: int) -> int | None:
        """Count one answer against its revision; return that revision (if known)."""
        if revision is None and replica_id is not None:
            revision = next((e.revision for e in route.endpoints if e.replica_id == replica_id), None)
        if revision is None:
            return None
        self.recorder.record(route.deployment, revision, latency_s, error=is_error(status))
        key = (route.deployment, revision, status)
        children = self._children.get(key)
        if children is None:  # label lookups cost more than the updates: keep the children
            children = self._children[key] = (
                GATEWAY_REVISION_REQUESTS.labels(route.deployment, str(revision), str(status)),
                GATEWAY_REVISION_LATENCY.labels(route.deployment, str(revision)))
        children[0].inc()
        children[1].observe(latency_s)
        return revision

    def shadow(self, proxy: Proxy, route: RouteEntry, request: tuple[str, str, bytes],
               headers: list[tuple[bytes, bytes]], stable_body: bytes) -> None:
        """Send a copy of a request to the shadow revision when its turn comes."""
        rev = route.shadow_revision
        if rev is None:
            return
        n = self._counters.get(route.deployment, 0)
        self._counters[route.deployment] = n + 1
        if not is_shadowed(route.shadow_percent, n):
            return
        endpoints = route.endpoints_of(rev)
        if not endpoints:
            GATEWAY_SHADOW.labels(route.deployment, str(rev), "no_replica").inc()
            return
        if len(self._shadows) >= self.max_shadow_in_flight:
            GATEWAY_SHADOW.labels(route.deployment, str(rev), "dropped").inc()
            return
        target = replace(route, endpoints=endpoints)
        task = asyncio.create_task(self._send_shadow(proxy, target, rev, request, headers,
                                                     stable_body), name="shadow-copy")
        self._shadows.add(task)
        task.add_done_callback(self._shadows.discard)

    async def _send_shadow(self, proxy: Proxy, target: RouteEntry, rev: int,
                           request: tuple[str, str, bytes], headers: list[tuple[bytes, bytes]],
                           stable_body: bytes) -> None:
        method, path, body = request
        started = time.perf_counter()
        status, answer = 0, b""
        try:
            up = await proxy.forward(target, method, path, body, headers)
            status = up.status
            if up.stream is not None:
                answer = b"".join([chunk async for chunk in up.stream])
            else:
                answer = up.body or b""
        except ModelyardError as err:
            status = err.status
        self.record(target, rev, None, time.perf_counter() - started, status)
        differ = disagrees(stable_body, answer) if status == 200 else (
            None if is_error(status) else True)
        if differ is not None:
            self.recorder.record_comparison(target.deployment, rev, disagreed=differ)
        GATEWAY_SHADOW.labels(target.deployment, str(rev), "error" if is_error(status) else (
            "disagreed" if differ else "sent")).inc()

    async def aclose(self) -> None:
        """Cancel shadow copies still running."""
        tasks = list(self._shadows)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
