"""Manager: runs reconcilers forever; a failing key never stops it.

Every tick it refreshes the observed state once, then reconciles every key of every
reconciler in order (deployments, replicas, routing). A tick runs every ``resync_s``
or at once when ``wake()`` is called after an API write. Each reconcile is timed into
``modelyard_reconcile_seconds``; failures are counted and logged once with the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from modelyard.controllers.base import Reconciler
from modelyard.controllers.observed import ObservedState
from modelyard.domain.errors import ModelyardError
from modelyard.observability.metrics import RECONCILE_ERRORS, RECONCILE_SECONDS

logger = logging.getLogger(__name__)


class Manager:
    """Owns the reconcile loop task."""

    def __init__(self, observed: ObservedState, reconcilers: Sequence[Reconciler],
                 *, resync_s: float) -> None:
        self.observed = observed
        self.reconcilers = list(reconcilers)
        self.resync_s = resync_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0

    def wake(self) -> None:
        """Run the next tick now."""
        self._wake.set()

    async def tick(self) -> None:
        """Observe once, then reconcile every key of every reconciler."""
        try:
            await self.observed.refresh()
        except Exception:
            logger.exception("observing the backend failed")
            return
        for rec in self.reconcilers:
            try:
                keys = await rec.keys()
            except Exception:
                logger.exception("listing keys failed", extra={"controller": rec.name})
                continue
            for key in keys:
                await self._reconcile(rec, key)
        self.ticks += 1

    async def _reconcile(self, rec: Reconciler, key: str) -> None:
        started = time.perf_counter()
        try:
            await rec.reconcile(key)
        except ModelyardError as err:
            RECONCILE_ERRORS.labels(rec.name).inc()
            logger.info("reconcile deferred", extra={"controller": rec.name, "key": key,
                                                     "code": str(err.code)})
        except Exception:
            RECONCILE_ERRORS.labels(rec.name).inc()
            logger.exception("reconcile failed", extra={"controller": rec.name, "key": key})
        finally:
            RECONCILE_SECONDS.labels(rec.name).observe(time.perf_counter() - started)

    async def run(self) -> None:
        """Tick until cancelled."""
        while True:
            self._wake.clear()
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.resync_s)

    def start(self) -> None:
        """Start the loop as a task owned by this manager."""
        self._task = asyncio.create_task(self.run(), name="controller-manager")

    async def stop(self) -> None:
        """Cancel the loop and wait for it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
