"""Pure: choose a replica by least outstanding requests.

Ties go to the endpoint after the last one chosen (round robin among equals), so idle
replicas share load evenly instead of the first one taking every request.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from modelyard.domain.routes import Endpoint


def choose_endpoint(
    endpoints: Sequence[Endpoint], outstanding: Mapping[str, int], exclude: Collection[str],
    turn: int,
) -> Endpoint | None:
    """Return the endpoint with the fewest outstanding requests, not in ``exclude``."""
    n = len(endpoints)
    best: Endpoint | None = None
    best_load = 0
    for i in range(n):
        ep = endpoints[(turn + i) % n]
        if ep.replica_id in exclude:
            continue
        load = outstanding.get(ep.replica_id, 0)
        if best is None or load < best_load:
            best, best_load = ep, load
    return best
