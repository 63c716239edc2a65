"""Pure: pick the revision of a deployment that serves one request.

Weighted revisions are chosen by smooth weighted round robin (nginx's algorithm): every
pick adds each revision's weight to its running score, takes the highest and subtracts
the total from it. The choice is deterministic and exact: over any run of
``sum(weights)`` consecutive picks each revision is chosen exactly ``weight`` times,
and picks are interleaved rather than bunched. Revisions without a Ready endpoint are
skipped, so traffic never waits on a candidate that is not up.

A request may pin a revision with the ``X-Modelyard-Revision`` header. Shadow copies
are chosen by a counter in the same deterministic way (``is_shadowed``).
"""

from __future__ import annotations

from collections.abc import Mapping

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.routes import RouteEntry

PIN_HEADER = "x-modelyard-revision"


def parse_pin(value: str | None) -> int | None:
    """The revision number in an ``X-Modelyard-Revision`` header (None when absent)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not text.isdigit() or len(text) > 9:
        raise ModelyardError(ErrorCode.INVALID_REQUEST,
                             "X-Modelyard-Revision must be a revision number")
    return int(text)


def choose_revision(
    route: RouteEntry, pinned: int | None, scores: Mapping[int, int],
) -> tuple[int | None, dict[int, int]]:
    """Return ``(revision or None for every endpoint, new scores)``.

    Raises ``revision_not_found`` when ``pinned`` names a revision without a Ready
    replica.
    """
    ready = route.revisions()
    if pinned is not None:
        if pinned not in ready:
            raise ModelyardError(ErrorCode.REVISION_NOT_FOUND,
                                 f"revision {pinned} of {route.deployment!r} has no ready replica")
        return pinned, dict(scores)
    if not route.weights:
        return None, dict(scores)
    eligible = [(rev, w) for rev, w in route.weights if w > 0 and rev in ready]
    if not eligible:
        # nothing weighted is up: name the first weighted revision; the proxy answers 503
        return route.weights[0][0], dict(scores)
    total = sum(w for _, w in eligible)
    new = {rev: scores.get(rev, 0) + w for rev, w in eligible}
    best = max(eligible, key=lambda rw: new[rw[0]])[0]
    new[best] -= total
    return best, new


def is_shadowed(percent: int, counter: int) -> bool:
    """True when request number ``counter`` (from 0) of a deployment gets a shadow copy.

    Exactly ``percent`` of every 100 consecutive requests are shadowed, spread evenly.
    """
    if percent <= 0:
        return False
    return (counter + 1) * percent // 100 > counter * percent // 100
