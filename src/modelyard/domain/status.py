"""Pure status aggregation: a deployment's status from its replicas."""

from __future__ import annotations

from collections.abc import Sequence

from modelyard.domain.deployments import Deployment
from modelyard.domain.replicas import Replica, ReplicaState


def deployment_status(d: Deployment, replicas: Sequence[Replica]) -> str:
    """Return ``deleting``, ``ready``, ``degraded``, ``crash_loop``, ``progressing`` or ``scaled_to_zero``."""
    if d.deleting:
        return "deleting"
    current = [r for r in replicas if r.revision == d.current_revision]
    ready = sum(r.state == ReplicaState.READY for r in current)
    if d.desired_replicas == 0:
        return "scaled_to_zero"
    if ready >= d.desired_replicas:
        return "ready"
    if any(r.state == ReplicaState.CRASH_LOOP for r in current):
        return "crash_loop"
    return "degraded" if ready > 0 else "progressing"
