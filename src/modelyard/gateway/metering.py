"""Usage metering off the request path: one UsageRecord per request, flushed in batches.

The forward path calls ``Meter.upstream`` (an answer arrived) or ``Meter.failed`` (the
gateway answered an error itself); both only append to a bounded in-memory queue. A
task flushes up to ``batch_size`` records every ``flush_interval_s`` (sooner when a batch
is full) through a ``UsageSink``; a failed write keeps the batch for the next try. When
the queue is full the newest record is dropped and counted
(``modelyard_usage_dropped_total``). ``stop`` flushes everything left, so a clean
shutdown loses nothing. Streamed answers are recorded when their stream ends, with the
tokens counted as they pass (``gateway.tokens``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections import deque
from collections.abc import Sequence
from typing import Protocol

import httpx
import orjson

from modelyard.domain.clock import Clock
from modelyard.domain.drift import DriftSample
from modelyard.domain.usage import UsageRecord
from modelyard.gateway.route_watch import RouteSource
from modelyard.gateway.sampling import Sampler, SampleSink
from modelyard.observability.metrics import USAGE_DROPPED, USAGE_QUEUE, USAGE_RECORDS

logger = logging.getLogger(__name__)


class UsageSink(Protocol):
    """Where batches of usage records go (the store, or the server over HTTP)."""

    async def write(self, records: Sequence[UsageRecord]) -> None:
        """Persist ``records``; raise to have them kept for the next try."""
        ...


class HttpUsageSink:
    """Posts batches to the control plane's ``POST /api/v1/usage`` (gateway alone)."""

    def __init__(self, server_url: str, api_key: str, *,
                 verify: ssl.SSLContext | bool = True) -> None:
        base = server_url.rstrip("/") + "/api/v1"
        self.url, self.samples_url = base + "/usage", base + "/drift/samples"
        self._client = httpx.AsyncClient(headers={"Authorization": f"Bearer {api_key}"},
                                         timeout=httpx.Timeout(10.0), verify=verify,
                                         trust_env=False)

    async def write(self, records: Sequence[UsageRecord]) -> None:
        """Send one batch."""
        body = orjson.dumps({"records": [r.to_json() for r in records]})
        resp = await self._client.post(self.url, content=body,
                                       headers={"content-type": "application/json"})
        resp.raise_for_status()

    async def write_samples(self, samples: Sequence[DriftSample]) -> None:
        """Send one batch of drift samples (``POST /api/v1/drift/samples``)."""
        resp = await self._client.post(self.samples_url,
                                       json={"samples": [s.to_json() for s in samples]})
        resp.raise_for_status()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


class Meter:
    """The bounded queue of usage records and its flusher."""

    def __init__(self, source: RouteSource, clock: Clock, *, sink: UsageSink | None = None,
                 max_queue: int = 100_000, batch_size: int = 2000,
                 flush_interval_s: float = 1.0) -> None:
        self.source = source
        self.clock = clock
        self.sink = sink
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self._queue: deque[UsageRecord] = deque()
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.sampler: Sampler | None = None  # drift samples of tabular answers, when enabled
        self.sample_sink: SampleSink | None = None

    def emit(self, record: UsageRecord) -> None:
        """Queue one record (dropped and counted when the queue is full)."""
        if len(self._queue) >= self.max_queue:
            self.dropped += 1
            USAGE_DROPPED.inc()
            return
        self._queue.append(record)
        USAGE_QUEUE.set(len(self._queue))
        if len(self._queue) >= self.batch_size:
            self._full.set()

    async def flush_once(self) -> int:
        """Write one batch; return how many records were written."""
        if self.sink is None or not self._queue:
            return 0
        batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
        try:
            await self.sink.write(batch)
        except Exception:
            self._queue.extendleft(reversed(batch))
            raise
        finally:
            USAGE_QUEUE.set(len(self._queue))
        USAGE_RECORDS.inc(len(batch))
        return len(batch)

    async def run(self) -> None:
        """Flush until cancelled; a failed write is retried at the next interval."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.flush_interval_s)
            self._full.clear()
            try:
                while await self.flush_once() == self.batch_size:
                    pass
                await self._flush_samples()
            except Exception as exc:
                logger.warning("usage flush failed; kept for the next try",
                               extra={"error": type(exc).__name__, "queued": len(self._queue)})

    async def _flush_samples(self) -> None:
        if self.sampler is not None and self.sample_sink is not None:
            while await self.sampler.flush_once(self.sample_sink) == self.sampler.batch_size:
                pass

    def _pending(self) -> bool:
        usage = bool(self._queue) and self.sink is not None
        samples = self.sampler is not None and self.sample_sink is not None and len(self.sampler) > 0
        return usage or samples

    def start(self) -> None:
        """Start flushing as an owned task."""
        if self.sink is not None and self._task is None:
            self._task = asyncio.create_task(self.run(), name="usage-flush")

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the task and flush every queued record (tries until ``timeout_s``)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        deadline = time.monotonic() + timeout_s
        while self._pending() and time.monotonic() < deadline:
            try:
                await self.flush_once()
                await self._flush_samples()
            except Exception as exc:
                logger.warning("usage flush at stop failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(0.2)
        if self._queue:
            logger.error("usage records lost at stop", extra={"count": len(self._queue)})
