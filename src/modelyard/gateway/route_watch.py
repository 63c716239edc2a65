"""RouteSource: where a gateway gets its RouteTable; HttpRouteWatcher long-polls a server.

The watcher keeps the last good table when the control plane is unreachable, so a
gateway keeps serving through a control-plane restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from typing import Protocol

import httpx

from modelyard.domain.routes import RouteTable
from modelyard.observability.metrics import ROUTE_TABLE_VERSION

logger = logging.getLogger(__name__)


def tls_verify(ca_file: str | None) -> ssl.SSLContext | bool:
    """Certificate verification for httpx: the CA bundle ``ca_file``, else the system's."""
    return ssl.create_default_context(cafile=ca_file) if ca_file else True


class RouteSource(Protocol):
    """Anything that holds the current route table."""

    def current(self) -> RouteTable:
        """Return the latest known table."""
        ...


class HttpRouteWatcher:
    """Follows ``GET {server}/api/v1/routes?after=V`` (a long poll)."""

    def __init__(self, server_url: str, api_key: str, *, poll_timeout_s: float = 30.0,
                 error_backoff_s: float = 1.0, verify: ssl.SSLContext | bool = True) -> None:
        self.server_url = server_url.rstrip("/")
        self.poll_timeout_s = poll_timeout_s
        self.error_backoff_s = error_backoff_s
        self._client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(poll_timeout_s + 10, connect=2.0), verify=verify,
            trust_env=False,
        )
        self._table = RouteTable(version=0)
        self._task: asyncio.Task[None] | None = None
        self.synced = asyncio.Event()

    def current(self) -> RouteTable:
        """Return the last table received."""
        return self._table

    async def poll_once(self) -> None:
        """Wait for (at most one poll timeout) and take a newer table."""
        resp = await self._client.get(
            f"{self.server_url}/api/v1/routes",
            params={"after": self._table.version, "timeout_s": self.poll_timeout_s},
        )
        resp.raise_for_status()
        table = RouteTable.from_json(resp.json())
        if table.version >= self._table.version:
            self._table = table
            ROUTE_TABLE_VERSION.labels("gateway").set(table.version)
        self.synced.set()

    async def run(self) -> None:
        """Poll until cancelled; back off and keep the last table on errors."""
        while True:
            try:
                await self.poll_once()
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                logger.warning("route poll failed; serving the last table",
                               extra={"error": type(exc).__name__, "version": self._table.version})
                await asyncio.sleep(self.error_backoff_s)

    def start(self) -> None:
        """Start polling as an owned task."""
        self._task = asyncio.create_task(self.run(), name="route-watch")

    async def stop(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()
