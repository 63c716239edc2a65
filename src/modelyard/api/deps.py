"""Request-scoped dependencies: the control-plane context and the calling principal.

Authentication leaves what it learned on ``request.state`` (``principal``, or
``auth_actor``/``auth_team``/``auth_reason`` on failure) for the audit trail; the
response never says more than "invalid, expired or revoked".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from modelyard.backends.base import Backend
from modelyard.controllers.metering import StoreUsageSink
from modelyard.controllers.revision_stats import RevisionStatsBook
from modelyard.controllers.rollout_steps import Hold
from modelyard.controllers.routing import RouteFeed
from modelyard.domain.clock import Clock
from modelyard.domain.costs import Prices
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.tenancy import Principal, key_state, matches, prefix_of
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
    prices: Prices = field(default_factory=Prices)
    usage_sink: StoreUsageSink | None = None
    external_health: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def changed(self) -> None:
        """Wake the controllers after a write."""
        if callable(self.wake):
            self.wake()


def get_cp(request: Request) -> ControlPlane:
    """The control-plane context of this app."""
    cp: ControlPlane = request.app.state.cp
    return cp


#: ``last_used_at`` is written at most this often per key (a write per request is waste).
TOUCH_EVERY = timedelta(seconds=30)


def _refuse(request: Request, actor: str, team: str, reason: str) -> ModelyardError:
    request.state.auth_actor, request.state.auth_team = actor, team
    request.state.auth_reason = reason
    message = "missing bearer API key" if reason == "missing" else \
        "invalid, expired or revoked API key"
    return ModelyardError(ErrorCode.UNAUTHENTICATED, message)


async def get_principal(request: Request) -> Principal:
    """Authenticate ``Authorization: Bearer`` against the store (401 on failure)."""
    cp = get_cp(request)
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise _refuse(request, "anonymous", "", "missing")
    prefix = prefix_of(token)
    if prefix is None:
        raise _refuse(request, "anonymous", "", "malformed key")
    now = cp.clock.now()
    async with cp.store.uow() as uow:
        key = await uow.keys.by_prefix(prefix)
        if key is None:
            raise _refuse(request, f"key:{prefix}", "", "unknown key")
        if not matches(token, key.key_hash):
            raise _refuse(request, key.name, key.team, "wrong secret")
        state = key_state(key, now)
        if state != "active":
            raise _refuse(request, key.name, key.team, state)
        if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
            await uow.keys.touch(key.id, now)
    principal = Principal.from_key(key)
    request.state.principal = principal
    return principal


CP = Annotated[ControlPlane, Depends(get_cp)]
Caller = Annotated[Principal, Depends(get_principal)]
