"""Forward a request to a replica: balance, retry before the first byte, eject failing replicas.

Only failures before the first response byte are retried (a refused connection, or a
kept-alive connection to a replica that died), on another replica, at most
``max_connect_retries`` times and within the deployment's retry budget; timeouts are
never retried, since the replica may still be working on the request. Every failure
(and every 5xx answer) counts towards the replica's passive ejection. Streamed answers
(server-sent events) pass through chunk by chunk; others are read whole.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.routes import Endpoint, RouteEntry
from modelyard.gateway.balancer import choose_affine, choose_p2c
from modelyard.gateway.resilience import HealthBook, RetryBudget
from modelyard.gateway.upstream import ConnectFailed, Pool, UpstreamBroken, UpstreamTimeout

logger = logging.getLogger(__name__)

HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer",
                        b"upgrade", b"proxy-authorization", b"proxy-authenticate",
                        b"content-length", b"host", b"authorization", b"expect"})


class Upstream(NamedTuple):  # made on every request: a tuple is cheaper than a dataclass
    """A response from a replica: status, headers and either a body or a stream."""

    status: int
    headers: Sequence[tuple[bytes, bytes]]
    body: bytes | None
    stream: AsyncGenerator[bytes, None] | None
    replica_id: str


@dataclass
class ProxyPolicy:
    """How the proxy retries and ejects."""

    max_connect_retries: int = 2
    retry_after_s: int = 1
    budget_ratio: float = 0.2
    budget_window_s: float = 10.0
    eject_after: int = 5
    eject_s: float = 10.0
    affinity_slack: int = 8
    seed: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


class Proxy:
    """Sends requests to replicas with least-outstanding (p2c) balancing."""

    def __init__(self, pool: Pool, policy: ProxyPolicy, *,
                 on_retry: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.pool = pool
        self.policy = policy
        self.outstanding: dict[str, int] = {}
        self.health = HealthBook(policy.eject_after, policy.eject_s)
        self.budgets: dict[str, RetryBudget] = {}
        self.rng = random.Random(policy.seed)
        self._on_retry = on_retry
        self._clock = clock

    def _pick(self, route: RouteEntry, tried: set[str], affinity: int | None) -> Endpoint:
        eps = route.endpoints
        ejected = self.health.ejected(self._clock())
        exclude = tried | ejected if ejected else tried
        if affinity is not None:
            ep = choose_affine(eps, self.outstanding, exclude, affinity,
                               slack=self.policy.affinity_slack)
        else:
            ep = choose_p2c(eps, self.outstanding, exclude, self.rng)
        if ep is None and ejected and not tried:
            ep = choose_p2c(eps, self.outstanding, tried, self.rng)  # all ejected: try anyway
        if ep is None:
            raise ModelyardError(
                ErrorCode.NO_READY_REPLICA,
                f"no replica of {route.deployment!r} is ready" if not tried else
                f"no replica of {route.deployment!r} accepted the connection",
                retry_after_s=self.policy.retry_after_s)
        return ep

    def _budget(self, deployment: str) -> RetryBudget:
        budget = self.budgets.get(deployment)
        if budget is None:
            budget = RetryBudget(self.policy.budget_ratio, self.policy.budget_window_s)
            self.budgets[deployment] = budget
        return budget

    async def forward(self, route: RouteEntry, method: str, path: str, body: bytes,
                      headers: list[tuple[bytes, bytes]], *, affinity: int | None = None) -> Upstream:
        """Send the request to a replica of ``route`` and return its response.

        ``headers`` are sent as given: the caller drops hop-by-hop headers.
        """
        tried: set[str] = set()
        budget = self._budget(route.deployment)
        budget.request(self._clock())
        bmethod, bpath = method.encode(), path.encode()
        while True:
            ep = self._pick(route, tried, affinity)
            rid = ep.replica_id
            self.outstanding[rid] = self.outstanding.get(rid, 0) + 1
            try:
                resp = await self.pool.request(ep.url, bmethod, bpath, headers, body,
                                               read_timeout_s=route.read_timeout_s or None,
                                               connect_timeout_s=route.connect_timeout_s or None)
            except ConnectFailed:
                self._failed(rid)
                tried.add(rid)
                if len(tried) > self.policy.max_connect_retries:
                    raise ModelyardError(ErrorCode.UPSTREAM_ERROR, "could not connect to any replica",
                                         retry_after_s=self.policy.retry_after_s) from None
                if not budget.try_retry(self._clock()):
                    raise ModelyardError(ErrorCode.UPSTREAM_ERROR,
                                         "replica unreachable and the retry budget is spent",
                                         retry_after_s=self.policy.retry_after_s) from None
                if self._on_retry:
                    self._on_retry(route.deployment)
                logger.info("replica unreachable; trying another replica",
                            extra={"deployment": route.deployment, "replica_id": rid})
                continue
            except UpstreamTimeout:
                self._failed(rid)
                raise ModelyardError(ErrorCode.UPSTREAM_TIMEOUT) from None
            except UpstreamBroken as exc:
                self._failed(rid)
                raise ModelyardError(ErrorCode.UPSTREAM_ERROR, f"replica failed: {exc}") from None
            except BaseException:
                self._release(rid)
                raise
            out_headers = [(k, v) for k, v in resp.headers if k.lower() not in HOP_BY_HOP]
            if resp.stream is not None:
                return Upstream(resp.status, out_headers, None, self._relay(resp.stream, rid), rid)
            self._done(rid, resp.status)
            return Upstream(resp.status, out_headers, resp.body, None, rid)

    def _failed(self, rid: str) -> None:
        self._release(rid)
        if self.health.failed(rid, self._clock()):
            logger.warning("replica ejected after repeated failures",
                           extra={"replica_id": rid, "eject_s": self.health.eject_s})

    def _done(self, rid: str, status: int) -> None:
        if status >= 500:
            self._failed(rid)
        else:
            self._release(rid)
            self.health.succeeded(rid)

    def _release(self, replica_id: str) -> None:
        left = self.outstanding.get(replica_id, 1) - 1
        if left <= 0:
            self.outstanding.pop(replica_id, None)
        else:
            self.outstanding[replica_id] = left

    async def _relay(self, stream: AsyncIterator[bytes], rid: str) -> AsyncGenerator[bytes, None]:
        ok = False
        try:
            async for chunk in stream:
                yield chunk
            ok = True
        except (UpstreamBroken, UpstreamTimeout) as exc:
            raise ModelyardError(ErrorCode.UPSTREAM_ERROR, f"stream failed: {exc}") from None
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
            if ok:
                self._done(rid, 200)
            else:
                self._release(rid)
