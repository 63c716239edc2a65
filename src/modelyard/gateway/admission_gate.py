"""The async side of admission: one ``DeploymentQueue`` per deployment and its waiters.

``enter`` returns at once when a slot is free (the common case costs a dict lookup and
an integer compare), waits on a future otherwise, and raises 429 ``overloaded`` with
Retry-After when the pure decision refuses or the deadline passes. ``leave`` frees the
slot and wakes the best waiters. The decisions live in ``admission``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.gateway.admission import (
    Admit,
    DeploymentQueue,
    Enqueue,
    Priority,
    Reject,
    admit,
    forget,
    release,
)
from modelyard.observability.metrics import GATEWAY_QUEUE_LENGTH, GATEWAY_QUEUE_SECONDS, GATEWAY_REJECTED


class AdmissionGate:
    """Bounded priority queues in front of each deployment's replicas."""

    def __init__(self, *, per_replica: int, max_queue: int, max_wait_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_replica = per_replica
        self.max_queue = max_queue
        self.max_wait_s = max_wait_s
        self.clock = clock
        self.queues: dict[str, DeploymentQueue] = {}
        self._waiters: dict[int, asyncio.Future[None]] = {}

    def _queue(self, deployment: str) -> DeploymentQueue:
        q = self.queues.get(deployment)
        if q is None:
            q = self.queues[deployment] = DeploymentQueue()
        return q

    async def enter(self, deployment: str, replicas: int, priority: Priority) -> float:
        """Wait for a slot; return the seconds waited. Raises 429 ``overloaded``."""
        q = self._queue(deployment)
        capacity = max(1, replicas) * self.per_replica
        if q.in_flight < capacity and not q.waiting:  # fast path: no decision object
            q.in_flight += 1
            return 0.0
        now = self.clock()
        decision = admit(q, capacity=capacity, max_queue=self.max_queue, priority=priority,
                         now=now, max_wait_s=self.max_wait_s)
        match decision:
            case Admit():
                return 0.0
            case Reject(reason=reason, retry_after_s=retry):
                GATEWAY_REJECTED.labels(deployment, "overloaded").inc()
                raise ModelyardError(ErrorCode.OVERLOADED, f"deployment {deployment!r}: {reason}",
                                     retry_after_s=retry)
            case Enqueue(ticket=ticket, deadline=deadline):
                return await self._wait(deployment, q, ticket, deadline - now, now)
        raise AssertionError(decision)  # pragma: no cover

    async def _wait(self, deployment: str, q: DeploymentQueue, ticket: int, wait_s: float,
                    now: float) -> float:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[ticket] = fut
        GATEWAY_QUEUE_LENGTH.labels(deployment).set(len(q.waiting))
        try:
            async with asyncio.timeout(wait_s):
                await fut
        except TimeoutError:
            forget(q, ticket)
            GATEWAY_REJECTED.labels(deployment, "queue_timeout").inc()
            raise ModelyardError(ErrorCode.OVERLOADED,
                                 f"deployment {deployment!r}: waited past the deadline",
                                 retry_after_s=max(1.0, q.service_s)) from None
        except BaseException:
            forget(q, ticket)
            if fut.done() and not fut.cancelled():  # admitted meanwhile: give the slot back
                self._wake(q, release(q, capacity=10**9, service_s=None, now=self.clock()))
            raise
        finally:
            self._waiters.pop(ticket, None)
            GATEWAY_QUEUE_LENGTH.labels(deployment).set(len(q.waiting))
        waited = self.clock() - now
        GATEWAY_QUEUE_SECONDS.labels(deployment).observe(waited)
        return waited

    def leave(self, deployment: str, replicas: int, service_s: float | None) -> None:
        """A request finished: free its slot and start the best waiters."""
        q = self.queues.get(deployment)
        if q is None:
            return
        capacity = max(1, replicas) * self.per_replica
        if not q.waiting:
            q.in_flight = max(0, q.in_flight - 1)
            if service_s is not None:
                q.service_s += (service_s - q.service_s) * 0.1
            return
        self._wake(q, release(q, capacity=capacity, service_s=service_s, now=self.clock()))

    def _wake(self, q: DeploymentQueue, tickets: list[int]) -> None:
        for ticket in tickets:
            fut = self._waiters.get(ticket)
            if fut is not None and not fut.done():
                fut.set_result(None)
            else:  # its owner left already: hand the slot on
                q.in_flight = max(0, q.in_flight - 1)
