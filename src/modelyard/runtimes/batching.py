"""Dynamic batching: many concurrent requests, one forward pass.

A ``Batcher`` owns a bounded queue and one consumer task. Requests that arrive while a
forward pass is running, or within ``max_batch_delay_ms`` of the first waiting one, are
merged (up to ``max_batch_size`` rows) and handed to the runtime in a worker thread, so
the event loop keeps accepting requests during compute. Results are fanned out to each
request's future.

Invariants:
- The queue is bounded: a request over ``max_queue`` is refused at once with
  ``queue_full`` and a Retry-After estimated from recent throughput, never queued.
- A request whose caller went away (its future was cancelled) is dropped before compute.
- One forward pass at a time per model instance; runtimes need no locks. A replica may
  hold several instances of its model (``forwards``, one worker thread each): their
  passes overlap, one batch being collected while another computes. On a CPU this keeps
  every core busy where one multi-threaded pass would stall at each parallel section
  whenever the HTTP side takes a core (measured in ``docs/runtimes.md``).
- A failing batch of several requests is retried one request at a time, so one bad input
  never fails its neighbours.
- No added latency when idle: the delay is only waited for while under concurrent load
  (the previous batch held more than one request). A lone request on an idle replica is
  dispatched at once; at concurrency 1 batching costs one thread hop.
- With several instances, a batch stops waiting as soon as it holds its even share of
  the requests in the replica (everything queued, which it takes first, and the rows
  computing on the other instances), and is woken to check again whenever another
  instance finishes. While one instance computes, the free one waits for the requests
  coming back rather than starting a pass on the first few, which would leave both
  instances working on small, inefficient batches; once the others are idle it goes at
  once. ``max_batch_delay_ms`` still bounds every wait.

This module knows nothing of HTTP or of any runtime; ``forward`` is a plain function.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.observability import metrics_replica as metrics
from modelyard.runtimes.protocol import BatchDefaults

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_MAX_QUEUE = 1024


@dataclass(frozen=True)
class BatchSettings:
    """How a replica batches; ``max_batch_size`` ≤ 1 turns merging off."""

    max_batch_size: int = 1
    max_batch_delay_ms: float = 0.0
    max_queue: int = DEFAULT_MAX_QUEUE

    @property
    def is_enabled(self) -> bool:
        """Whether requests may be merged at all."""
        return self.max_batch_size > 1

    @classmethod
    def from_flags(
        cls,
        defaults: BatchDefaults,
        max_batch_size: int | None,
        max_batch_delay_ms: float | None,
        max_queue: int = DEFAULT_MAX_QUEUE,
    ) -> BatchSettings:
        """Combine a runtime's defaults with the CLI flags (None = use the default)."""
        size = defaults.max_batch_size if max_batch_size is None else max_batch_size
        delay = defaults.max_batch_delay_ms if max_batch_delay_ms is None else max_batch_delay_ms
        if size < 0 or delay < 0 or max_queue < 1:
            raise ModelyardError(
                ErrorCode.INVALID_REQUEST,
                "batch size and delay must be ≥ 0 and the queue ≥ 1",
            )
        return cls(max(1, size), delay, max_queue)


@dataclass(eq=False)
class _Pending(Generic[T, R]):
    item: T
    rows: int
    future: asyncio.Future[R]
    enqueued_s: float


def _one(forward: Callable[[Sequence[T]], Sequence[R]], item: T) -> R | BaseException:
    try:
        return forward([item])[0]
    except Exception as exc:  # each request gets its own failure
        return exc


def run_isolated(
    forward: Callable[[Sequence[T]], Sequence[R]], items: Sequence[T]
) -> list[R | BaseException]:
    """Run ``forward`` on the whole batch; on failure, once per item.

    Returns one result or exception per item, in order. Runs in the worker thread.
    """
    try:
        results = list(forward(items))
    except Exception as exc:
        if len(items) == 1:
            return [exc]
        return [_one(forward, item) for item in items]
    if len(results) != len(items):
        err = ModelyardError(ErrorCode.INTERNAL, "the runtime returned a wrong number of results")
        return [err for _ in items]
    return list(results)


class Batcher(Generic[T, R]):
    """Merges concurrent requests into batches for ``forward`` (see the module docstring).

    Use as ``async with Batcher(...) as b: result = await b.submit(item)``.
    """

    def __init__(
        self,
        forward: Callable[[Sequence[T]], Sequence[R]] | Sequence[Callable[[Sequence[T]], Sequence[R]]],
        settings: BatchSettings,
        *,
        model: str = "",
        rows_of: Callable[[T], int] | None = None,
    ) -> None:
        self._forwards = list(forward) if isinstance(forward, Sequence) else [forward]
        if not self._forwards:
            raise ValueError("a batcher needs at least one forward function")
        self.settings = settings
        self._rows_of = rows_of or (lambda _item: 1)
        self._pending: deque[_Pending[T, R]] = deque()
        self._wakeup = asyncio.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._collecting = asyncio.Lock()  # one consumer builds a batch at a time
        self._last_batch_requests = 0
        self._busy_rows = 0  # rows in forward passes right now
        self._seconds_per_request = 0.01  # EWMA, only for Retry-After
        self._labels = {"model": model}

    async def __aenter__(self) -> Batcher[T, R]:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def instances(self) -> int:
        """Model instances: forward passes that may run at the same time."""
        return len(self._forwards)

    def start(self) -> None:
        """Start one consumer task and one worker thread per instance (inside a running loop)."""
        if not self._tasks:
            self._executor = ThreadPoolExecutor(len(self._forwards),
                                                thread_name_prefix="modelyard-forward")
            metrics.INSTANCES.labels(**self._labels).set(len(self._forwards))
            loop = asyncio.get_running_loop()
            self._tasks = [loop.create_task(self._run(f), name=f"batcher-{i}")
                           for i, f in enumerate(self._forwards)]

    async def aclose(self) -> None:
        """Stop consuming, fail what is still queued and release the worker threads."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        while self._pending:
            p = self._pending.popleft()
            if not p.future.done():
                p.future.set_exception(ModelyardError(ErrorCode.NO_READY_REPLICA, "shutting down"))
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    @property
    def queue_depth(self) -> int:
        """Requests waiting (not yet in a forward pass)."""
        return len(self._pending)

    def retry_after_s(self) -> float:
        """When a refused caller should come back, from queue depth and throughput."""
        return max(1.0, len(self._pending) * self._seconds_per_request)

    def enqueue(self, item: T) -> asyncio.Future[R]:
        """Queue ``item`` and return its future; raise ``queue_full`` when over the bound.

        Cancelling the future drops the request if its forward pass has not started.
        """
        if not self._tasks:
            raise ModelyardError(ErrorCode.NO_READY_REPLICA, "the batcher is not running")
        if len(self._pending) >= self.settings.max_queue:
            metrics.REJECTED.labels(**self._labels).inc()
            raise ModelyardError(
                ErrorCode.QUEUE_FULL,
                f"{len(self._pending)} requests are queued on this replica",
                retry_after_s=self.retry_after_s(),
            )
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(item, self._rows_of(item), future, time.perf_counter()))
        self._wakeup.set()
        return future

    async def submit(self, item: T) -> R:
        """Queue ``item`` and wait for its result; cancelling the caller drops it."""
        return await self.enqueue(item)  # a cancelled caller cancels the future too

    async def _run(self, forward: Callable[[Sequence[T]], Sequence[R]]) -> None:
        while True:
            if not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            async with self._collecting:
                batch = await self._collect()
            if batch:
                await self._dispatch(forward, batch)

    def _take(self, batch: list[_Pending[T, R]], rows: int) -> int | None:
        """Move the next live request into ``batch``; None when it would not fit."""
        while self._pending and self._pending[0].future.done():
            self._pending.popleft()
            metrics.CANCELLED.labels(**self._labels).inc()
        if not self._pending:
            return rows
        nxt = self._pending[0]
        if batch and rows + nxt.rows > self.settings.max_batch_size:
            return None
        batch.append(self._pending.popleft())
        return rows + nxt.rows

    async def _collect(self) -> list[_Pending[T, R]]:
        batch: list[_Pending[T, R]] = []
        rows = self._take(batch, 0) or 0
        if not batch or not self.settings.is_enabled:
            return batch
        delay_s = self.settings.max_batch_delay_ms / 1000
        may_wait = delay_s > 0 and self._last_batch_requests > 1
        deadline = time.perf_counter() + delay_s
        while rows < self.settings.max_batch_size:
            if self._pending:
                taken = self._take(batch, rows)
                if taken is None:
                    break
                rows = taken
                continue
            remaining = deadline - time.perf_counter()
            if not may_wait or remaining <= 0 or self._holds_its_share(rows):
                break
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                break
        return batch

    def _holds_its_share(self, rows: int) -> bool:
        """Whether a batch of ``rows`` holds an even split of the replica's load.

        Asked only once the queue is empty (all of it is in this batch), so the load is
        this batch and the rows computing on the other instances. One instance: never.
        """
        instances = len(self._forwards)
        return instances > 1 and rows * instances >= self._busy_rows + rows

    async def _dispatch(self, forward: Callable[[Sequence[T]], Sequence[R]],
                        batch: list[_Pending[T, R]]) -> None:
        live = [p for p in batch if not p.future.done()]
        dropped = len(batch) - len(live)
        if dropped:
            metrics.CANCELLED.labels(**self._labels).inc(dropped)
        if not live:
            return
        started = time.perf_counter()
        for p in live:
            metrics.QUEUE_SECONDS.labels(**self._labels).observe(started - p.enqueued_s)
        loop = asyncio.get_running_loop()
        items = [p.item for p in live]
        rows = sum(p.rows for p in live)
        self._busy_rows += rows
        try:
            results = await loop.run_in_executor(self._executor, run_isolated, forward, items)
        finally:
            self._busy_rows -= rows
            self._wakeup.set()
        elapsed = time.perf_counter() - started
        metrics.COMPUTE_SECONDS.labels(**self._labels).observe(elapsed)
        metrics.BATCH_SIZE.labels(**self._labels).observe(rows)
        self._last_batch_requests = len(live)
        self._seconds_per_request = 0.8 * self._seconds_per_request + 0.2 * elapsed / len(live)
        for p, result in zip(live, results, strict=True):
            if p.future.done():
                continue
            if isinstance(result, BaseException):
                p.future.set_exception(result)
            else:
                p.future.set_result(result)
