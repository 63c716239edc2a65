"""RevisionStatsBook: the control plane's view of every gateway's per-revision counters.

Two kinds of sources add up: gateways in this process are read directly (``add_local``),
gateways running alone push snapshots (``report``, from ``POST /api/v1/gateway-stats``);
a pushed snapshot is forgotten after ``stale_after_s`` without news. Analysis windows
start from a baseline snapshot taken the first time a window key is asked for; a
restarted server takes a fresh baseline, which only ever makes a window shorter.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from modelyard.domain.clock import Clock
from modelyard.domain.revision_stats import RevisionStats, StatsSnapshot, merge, window

LocalSource = Callable[[], StatsSnapshot]


class RevisionStatsBook:
    """Sums gateway snapshots and keeps analysis baselines."""

    def __init__(self, clock: Clock, *, stale_after_s: float = 600.0) -> None:
        self.clock = clock
        self.stale_after_s = stale_after_s
        self._local: list[LocalSource] = []
        self._reports: dict[str, tuple[float, StatsSnapshot]] = {}
        self._baselines: dict[Hashable, dict[int, RevisionStats]] = {}

    def add_local(self, source: LocalSource) -> None:
        """Read ``source`` (an in-process gateway's recorder) on every query."""
        self._local.append(source)

    def report(self, gateway_id: str, snapshot: StatsSnapshot) -> None:
        """Take a gateway's latest cumulative snapshot."""
        self._reports[gateway_id] = (self.clock.monotonic(), snapshot)

    def gateways(self) -> int:
        """How many gateways currently contribute (local and reporting)."""
        self._expire()
        return len(self._local) + len(self._reports)

    def _expire(self) -> None:
        now = self.clock.monotonic()
        for gid in [g for g, (at, _) in self._reports.items() if now - at > self.stale_after_s]:
            del self._reports[gid]

    def revisions(self, deployment: str) -> dict[int, RevisionStats]:
        """Cumulative counters of every revision of ``deployment`` over all gateways."""
        self._expire()
        snaps = [src() for src in self._local] + [snap for _, snap in self._reports.values()]
        parts: dict[int, list[RevisionStats]] = {}
        for snap in snaps:
            for rev, stats in snap.get(deployment, {}).items():
                parts.setdefault(rev, []).append(stats)
        return {rev: merge(p) for rev, p in parts.items()}

    def window(self, key: Hashable, deployment: str, revision: int) -> RevisionStats:
        """Counts of ``revision`` since window ``key`` was first asked for."""
        now = self.revisions(deployment)
        base = self._baselines.setdefault(key, dict(now))
        return window(now.get(revision, RevisionStats()), base.get(revision))

    def forget(self, keep: Callable[[Hashable], bool]) -> None:
        """Drop baselines whose key ``keep`` rejects."""
        for key in [k for k in self._baselines if not keep(k)]:
            del self._baselines[key]
