"""Forward a request to a replica; retry another replica on a connect failure.

Only failures before the first response byte are retried (a refused connection, or a
kept-alive connection to a replica that died), at most ``max_connect_retries`` times;
timeouts are never retried, since the replica may still be working on the request.
Responses stream through chunk by chunk when the replica streams (server-sent events);
others are read whole and returned.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import httpx

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.routes import Endpoint, RouteEntry
from modelyard.gateway.balancer import choose_endpoint

logger = logging.getLogger(__name__)

HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer",
                        "upgrade", "proxy-authorization", "proxy-authenticate", "content-length",
                        "host", "authorization"})


@dataclass(frozen=True)
class Upstream:
    """A response from a replica: status, headers and either a body or a stream."""

    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes | None
    stream: AsyncIterator[bytes] | None
    replica_id: str


class Proxy:
    """Sends requests to replicas with least-outstanding balancing."""

    def __init__(self, client: httpx.AsyncClient, *, max_connect_retries: int,
                 retry_after_s: int, on_retry: Callable[[str], None] | None = None) -> None:
        self.client = client
        self.max_connect_retries = max_connect_retries
        self.retry_after_s = retry_after_s
        self.outstanding: dict[str, int] = {}
        self._turn = 0
        self._on_retry = on_retry

    def _pick(self, route: RouteEntry, tried: set[str]) -> Endpoint:
        self._turn += 1
        ep = choose_endpoint(route.endpoints, self.outstanding, tried, self._turn)
        if ep is None:
            raise ModelyardError(
                ErrorCode.NO_READY_REPLICA,
                f"no replica of {route.deployment!r} is ready" if not tried else
                f"no replica of {route.deployment!r} accepted the connection",
                retry_after_s=self.retry_after_s)
        return ep

    async def forward(self, route: RouteEntry, method: str, path: str, body: bytes,
                      headers: Sequence[tuple[str, str]]) -> Upstream:
        """Send the request to a replica of ``route`` and return its response."""
        tried: set[str] = set()
        fwd = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        while True:
            ep = self._pick(route, tried)
            self.outstanding[ep.replica_id] = self.outstanding.get(ep.replica_id, 0) + 1
            try:
                return await self._send(ep, method, path, body, fwd)
            except httpx.TimeoutException:
                self._release(ep.replica_id)
                raise ModelyardError(ErrorCode.UPSTREAM_TIMEOUT) from None
            except (httpx.ConnectError, httpx.ReadError, httpx.WriteError,
                    httpx.RemoteProtocolError):
                # No response byte arrived: a refused connection, or a kept-alive connection
                # to a replica that died. Another replica may take the request.
                self._release(ep.replica_id)
                tried.add(ep.replica_id)
                if len(tried) > self.max_connect_retries:
                    raise ModelyardError(ErrorCode.UPSTREAM_ERROR,
                                         "could not connect to any replica",
                                         retry_after_s=self.retry_after_s) from None
                if self._on_retry:
                    self._on_retry(route.deployment)
                logger.info("replica unreachable; trying another replica",
                            extra={"deployment": route.deployment, "replica_id": ep.replica_id})
            except httpx.HTTPError as exc:
                self._release(ep.replica_id)
                raise ModelyardError(ErrorCode.UPSTREAM_ERROR,
                                     f"replica failed: {type(exc).__name__}") from None

    def _release(self, replica_id: str) -> None:
        left = self.outstanding.get(replica_id, 1) - 1
        if left <= 0:
            self.outstanding.pop(replica_id, None)
        else:
            self.outstanding[replica_id] = left

    async def _send(self, ep: Endpoint, method: str, path: str, body: bytes,
                    headers: list[tuple[str, str]]) -> Upstream:
        req = self.client.build_request(method, ep.url + path, content=body, headers=headers)
        resp = await self.client.send(req, stream=True)
        out_headers = [(k, v) for k, v in resp.headers.multi_items() if k.lower() not in HOP_BY_HOP]
        if resp.headers.get("content-type", "").startswith("text/event-stream"):
            return Upstream(resp.status_code, out_headers, None, self._relay(resp, ep.replica_id),
                            ep.replica_id)
        try:
            data = await resp.aread()
        finally:
            await resp.aclose()
            self._release(ep.replica_id)
        return Upstream(resp.status_code, out_headers, data, None, ep.replica_id)

    async def _relay(self, resp: httpx.Response, replica_id: str) -> AsyncIterator[bytes]:
        try:
            async for chunk in resp.aiter_raw():
                yield chunk
        finally:
            await resp.aclose()
            self._release(replica_id)
