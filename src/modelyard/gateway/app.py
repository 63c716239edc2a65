"""The gateway's ASGI app: authenticate, resolve, forward, record.

Routes: OIP v2 (``/v2/models/{name}[/ready|/infer]``), KServe v1
(``/v1/models/{name}:predict``) and OpenAI (``/v1/models``, ``/v1/embeddings``,
``/v1/completions``, ``/v1/chat/completions``, routed by the body's ``model``). It reads
only its RouteSource: it never waits on the control plane for a request.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from modelyard.config import GatewaySettings
from modelyard.domain.clock import Clock
from modelyard.domain.errors import ErrorCode, ModelyardError, error_body, error_headers
from modelyard.domain.routes import RouteEntry
from modelyard.domain.tenancy import Principal
from modelyard.gateway.auth import authenticate
from modelyard.gateway.metering import Meter
from modelyard.gateway.openapi import gateway_openapi
from modelyard.gateway.protocols import openai
from modelyard.gateway.proxy import Proxy
from modelyard.gateway.resolve import resolve, visible_routes
from modelyard.gateway.route_watch import RouteSource
from modelyard.gateway.split import PIN_HEADER
from modelyard.gateway.stats import StatsRecorder
from modelyard.gateway.traffic import Traffic
from modelyard.observability.metrics import (
    GATEWAY_ERRORS,
    GATEWAY_LATENCY,
    GATEWAY_REQUESTS,
    GATEWAY_RETRIES,
)

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
Renderer = Callable[[ModelyardError], dict[str, Any]]


def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers,
                    media_type="application/json")


class Gateway:
    """State of one gateway: its route source, proxy and limits."""

    def __init__(self, source: RouteSource, settings: GatewaySettings, clock: Clock,
                 recorder: StatsRecorder | None = None) -> None:
        self.source = source
        self.settings = settings
        self.clock = clock
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
        timeout = httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s)
        # TCP_NODELAY: httpcore writes headers and body separately; with Nagle on, the body
        # waits for the replica's delayed ACK (40 ms on Linux loopback).
        transport = httpx.AsyncHTTPTransport(
            limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        self.client = httpx.AsyncClient(transport=transport, timeout=timeout, trust_env=False)
        self.proxy = Proxy(self.client, max_connect_retries=settings.max_connect_retries,
                           retry_after_s=settings.retry_after_s,
                           on_retry=lambda d: GATEWAY_RETRIES.labels(d).inc())
        self.traffic = Traffic(recorder or StatsRecorder())
        self.meter = Meter(source, clock)  # usage records; the platform sets its sink

    def principal(self, request: Request) -> Principal:
        """Authenticate the request's key against the current table."""
        return authenticate(request.headers.get("authorization"), self.source.current(),
                            self.clock.now())

    async def body(self, request: Request) -> bytes:
        """Read the body, refusing more than the configured limit (413)."""
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ModelyardError(ErrorCode.PAYLOAD_TOO_LARGE, f"body over {limit} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ModelyardError(ErrorCode.PAYLOAD_TOO_LARGE, f"body over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def forward(self, request: Request, route: RouteEntry, body: bytes) -> Response:
        """Pick the revision, send to one of its replicas and relay the answer, recording it."""
        started = time.perf_counter()
        status = 0
        target, revision = self.traffic.target(route, request.headers.get(PIN_HEADER))
        replica_id: str | None = None
        try:
            up = self.meter.upstream(request, route, revision, started, await self.proxy.forward(
                target, request.method, request.url.path, body, request.headers.items()), body)
            status, replica_id = up.status, up.replica_id
            headers = dict(up.headers)
            if up.stream is not None:
                return StreamingResponse(up.stream, status_code=up.status, headers=headers)
            if up.status == 200 and PIN_HEADER not in request.headers:
                self.traffic.shadow(self.proxy, route, (request.method, request.url.path, body),
                                    request.headers.items(), up.body or b"")
            served = revision if revision is not None else next(
                (e.revision for e in route.endpoints if e.replica_id == replica_id), None)
            if served is not None:
                headers[PIN_HEADER] = str(served)
            return Response(up.body, status_code=up.status, headers=headers)
        except ModelyardError as err:
            status = err.status
            self.meter.failed(request, route, revision, started, err)
            GATEWAY_ERRORS.labels(route.deployment, str(err.code)).inc()
            raise
        finally:
            latency_s = time.perf_counter() - started
            GATEWAY_REQUESTS.labels(route.deployment, str(status)).inc()
            GATEWAY_LATENCY.labels(route.deployment).observe(latency_s)
            self.traffic.record(route, revision, replica_id, latency_s, status)

    async def by_path(self, request: Request) -> Response:
        """OIP v2 / KServe v1: the model name is in the path."""
        principal = self.principal(request)
        route = resolve(request.path_params["name"], principal, self.source.current())
        body = await self.body(request) if request.method == "POST" else b""
        return await self.forward(request, route, body)

    async def by_body(self, request: Request) -> Response:
        """OpenAI: the model name is the body's ``model`` field."""
        principal = self.principal(request)
        body = await self.body(request)
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ModelyardError(ErrorCode.INVALID_JSON, "body is not valid JSON") from None
        name = parsed.get("model") if isinstance(parsed, dict) else None
        if not isinstance(name, str) or not name:
            raise ModelyardError(ErrorCode.INVALID_REQUEST, "the body needs a 'model' string")
        route = resolve(name, principal, self.source.current())
        return await self.forward(request, route, body)

    async def list_models(self, request: Request) -> Response:
        """OpenAI ``GET /v1/models``: the deployments the caller may use."""
        principal = self.principal(request)
        return _json(openai.model_list(visible_routes(principal, self.source.current())))

    async def aclose(self) -> None:
        """Cancel shadow copies and close upstream connections."""
        await self.traffic.aclose()
        await self.client.aclose()


def guarded(handler: Handler, render: Renderer = error_body) -> Handler:
    """Render ModelyardError with ``render``; never leak a traceback."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ModelyardError as err:
            return _json(render(err), err.status, error_headers(err))

    return run


async def _live(request: Request) -> Response:
    return _json({"status": "ok"})


async def _openapi(request: Request) -> Response:
    return _json(gateway_openapi())


def gateway_routes(gw: Gateway) -> list[Route]:
    """The gateway's routes, to mount in an app."""
    oa = openai.error_body
    return [
        Route("/v2/health/live", _live),
        Route("/v2/health/ready", _live),
        Route("/openapi.json", _openapi),
        Route("/v2/models/{name}", guarded(gw.by_path)),
        Route("/v2/models/{name}/ready", guarded(gw.by_path)),
        Route("/v2/models/{name}/infer", guarded(gw.by_path), methods=["POST"]),
        Route("/v1/models/{name}:predict", guarded(gw.by_path), methods=["POST"]),
        Route("/v1/models", guarded(gw.list_models, oa)),
        Route("/v1/embeddings", guarded(gw.by_body, oa), methods=["POST"]),
        Route("/v1/completions", guarded(gw.by_body, oa), methods=["POST"]),
        Route("/v1/chat/completions", guarded(gw.by_body, oa), methods=["POST"]),
    ]


async def _not_found(request: Request, exc: Exception) -> Response:
    return _json(error_body(ModelyardError(ErrorCode.ROUTE_NOT_FOUND)), 404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return _json(error_body(ModelyardError(ErrorCode.METHOD_NOT_ALLOWED)), 405)


def build_gateway_app(gw: Gateway) -> Starlette:
    """A Starlette app serving the gateway routes, with JSON 404/405 envelopes."""
    return Starlette(routes=gateway_routes(gw),
                     exception_handlers={404: _not_found, 405: _not_allowed})
