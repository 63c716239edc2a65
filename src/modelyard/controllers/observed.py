"""ObservedState: one snapshot of the backend per manager tick, shared by controllers."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from modelyard.backends.base import Backend, Observed


class ObservedState:
    """Caches ``backend.observe()`` for one tick so every controller sees the same view."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._by_id: Mapping[str, Observed] = MappingProxyType({})

    async def refresh(self) -> None:
        """Take a new snapshot."""
        self._by_id = MappingProxyType({o.replica_id: o for o in await self.backend.observe()})

    def get(self, replica_id: str) -> Observed | None:
        """Return the process of ``replica_id`` in the snapshot, if any."""
        return self._by_id.get(replica_id)

    def all(self) -> Mapping[str, Observed]:
        """Every process in the snapshot."""
        return self._by_id
