"""RevisionStats: cumulative per-revision request counters that gateways measure.

A gateway counts, per (deployment, revision), requests, errors (5xx and gateway
failures), a latency histogram and, for shadow copies, how often the candidate's answer
disagreed with stable's. Counters only grow; a window is the difference of two
snapshots (``window``), and snapshots of several gateways add up (``merge``). Pure: no
clock, no I/O.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25,
    0.35, 0.5, 0.75, 1.0,
    2.5, 5.0, 10.0, 30.0,
)


@dataclass(frozen=True)
class RevisionStats:
    """Cumulative counters of one revision of one deployment.

    ``buckets[i]`` counts requests with latency ≤ ``LATENCY_BUCKETS_S[i]`` and above the
    bucket before it; the last slot counts everything slower than the largest bound.
    """

    requests: int = 0
    errors: int = 0
    latency_sum_s: float = 0.0
    buckets: tuple[int, ...] = field(default_factory=lambda: (0,) * (len(LATENCY_BUCKETS_S) + 1))
    shadow_compared: int = 0
    shadow_disagreed: int = 0

    @property
    def error_rate(self) -> float:
        """Errors per request (0 without requests)."""
        return self.errors / self.requests if self.requests else 0.0

    @property
    def disagreement_rate(self) -> float | None:
        """Share of compared shadow answers that differed from stable's (None if none)."""
        return self.shadow_disagreed / self.shadow_compared if self.shadow_compared else None

    def quantile_s(self, q: float) -> float | None:
        """Estimate the ``q`` latency quantile by interpolating inside a bucket."""
        total = sum(self.buckets)
        if total == 0:
            return None
        rank = q * total
        seen = 0
        lower = 0.0
        for i, count in enumerate(self.buckets):
            upper = LATENCY_BUCKETS_S[i] if i < len(LATENCY_BUCKETS_S) else LATENCY_BUCKETS_S[-1]
            if count and seen + count >= rank:
                return lower + (upper - lower) * ((rank - seen) / count)
            seen += count
            lower = upper
        return LATENCY_BUCKETS_S[-1]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (gateway → server reports)."""
        return {"requests": self.requests, "errors": self.errors,
                "latency_sum_s": self.latency_sum_s, "buckets": list(self.buckets),
                "shadow_compared": self.shadow_compared,
                "shadow_disagreed": self.shadow_disagreed}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RevisionStats:
        """Parse the form written by ``to_json``."""
        buckets = tuple(int(b) for b in data["buckets"])
        if len(buckets) != len(LATENCY_BUCKETS_S) + 1:
            raise ValueError("wrong number of latency buckets")
        return cls(int(data["requests"]), int(data["errors"]), float(data["latency_sum_s"]),
                   buckets, int(data.get("shadow_compared", 0)),
                   int(data.get("shadow_disagreed", 0)))


def bucket_index(latency_s: float) -> int:
    """The histogram slot of one latency (the first bound at or above it)."""
    return bisect_left(LATENCY_BUCKETS_S, latency_s)


def observe(stats: RevisionStats, latency_s: float, *, error: bool) -> RevisionStats:
    """Return ``stats`` after one request."""
    buckets = list(stats.buckets)
    buckets[bucket_index(latency_s)] += 1
    return RevisionStats(stats.requests + 1, stats.errors + int(error),
                         stats.latency_sum_s + latency_s, tuple(buckets),
                         stats.shadow_compared, stats.shadow_disagreed)


def observe_comparison(stats: RevisionStats, *, disagreed: bool) -> RevisionStats:
    """Return ``stats`` after one shadow answer was compared with stable's."""
    return RevisionStats(stats.requests, stats.errors, stats.latency_sum_s, stats.buckets,
                         stats.shadow_compared + 1, stats.shadow_disagreed + int(disagreed))


def merge(parts: Sequence[RevisionStats]) -> RevisionStats:
    """Sum snapshots (of several gateways)."""
    out = RevisionStats()
    for p in parts:
        out = RevisionStats(
            out.requests + p.requests, out.errors + p.errors, out.latency_sum_s + p.latency_sum_s,
            tuple(a + b for a, b in zip(out.buckets, p.buckets, strict=True)),
            out.shadow_compared + p.shadow_compared, out.shadow_disagreed + p.shadow_disagreed)
    return out


def window(later: RevisionStats, earlier: RevisionStats | None) -> RevisionStats:
    """Counts between two snapshots; a counter that went down (a restart) counts from 0."""
    if earlier is None or later.requests < earlier.requests:
        return later
    return RevisionStats(
        later.requests - earlier.requests, max(0, later.errors - earlier.errors),
        max(0.0, later.latency_sum_s - earlier.latency_sum_s),
        tuple(max(0, a - b) for a, b in zip(later.buckets, earlier.buckets, strict=True)),
        max(0, later.shadow_compared - earlier.shadow_compared),
        max(0, later.shadow_disagreed - earlier.shadow_disagreed))


# deployment -> revision -> stats
StatsSnapshot = Mapping[str, Mapping[int, RevisionStats]]


def snapshot_to_json(snapshot: StatsSnapshot) -> list[dict[str, Any]]:
    """Flatten a snapshot into JSON rows."""
    return [{"deployment": dep, "revision": rev, **stats.to_json()}
            for dep, revs in snapshot.items() for rev, stats in revs.items()]


def snapshot_from_json(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[int, RevisionStats]]:
    """Parse rows written by ``snapshot_to_json``."""
    out: dict[str, dict[int, RevisionStats]] = {}
    for row in rows:
        out.setdefault(str(row["deployment"]), {})[int(row["revision"])] = RevisionStats.from_json(row)
    return out
