"""Pure: admission of requests to a deployment — a concurrency limit and a bounded priority queue.

Each deployment may have ``capacity`` requests in flight (replicas × the limit per
replica). Past that, requests wait in a queue ordered by priority (production before
staging before dev before batch), then by arrival. A request is refused at once with
``Reject`` (429 ``overloaded`` + Retry-After) when the queue is full, or when the wait it
can expect (its place in the queue × the mean service time ÷ capacity) is past its
deadline. Nothing here does I/O or reads a clock: callers pass ``now``.

Invariants: ``in_flight ≤ capacity`` unless the capacity shrank meanwhile; the queue
never holds more than ``max_queue`` entries; a released slot goes to the best waiter.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from enum import IntEnum


class Priority(IntEnum):
    """Lower is served first."""

    PRODUCTION = 0
    STAGING = 1
    DEV = 2
    BATCH = 3


_BY_NAME = {p.name.lower(): p for p in Priority}
_ENV_PRIORITY = {"production": Priority.PRODUCTION, "staging": Priority.STAGING,
                 "dev": Priority.DEV, "batch": Priority.BATCH}


def priority_of(environment: str, header: str | None, *, may_raise: bool) -> Priority:
    """The priority of a request: the environment's, or the header's when allowed.

    A header may always lower the priority; it may raise it only when ``may_raise``.
    Unknown header values are ignored.
    """
    base = _ENV_PRIORITY.get(environment, Priority.DEV)
    if not header:
        return base
    asked = _BY_NAME.get(header.strip().lower())
    if asked is None or (asked < base and not may_raise):
        return base
    return asked


@dataclass(frozen=True)
class Admit:
    """Run now."""


@dataclass(frozen=True)
class Enqueue:
    """Wait for a slot, at most until ``deadline`` (clock seconds)."""

    ticket: int
    deadline: float


@dataclass(frozen=True)
class Reject:
    """Refuse now (429 overloaded) with a retry hint."""

    reason: str
    retry_after_s: float


Decision = Admit | Enqueue | Reject


@dataclass
class DeploymentQueue:
    """Admission state of one deployment (mutated only by the functions below)."""

    in_flight: int = 0
    waiting: list[tuple[int, int, float, float]] = field(default_factory=list)  # heap
    service_s: float = 0.05  # moving mean of request time
    counter: itertools.count[int] = field(default_factory=itertools.count)


def expected_wait_s(q: DeploymentQueue, capacity: int) -> float:
    """The wait a request joining the queue now can expect."""
    return (len(q.waiting) + 1) * q.service_s / max(1, capacity)


def admit(q: DeploymentQueue, *, capacity: int, max_queue: int, priority: Priority,
          now: float, max_wait_s: float) -> Decision:
    """Decide whether a request runs now, waits, or is refused."""
    if q.in_flight < capacity and not q.waiting:
        q.in_flight += 1
        return Admit()
    wait = expected_wait_s(q, capacity)
    retry = max(1.0, wait)
    if len(q.waiting) >= max_queue:
        return Reject("queue full", retry)
    if wait > max_wait_s:
        return Reject("expected wait past the deadline", retry)
    ticket = next(q.counter)
    heapq.heappush(q.waiting, (int(priority), ticket, now, now + max_wait_s))
    return Enqueue(ticket, now + max_wait_s)


def release(q: DeploymentQueue, *, capacity: int, service_s: float | None, now: float) -> list[int]:
    """A request finished: free its slot; return the tickets that may now run.

    Waiters past their deadline are dropped from the queue (their owners answer 429).
    """
    q.in_flight = max(0, q.in_flight - 1)
    if service_s is not None:
        q.service_s += (service_s - q.service_s) * 0.1
    started: list[int] = []
    while q.waiting and q.in_flight < capacity:
        _, ticket, _, deadline = heapq.heappop(q.waiting)
        if deadline < now:
            continue
        q.in_flight += 1
        started.append(ticket)
    return started


def forget(q: DeploymentQueue, ticket: int) -> None:
    """Remove a waiter that gave up (deadline or client gone)."""
    kept = [w for w in q.waiting if w[1] != ticket]
    if len(kept) != len(q.waiting):
        q.waiting = kept
        heapq.heapify(q.waiting)
