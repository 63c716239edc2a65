"""Preemption: which running replicas to stop so that a more important one can run.

``choose_victims`` only ever picks replicas that are
- of lower priority than the claim, or
- borrowed from the claimant's own idle guarantee (another team's borrowed replicas, when
  the claim is within its team's guarantee);
and never another team's guaranteed (not borrowed) production replica. Among the nodes
where evicting would free enough GPU share, it chooses minimal disruption: fewest victims,
then the lowest highest-priority among them, then the most recently started.

Freed share is counted in milli-GPU per node; the caller confirms with ``place`` after the
eviction (a whole-GPU request also needs the share to fall on whole GPUs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from modelyard.domain.quotas import PRIORITY_VALUES, PriorityClass, Quota
from modelyard.scheduling.quotas import Claim, RunningReplica, find_quota, usage_by_key


@dataclass(frozen=True, slots=True)
class Preemption:
    """Stop ``victims`` (in this order) so that the claim fits; ``reasons`` say why each."""

    node: str
    victims: tuple[RunningReplica, ...]
    reasons: tuple[str, ...]


def _within_guarantee(claim: Claim, quotas: Sequence[Quota], running: Sequence[RunningReplica]) -> bool:
    quota = find_quota(quotas, claim.team, claim.gpu_model)
    if quota is None:
        return False
    used = usage_by_key(running).get((claim.team, claim.gpu_model), 0)
    return used + claim.gpu_milli <= quota.guaranteed_milli


def victim_reason(
    claim: Claim,
    replica: RunningReplica,
    *,
    reclaiming: bool,
    priorities: Mapping[PriorityClass, int] = PRIORITY_VALUES,
) -> str | None:
    """Why ``replica`` may be preempted for ``claim``, or None when it may not."""
    if replica.team != claim.team and replica.priority is PriorityClass.PRODUCTION and not replica.borrowed:
        return None
    if priorities[replica.priority] < priorities[claim.priority]:
        return f"{replica.replica_id}: priority {replica.priority} below {claim.priority}"
    if reclaiming and replica.borrowed and replica.team != claim.team:
        return f"{replica.replica_id}: borrowed from team {claim.team}'s guarantee"
    return None


def _victims_on_node(
    claim: Claim,
    running: Sequence[RunningReplica],
    node: str,
    free: int,
    reclaiming: bool,
    priorities: Mapping[PriorityClass, int],
) -> list[tuple[RunningReplica, str]]:
    """Fewest allowed victims on ``node`` that free enough share; [] if impossible."""
    allowed = [
        (r, why) for r in running
        if r.node == node and r.gpu_model == claim.gpu_model
        and (why := victim_reason(claim, r, reclaiming=reclaiming, priorities=priorities))
    ]
    # Largest first gives the fewest victims; then lowest priority, then newest.
    allowed.sort(key=lambda p: (-p[0].gpu_milli, priorities[p[0].priority], -p[0].started_s))
    chosen: list[tuple[RunningReplica, str]] = []
    for pair in allowed:
        if free >= claim.gpu_milli:
            break
        chosen.append(pair)
        free += pair[0].gpu_milli
    return chosen if free >= claim.gpu_milli else []


def choose_victims(
    claim: Claim,
    running: Sequence[RunningReplica],
    quotas: Sequence[Quota],
    *,
    free_milli_by_node: Mapping[str, int],
    priorities: Mapping[PriorityClass, int] = PRIORITY_VALUES,
) -> Preemption | None:
    """Pick the least disruptive set of replicas on one node to free ``claim.gpu_milli``.

    Args:
        claim: the replica that wants to run.
        running: replicas holding GPUs now (with their nodes).
        quotas: all teams' quotas.
        free_milli_by_node: free milli-GPU of the claim's model on each candidate node.
        priorities: numeric value of each priority class.

    Returns:
        A ``Preemption`` on one node, or None when some node has room already or no
        allowed set of victims suffices.
    """
    if any(free >= claim.gpu_milli for free in free_milli_by_node.values()):
        return None  # some node has room already: preempting would only disrupt
    reclaiming = _within_guarantee(claim, quotas, running)
    best: tuple[tuple[float, ...], Preemption] | None = None
    for node, free in free_milli_by_node.items():
        chosen = _victims_on_node(claim, running, node, free, reclaiming, priorities)
        if not chosen:
            continue
        rank = (
            float(len(chosen)),
            float(max(priorities[r.priority] for r, _ in chosen)),
            -max(r.started_s for r, _ in chosen),
        )
        if best is None or rank < best[0]:
            victims = tuple(r for r, _ in chosen)
            best = (rank, Preemption(node, victims, tuple(why for _, why in chosen)))
    return best[1] if best else None


__all__ = ["Preemption", "choose_victims", "victim_reason"]
