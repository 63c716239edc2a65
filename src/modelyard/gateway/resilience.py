"""Pure: passive health (eject a replica that keeps failing) and the retry budget.

``HealthBook`` counts consecutive failures per replica; after ``eject_after`` of them the
replica is left out of balancing for ``eject_s`` seconds, then tried again (one success
clears the count). ``RetryBudget`` lets a deployment retry at most ``ratio`` of its
requests over a sliding window (plus ``min_retries`` so a quiet deployment may still
retry), so retries cannot multiply the load of an outage. Callers pass ``now``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class HealthBook:
    """Consecutive failures and ejections per replica."""

    eject_after: int = 5
    eject_s: float = 10.0
    failures: dict[str, int] = field(default_factory=dict)
    ejected_until: dict[str, float] = field(default_factory=dict)

    def ejected(self, now: float) -> set[str]:
        """Replicas out of balancing at ``now``."""
        if not self.ejected_until:
            return set()
        for rid in [r for r, until in self.ejected_until.items() if until <= now]:
            del self.ejected_until[rid]
        return set(self.ejected_until)

    def failed(self, replica_id: str, now: float) -> bool:
        """Count a failure; True when the replica is ejected by it."""
        n = self.failures.get(replica_id, 0) + 1
        self.failures[replica_id] = n
        if n >= self.eject_after:
            self.failures[replica_id] = 0
            self.ejected_until[replica_id] = now + self.eject_s
            return True
        return False

    def succeeded(self, replica_id: str) -> None:
        """A success clears the count."""
        if self.failures:
            self.failures.pop(replica_id, None)


@dataclass
class RetryBudget:
    """Requests and retries of one deployment over a sliding window."""

    ratio: float = 0.2
    window_s: float = 10.0
    min_retries: int = 3
    requests: deque[float] = field(default_factory=deque)
    retries: deque[float] = field(default_factory=deque)

    def _trim(self, now: float) -> None:
        edge = now - self.window_s
        for q in (self.requests, self.retries):
            while q and q[0] < edge:
                q.popleft()

    def request(self, now: float) -> None:
        """Count one request."""
        self.requests.append(now)
        if len(self.requests) > 4096:
            self._trim(now)

    def try_retry(self, now: float) -> bool:
        """True (and counted) when one more retry fits the budget."""
        self._trim(now)
        if len(self.retries) >= self.min_retries + self.ratio * len(self.requests):
            return False
        self.retries.append(now)
        return True
