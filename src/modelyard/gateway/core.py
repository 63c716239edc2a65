"""The gateway's request path on bare ASGI messages: ``Gateway`` and its state.

Order of a request: header limits → request id → authenticate (cached per route-table version) →
body (size limit) → resolve → rate limits → admission → revision → replica → relay →
record. It reads only its RouteSource: it never waits on the control plane.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from modelyard.config import GatewaySettings, upstream_key
from modelyard.domain.clock import Clock
from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.domain.routes import RouteEntry
from modelyard.domain.tenancy import Principal, Role, prefix_of
from modelyard.domain.usage import UsageRecord
from modelyard.gateway.access_log import AccessLog
from modelyard.gateway.admission import priority_of
from modelyard.gateway.admission_gate import AdmissionGate
from modelyard.gateway.auth import authenticate
from modelyard.gateway.balancer import prefix_hash
from modelyard.gateway.limiter import LimiterStore
from modelyard.gateway.metering import Meter
from modelyard.gateway.proxy import HOP_BY_HOP, Proxy, ProxyPolicy, Upstream
from modelyard.gateway.rate_limits import Limits, RateLimiter
from modelyard.gateway.route_watch import RouteSource
from modelyard.gateway.split import PIN_HEADER
from modelyard.gateway.stats import StatsRecorder
from modelyard.gateway.stream_tokens import StreamCounter
from modelyard.gateway.tokens import usage_of
from modelyard.gateway.traffic import Traffic
from modelyard.gateway.upstream import Pool
from modelyard.observability.metrics import (
    GATEWAY_ERRORS,
    GATEWAY_FIRST_BYTE,
    GATEWAY_LATENCY,
    GATEWAY_REQUESTS,
    GATEWAY_RETRIES,
    GATEWAY_ROUTE_LATENCY,
    GATEWAY_ROUTE_REQUESTS,
    GATEWAY_TOKENS,
)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_JSON = (b"content-type", b"application/json")
_PIN = PIN_HEADER.encode()
_MAX_REQUEST_ID = 128
_AUTH_CACHE_MAX = 10_000


def clean_request_id(value: bytes | None) -> bytes:
    """The caller's ``X-Request-Id`` when sane (ASCII, no spaces, ≤ 128 bytes), else a new one."""
    if value and len(value) <= _MAX_REQUEST_ID and value.isascii() and b" " not in value:
        return value
    return os.urandom(16).hex().encode()


class Call:
    """What the gateway knows about one request while it runs (for the log and metrics)."""

    __slots__ = ("route_name", "deployment", "revision", "status", "code", "team", "key_id",
                 "queue_s", "tokens_in", "tokens_out", "request_id", "replica_id", "model",
                 "caller_team")

    def __init__(self, route_name: str, request_id: bytes) -> None:
        self.route_name = route_name
        self.request_id = request_id
        self.deployment = ""
        self.revision = ""
        self.status = 0
        self.code = ""
        self.team = ""
        self.key_id = ""
        self.queue_s = 0.0
        self.tokens_in = 0
        self.tokens_out = 0
        self.replica_id = ""
        self.model = ""
        self.caller_team = ""


class Gateway:
    """State of one gateway: its route source, upstream pool, limits and queues."""

    def __init__(self, source: RouteSource, settings: GatewaySettings, clock: Clock,
                 recorder: StatsRecorder | None = None, *,
                 limiter_store: LimiterStore | None = None) -> None:
        self.source = source
        self.settings = settings
        self.clock = clock
        self.pool = Pool(connect_timeout_s=settings.connect_timeout_s,
                         read_timeout_s=settings.read_timeout_s)
        self.proxy = Proxy(self.pool, ProxyPolicy(
            max_connect_retries=settings.max_connect_retries, retry_after_s=settings.retry_after_s,
            budget_ratio=settings.retry_budget_ratio, budget_window_s=settings.retry_budget_window_s,
            eject_after=settings.eject_after_failures, eject_s=settings.eject_s,
            affinity_slack=settings.prefix_slack), on_retry=lambda d: GATEWAY_RETRIES.labels(d).inc())
        self.traffic = Traffic(recorder or StatsRecorder())
        self.admission = AdmissionGate(per_replica=settings.max_concurrency_per_replica,
                                       max_queue=settings.max_queue,
                                       max_wait_s=settings.max_queue_wait_s)
        limits = Limits(settings.key_requests_per_minute, settings.key_tokens_per_minute,
                        settings.team_requests_per_minute, settings.team_tokens_per_minute)
        self.limiter = RateLimiter(limiter_store, limits) if limiter_store and limits.any else None
        self.log = AccessLog(enabled=settings.access_log)
        self._auth_version = -1
        self._auth_cache: dict[bytes, tuple[Principal, float]] = {}
        self._upstream_auth: dict[str, bytes | None] = {}
        self._in_flight = 0
        self._metric_children: dict[tuple[str, ...], Any] = {}
        self.meter = Meter(source, clock)  # usage records; the platform sets its sink

    # ---- authentication (cached per route-table version) -------------------------------
    def principal(self, header: bytes | None) -> Principal:
        """Authenticate the request's key against the current table."""
        table = self.source.current()
        if table.version != self._auth_version:
            self._auth_cache.clear()
            self._auth_version = table.version
        if header is not None:
            hit = self._auth_cache.get(header)
            if hit is not None and hit[1] > time.time():
                return hit[0]
        principal = authenticate(header.decode("latin-1") if header else None, table,
                                 self.clock.now())
        if header is not None:
            entry = table.keys.get(principal_prefix(header))
            expires = entry.expires_at.timestamp() if entry and entry.expires_at else float("inf")
            if len(self._auth_cache) >= _AUTH_CACHE_MAX:
                self._auth_cache.clear()
            self._auth_cache[header] = (principal, expires)
        return principal

    def upstream_auth(self, route: RouteEntry) -> bytes | None:
        """``Bearer <key>`` for an external endpoint whose key is in the environment."""
        var = route.upstream_key_env
        if not var:
            return None
        if var not in self._upstream_auth:
            key = upstream_key(var)
            self._upstream_auth[var] = f"Bearer {key}".encode() if key else None
        return self._upstream_auth[var]

    # ---- the request path ---------------------------------------------------------------
    async def read_body(self, receive: Receive, declared: bytes | None) -> bytes:
        """Read the body, refusing more than the configured limit (413)."""
        limit = self.settings.max_body_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ModelyardError(ErrorCode.PAYLOAD_TOO_LARGE, f"body over {limit} bytes")
        message = await receive()
        body: bytes = message.get("body", b"")
        if not message.get("more_body"):
            return body
        chunks, size = [body], len(body)
        while message.get("more_body"):
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise ModelyardError(ErrorCode.PAYLOAD_TOO_LARGE, f"body over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def forward(self, call: Call, scope: Scope, receive: Receive, send: Send, *,
                      route: RouteEntry, principal: Principal, body: bytes,
                      hdrs: dict[bytes, bytes], llm: dict[str, Any] | None) -> None:
        """Limits, admission, revision, replica; then relay the answer and record it."""
        call.deployment, call.team, call.key_id = route.deployment, route.team, principal.key_id
        call.model, call.caller_team = route.model, principal.team
        extra: list[tuple[bytes, bytes]] = []
        if self.limiter is not None:
            extra = await self.limiter.check(principal, llm=llm is not None)
        replicas = len(route.endpoints)
        priority = priority_of(route.environment,
                               (hdrs.get(b"x-modelyard-priority") or b"").decode("latin-1"),
                               may_raise=principal.role in (Role.ADMIN, Role.TEAM_ADMIN))
        if replicas:
            call.queue_s = await self.admission.enter(route.deployment, replicas, priority)
        started = time.perf_counter()
        try:
            await self._send_upstream(call, scope, receive, send, route=route, principal=principal,
                                      body=body, hdrs=hdrs, llm=llm, extra=extra)
        finally:
            if replicas:
                self.admission.leave(route.deployment, replicas, time.perf_counter() - started)

    def _upstream_headers(self, call: Call, route: RouteEntry,
                          scope: Scope) -> list[tuple[bytes, bytes]]:
        out = [(k, v) for k, v in scope["headers"] if k not in HOP_BY_HOP and k != b"x-request-id"]
        out.append((b"x-request-id", call.request_id))
        auth = self.upstream_auth(route)
        if auth is not None:
            out.append((b"authorization", auth))
        return out

    async def _send_upstream(self, call: Call, scope: Scope, receive: Receive, send: Send, *,
                             route: RouteEntry, principal: Principal, body: bytes,
                             hdrs: dict[bytes, bytes], llm: dict[str, Any] | None,
                             extra: list[tuple[bytes, bytes]]) -> None:
        pin = hdrs.get(_PIN)
        target, revision = self.traffic.target(route, pin.decode("latin-1") if pin else None)
        affinity = None
        if llm is not None and self.settings.balancer == "prefix":
            prompt = llm.get("prompt") or orjson.dumps(llm.get("messages", "")).decode()
            affinity = prefix_hash(str(prompt), self.settings.prefix_chars)
        method, path = scope["method"], scope["raw_path"].decode("latin-1").split("?", 1)[0]
        started = time.perf_counter()
        up_headers = self._upstream_headers(call, route, scope)
        try:
            up = await self.proxy.forward(target, method, path, body, up_headers, affinity=affinity)
        except ModelyardError as err:
            self.traffic.record(route, revision, None, time.perf_counter() - started, err.status)
            raise
        call.replica_id = up.replica_id
        served = revision if revision is not None else next(
            (e.revision for e in route.endpoints if e.replica_id == up.replica_id), None)
        call.revision = str(served) if served is not None else ""
        self._observe(GATEWAY_FIRST_BYTE, call, time.perf_counter() - started)
        headers = [*up.headers, *extra, (b"x-request-id", call.request_id)]
        if served is not None:
            headers.append((_PIN, str(served).encode()))
        call.status = up.status
        try:
            if up.stream is not None:
                await self._relay(call, up, headers, receive, send)
            else:
                assert up.body is not None
                headers.append((b"content-length", str(len(up.body)).encode()))
                await send({"type": "http.response.start", "status": up.status, "headers": headers})
                await send({"type": "http.response.body", "body": up.body})
                call.tokens_in, call.tokens_out = usage_of(up.body)
                if llm is None:
                    sampler = self.meter.sampler
                    if sampler is not None and up.status == 200 and body:
                        sampler.offer(route.deployment, served, body, up.body)
                if up.status == 200 and pin is None and route.shadow_revision is not None:
                    self.traffic.shadow(self.proxy, route, (method, path, body), up_headers, up.body)
        finally:
            self.traffic.record(route, revision, up.replica_id, time.perf_counter() - started,
                                call.status)
            if llm is not None and self.limiter is not None:
                await self.limiter.charge(principal, call.tokens_in + call.tokens_out)

    async def _relay(self, call: Call, up: Upstream, headers: list[tuple[bytes, bytes]],
                     receive: Receive, send: Send) -> None:
        """Stream chunk by chunk; a client that goes away cancels the upstream request."""
        assert up.stream is not None
        stream = up.stream
        tally = StreamCounter()  # exact: the final usage chunk, else one token per chunk
        await send({"type": "http.response.start", "status": up.status, "headers": headers})

        async def pump() -> None:
            async for chunk in stream:
                tally.feed(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})

        pumping = asyncio.ensure_future(pump())
        watching = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            done, _ = await asyncio.wait({pumping, watching}, return_when=asyncio.FIRST_COMPLETED)
            if pumping not in done:  # the client went away
                call.status = 499
                pumping.cancel()
            with contextlib.suppress(asyncio.CancelledError, ModelyardError):
                await pumping
        finally:
            for task in (pumping, watching):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
            await stream.aclose()
            call.tokens_in, call.tokens_out = tally.totals()

    def _observe(self, metric: Any, call: Call, value: float) -> None:
        key = (metric._name, call.route_name, call.deployment, call.revision)
        child = self._metric_children.get(key)
        if child is None:
            child = self._metric_children[key] = metric.labels(call.route_name, call.deployment,
                                                               call.revision)
        child.observe(value)

    def finish(self, call: Call, latency_s: float) -> None:
        """Count the request in the metrics and write its access-log line."""
        dep, status = call.deployment, str(call.status)
        key: tuple[str, ...] = ("req", call.route_name, dep, call.revision, status)
        child = self._metric_children.get(key)
        if child is None:
            child = self._metric_children[key] = GATEWAY_ROUTE_REQUESTS.labels(
                call.route_name, dep, call.revision, status)
        child.inc()
        self._observe(GATEWAY_ROUTE_LATENCY, call, latency_s)
        if dep:
            key = ("dep", dep, status)
            child = self._metric_children.get(key)
            if child is None:
                child = self._metric_children[key] = (GATEWAY_REQUESTS.labels(dep, status),
                                                      GATEWAY_LATENCY.labels(dep))
            child[0].inc()
            child[1].observe(latency_s)
            if call.code:
                GATEWAY_ERRORS.labels(dep, call.code).inc()
            if call.tokens_in or call.tokens_out:
                key = ("tok", dep, call.revision)
                child = self._metric_children.get(key)
                if child is None:
                    child = self._metric_children[key] = (
                        GATEWAY_TOKENS.labels(dep, call.revision, "in"),
                        GATEWAY_TOKENS.labels(dep, call.revision, "out"))
                child[0].inc(call.tokens_in)
                child[1].inc(call.tokens_out)
        self.log.write(call, latency_s)
        if dep:
            self.meter.emit(UsageRecord(
                self.clock.now(), call.caller_team or call.team, call.key_id, dep,
                int(call.revision) if call.revision else None, call.model, call.status,
                latency_s, call.tokens_in, call.tokens_out,
                request_id=call.request_id.decode("latin-1")[:64]))

    async def aclose(self) -> None:
        """Cancel shadow copies, close upstream connections and flush the log."""
        await self.traffic.aclose()
        self.pool.close()
        if self.limiter is not None:
            await self.limiter.store.aclose()
        self.log.flush()


def principal_prefix(header: bytes) -> str:
    """The key prefix inside an ``Authorization`` header (for the expiry lookup)."""
    token = header.decode("latin-1").partition(" ")[2].strip()
    return prefix_of(token) or ""


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def send_json(send: Send, status: int, body: object,
                    headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Send a whole JSON response."""
    data = orjson.dumps(body)
    out = [_JSON, (b"content-length", str(len(data)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": data})
