"""Request-scoped dependencies: the control-plane context and the calling principal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from modelyard.backends.base import Backend
from modelyard.controllers.revision_stats import RevisionStatsBook
from modelyard.controllers.rollout_steps import Hold
from modelyard.controllers.routing import RouteFeed
from modelyard.domain.clock import Clock
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.tenancy import Principal, is_usable, matches, prefix_of
from modelyard.gateway.auth import bearer_token
from modelyard.registry.artifacts import ArtifactStore, UploadArea
from modelyard.registry.service import RegistryService
from modelyard.store.unit_of_work import Store


@dataclass
class ControlPlane:
    """Everything the REST handlers use, built once by the composition root."""

    store: Store
    registry: RegistryService
    artifacts: ArtifactStore
    uploads: UploadArea
    backend: Backend
    feed: RouteFeed
    clock: Clock
    wake: object
    check_engine: Callable[[str], None]
    max_upload_bytes: int
    route_watch_timeout_s: float
    stats: RevisionStatsBook | None = None
    rollout_holds: dict[str, Hold] = field(default_factory=dict)

    def changed(self) -> None:
        """Wake the controllers after a write."""
        if callable(self.wake):
            self.wake()


def get_cp(request: Request) -> ControlPlane:
    """The control-plane context of this app."""
    cp: ControlPlane = request.app.state.cp
    return cp


async def get_principal(request: Request) -> Principal:
    """Authenticate ``Authorization: Bearer`` against the store (401 on failure)."""
    cp = get_cp(request)
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise ModelyardError(ErrorCode.UNAUTHENTICATED, "missing bearer API key")
    prefix = prefix_of(token)
    async with cp.store.uow() as uow:
        key = await uow.keys.by_prefix(prefix) if prefix else None
        if key is None or not matches(token, key.key_hash) or not is_usable(key, cp.clock.now()):
            raise ModelyardError(ErrorCode.UNAUTHENTICATED, "invalid, expired or revoked API key")
    return Principal(key.id, key.name, key.team, key.role)


CP = Annotated[ControlPlane, Depends(get_cp)]
Caller = Annotated[Principal, Depends(get_principal)]
