"""Rate limits: a pure token bucket and the LimiterStore protocol that keeps buckets.

A bucket holds up to ``limit`` units and refills at ``limit`` per ``window_s``
(requests per minute, tokens per minute). ``take`` spends ``cost`` units if there are
enough; ``charge`` spends them regardless (tokens are known only after the answer), so
a bucket may go negative and the next requests wait until it refills. Stores keep the
state: ``MemoryLimiterStore`` (one gateway) and ``RedisLimiterStore`` (shared by many),
in ``limiter_stores``; both run the same contract tests.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol


class Bucket(NamedTuple):  # immutable and cheap to build: it is made on every request
    """Stored state: units left and when they were computed (clock seconds)."""

    tokens: float
    updated_s: float


class Verdict(NamedTuple):
    """The outcome of one take: allowed or not, what is left and when it is full again."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: float
    retry_after_s: float


def refill(bucket: Bucket | None, limit: int, window_s: float, now: float) -> float:
    """Units in the bucket at ``now``."""
    if bucket is None:
        return float(limit)
    rate = limit / window_s
    return min(float(limit), bucket.tokens + max(0.0, now - bucket.updated_s) * rate)


def take(bucket: Bucket | None, *, limit: int, window_s: float, cost: float, now: float,
         force: bool = False) -> tuple[Verdict, Bucket]:
    """Spend ``cost`` units if there are enough (always when ``force``)."""
    tokens = refill(bucket, limit, window_s, now)
    rate = limit / window_s
    allowed = force or tokens >= cost
    if allowed:
        tokens -= cost
    remaining = max(0, math.floor(tokens))
    reset_s = max(0.0, (limit - tokens) / rate)
    retry = 0.0 if allowed else max(0.0, (cost - tokens) / rate)
    return Verdict(allowed, limit, remaining, reset_s, retry), Bucket(tokens, now)


class LimiterStore(Protocol):
    """Keeps buckets by key; ``take`` is atomic per key."""

    async def take(self, key: str, *, limit: int, window_s: float, cost: float,
                   force: bool = False) -> Verdict:
        """Spend ``cost`` units of bucket ``key`` (see ``limiter.take``)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
