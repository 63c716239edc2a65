"""Health probes of external endpoints: which of their URLs the route table may use.

Every ``interval_s`` each URL of each external deployment is probed (its health path,
else ``/health``, ``/v2/health/ready``, ``/v1/models`` in turn). An endpoint that answers
anything but 404 or a 5xx is alive (401 means alive behind a key). The routing
controller reads ``healthy`` when it builds the table.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import httpx

from modelyard.controllers.base import Result
from modelyard.domain.endpoints import PROBE_PATHS, ExternalDeployment
from modelyard.store.unit_of_work import Store


class EndpointProber:
    """Probes external endpoints and keeps the healthy URLs per deployment."""

    name = "endpoint_probe"

    def __init__(self, store: Store, *, interval_s: float = 2.0, timeout_s: float = 1.0) -> None:
        self.store = store
        self.interval_s = interval_s
        self.healthy: dict[str, frozenset[str]] = {}
        self._known: dict[str, ExternalDeployment] = {}
        self._next: dict[str, float] = {}
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), trust_env=False)

    async def keys(self) -> Sequence[str]:
        """One key per external deployment; forgets removed ones."""
        async with self.store.uow() as uow:
            self._known = {e.name: e for e in await uow.external.all()}
        for gone in set(self.healthy) - set(self._known):
            self.healthy.pop(gone, None)
            self._next.pop(gone, None)
        return list(self._known)

    async def _alive(self, url: str, paths: Sequence[str]) -> bool:
        for path in paths:
            try:
                resp = await self._client.get(url + path)
            except httpx.HTTPError:
                return False
            if resp.status_code != 404 and resp.status_code < 500:
                return True
        return False

    async def reconcile(self, key: str) -> Result:
        """Probe the deployment's URLs when their turn comes."""
        ext = self._known.get(key)
        now = time.monotonic()
        if ext is None or now < self._next.get(key, 0.0):
            return Result.done()
        paths = (ext.health_path,) if ext.health_path else PROBE_PATHS
        alive = await asyncio.gather(*(self._alive(u, paths) for u in ext.urls))
        self.healthy[key] = frozenset(u for u, ok in zip(ext.urls, alive, strict=True) if ok)
        self._next[key] = now + self.interval_s
        return Result.done()

    async def aclose(self) -> None:
        """Close the probe client."""
        await self._client.aclose()
