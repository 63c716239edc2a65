"""Pure: choose a replica by least outstanding requests.

``choose_endpoint`` scans all endpoints (ties to the one after the last chosen: round
robin among equals). ``choose_p2c`` is the default for larger sets: it samples two
endpoints with a seeded ``random.Random`` and takes the less loaded (power of two
choices: near-best balance at O(1) cost, no herd on one idle replica).
``choose_affine`` prefers the endpoint a prompt-prefix hash maps to (its KV cache is
warm), unless that one is much busier than the least loaded.
"""

from __future__ import annotations

import random
import zlib
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


def choose_p2c(endpoints: Sequence[Endpoint], outstanding: Mapping[str, int],
               exclude: Collection[str], rng: random.Random) -> Endpoint | None:
    """Power of two choices among the endpoints not in ``exclude``."""
    if len(endpoints) == 1:
        ep = endpoints[0]
        return None if ep.replica_id in exclude else ep
    pool = [e for e in endpoints if e.replica_id not in exclude] if exclude else endpoints
    if len(pool) <= 1:
        return pool[0] if pool else None
    a, b = rng.sample(pool, 2) if len(pool) > 2 else (pool[0], pool[1])
    return a if outstanding.get(a.replica_id, 0) <= outstanding.get(b.replica_id, 0) else b


def prefix_hash(prompt: str, prefix_chars: int) -> int:
    """A stable hash of the prompt's first ``prefix_chars`` characters."""
    return zlib.crc32(prompt[:prefix_chars].encode())


def choose_affine(endpoints: Sequence[Endpoint], outstanding: Mapping[str, int],
                  exclude: Collection[str], key: int, *, slack: int) -> Endpoint | None:
    """The endpoint ``key`` maps to, unless it has ``slack`` more requests than the idlest."""
    pool = [e for e in endpoints if e.replica_id not in exclude]
    if not pool:
        return None
    ordered = sorted(pool, key=lambda e: e.replica_id)
    preferred = ordered[key % len(ordered)]
    idlest = min(ordered, key=lambda e: outstanding.get(e.replica_id, 0))
    busy = outstanding.get(preferred.replica_id, 0)
    return preferred if busy <= outstanding.get(idlest.replica_id, 0) + slack else idlest
