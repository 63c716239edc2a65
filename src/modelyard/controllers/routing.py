"""Routing controller and RouteFeed: publish a new RouteTable when routes or keys change.

The feed keeps the latest table and wakes long-polling watchers (the in-process gateway
and the ``/api/v1/routes`` watch endpoint). Versions are strictly increasing across
restarts: each is at least the wall clock in milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from modelyard.controllers.base import Result
from modelyard.domain.clock import Clock
from modelyard.domain.replicas import ReplicaState
from modelyard.domain.rollouts import traffic_plan
from modelyard.domain.routes import Endpoint, KeyEntry, RouteEntry, RouteTable
from modelyard.domain.tenancy import is_usable
from modelyard.observability.metrics import ROUTE_TABLE_VERSION
from modelyard.store.unit_of_work import Store, UnitOfWork


class RouteFeed:
    """The latest RouteTable and a way to wait for a newer one."""

    def __init__(self) -> None:
        self._table = RouteTable(version=0)
        self._changed = asyncio.Condition()

    def current(self) -> RouteTable:
        """The latest table."""
        return self._table

    async def publish(self, table: RouteTable) -> None:
        """Replace the table and wake every waiter."""
        async with self._changed:
            self._table = table
            self._changed.notify_all()
        ROUTE_TABLE_VERSION.labels("server").set(table.version)

    async def wait_newer(self, version: int, timeout_s: float) -> RouteTable:
        """Return a table newer than ``version``, or the current one after ``timeout_s``."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self._table.version > version), timeout_s)
            return self._table


async def build_route_table(uow: UnitOfWork, version: int, clock: Clock,
                            external_health: Mapping[str, frozenset[str]] | None = None) -> RouteTable:
    """Read deployments, Ready replicas, rollout splits and usable keys into a table.

    External deployments join with their healthy endpoints (``external_health``).
    """
    routes: dict[str, RouteEntry] = {}
    replicas = await uow.replicas.all()
    rollouts = await uow.rollouts.latest_by_deployment()
    for dep in await uow.deployments.all():
        if dep.deleting:
            continue
        revision = await uow.deployments.revision(dep.name, dep.current_revision)
        if revision is None:
            continue
        endpoints = tuple(
            Endpoint(r.id, r.url, r.revision) for r in replicas
            if r.deployment == dep.name and r.state == ReplicaState.READY and r.url
        )
        plan = traffic_plan(rollouts.get(dep.name))
        routes[dep.name] = RouteEntry(
            dep.name, dep.team, str(dep.environment), revision.spec.model,
            revision.spec.framework, endpoints, weights=plan.weights,
            shadow_revision=plan.shadow[0] if plan.shadow else None,
            shadow_percent=plan.shadow[1] if plan.shadow else 0)
    for ext in await uow.external.all():
        if ext.name in routes:
            continue
        healthy = (external_health or {}).get(ext.name, frozenset())
        eps = tuple(Endpoint(ext.endpoint_id(i), url, 1) for i, url in enumerate(ext.urls)
                    if url in healthy)
        routes[ext.name] = RouteEntry(ext.name, ext.team, ext.environment, ext.name, "external",
                                      eps, upstream_key_env=ext.upstream_key_env,
                                      connect_timeout_s=ext.connect_timeout_s,
                                      read_timeout_s=ext.read_timeout_s)
    now = clock.now()
    keys = {
        k.prefix: KeyEntry(k.id, k.prefix, k.key_hash, k.name, k.team, k.role, k.expires_at,
                           k.scopes, k.deployments)
        for k in await uow.keys.all() if is_usable(k, now)
    }
    return RouteTable(version, MappingProxyType(routes), MappingProxyType(keys))


class RoutingController:
    """Publishes the route table when its content changes."""

    name = "routing"

    def __init__(self, store: Store, feed: RouteFeed, clock: Clock,
                 external_health: Mapping[str, frozenset[str]] | None = None) -> None:
        self.store = store
        self.feed = feed
        self.clock = clock
        self.external_health = external_health

    async def keys(self) -> Sequence[str]:
        """One key: the whole table."""
        return ["table"]

    async def reconcile(self, key: str) -> Result:
        """Rebuild the table and publish it if anything changed."""
        current = self.feed.current()
        version = max(current.version + 1, int(self.clock.now().timestamp() * 1000))
        async with self.store.uow() as uow:
            table = await build_route_table(uow, version, self.clock, self.external_health)
        if current.version == 0 or not table.same_content(current):
            await self.feed.publish(table)
        return Result.done()
