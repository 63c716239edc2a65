"""Rate limits: a pure token bucket and the LimiterStore protocol that keeps buckets.

A bucket holds up to ``limit`` units and refills at ``limit`` per ``window_s``
(requests per minute, tokens per minute). ``take`` spends ``cost`` units if there are
enough; ``charge`` spends them regardless (tokens are known only after the answer), so
a bucket may go negative and the next requests wait until it refills. Stores keep the
state: ``MemoryLimiterStore`` (one gateway) and ``RedisLimiterStore`` (shared by many),
in ``limiter_stores``; both run the same contract tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

Bucket = tuple[float, float]
"""Stored state of a bucket: (units left, clock seconds when they were computed)."""


class Verdict(NamedTuple):
    """The outcome of one take: allowed or not, what is left and when it is full again."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: float
    retry_after_s: float


class Take(NamedTuple):
    """One bucket to spend from in a ``take_many``."""

    key: str
    limit: int
    window_s: float
    cost: float


def refill(bucket: Bucket | None, limit: int, window_s: float, now: float) -> float:
    """Units in the bucket at ``now``."""
    if bucket is None:
        return float(limit)
    tokens, updated = bucket
    if now > updated:
        tokens += (now - updated) * limit / window_s
    return tokens if tokens < limit else float(limit)


def take(bucket: Bucket | None, *, limit: int, window_s: float, cost: float, now: float,
         force: bool = False) -> tuple[Verdict, Bucket]:
    """Spend ``cost`` units if there are enough (always when ``force``)."""
    verdicts, new = take_all([bucket], [Take("", limit, window_s, cost)], now=now, force=force)
    return verdicts[0], new[0] if new is not None else (refill(bucket, limit, window_s, now), now)


def take_all(buckets: Sequence[Bucket | None], takes: Sequence[Take], *, now: float,
             force: bool) -> tuple[list[Verdict], list[Bucket] | None]:
    """Spend from every bucket, or from none when one refuses (unless ``force``).

    Returns the verdicts and the buckets to store (None: store nothing). It runs several
    times on every request, so the refill and the spend are inlined arithmetic.
    """
    verdicts: list[Verdict] = []
    new: list[Bucket] = []
    ok = True
    for bucket, (_, limit, window_s, cost) in zip(buckets, takes, strict=True):
        rate = limit / window_s
        if bucket is None:
            tokens = float(limit)
        else:
            tokens, updated = bucket
            if now > updated:
                tokens += (now - updated) * rate
            if tokens > limit:
                tokens = float(limit)
        allowed = force or tokens >= cost
        if allowed:
            tokens -= cost
        else:
            ok = False
        verdicts.append(Verdict(allowed, limit, int(tokens) if tokens > 0 else 0,
                                (limit - tokens) / rate if tokens < limit else 0.0,
                                0.0 if allowed else (cost - tokens) / rate))
        new.append((tokens, now))
    return verdicts, (new if ok else None)


class LimiterStore(Protocol):
    """Keeps buckets by key; ``take`` and ``take_many`` are atomic."""

    async def take(self, key: str, *, limit: int, window_s: float, cost: float,
                   force: bool = False) -> Verdict:
        """Spend ``cost`` units of bucket ``key`` (see ``limiter.take``)."""
        ...

    async def take_many(self, takes: Sequence[Take], *, force: bool = False) -> list[Verdict]:
        """Spend from every bucket of ``takes`` or, when one refuses, from none (``take_all``)."""
        ...

    async def spend(self, takes: Sequence[Take], cost: float) -> None:
        """Spend ``cost`` units of every bucket of ``takes`` regardless of what is left."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
