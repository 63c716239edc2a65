"""The gateway's ASGI app: routes requests to ``Gateway`` with no framework on the hot path.

Routes: OIP v2 (``/v2/models/{name}[/ready|/infer]``), KServe v1
(``/v1/models/{name}:predict``) and OpenAI (``/v1/models``, ``/v1/embeddings``,
``/v1/completions``, ``/v1/chat/completions``, routed by the body's ``model``), plus
``/v2/health/live|ready`` and ``/openapi.json``. Unknown paths answer 404
``route_not_found``, wrong methods 405; errors are rendered per protocol (the OpenAI
envelope on OpenAI routes), with Retry-After and ``X-RateLimit-*`` where they apply.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from modelyard.domain.errors import ErrorCode, ModelyardError, error_body, error_headers
from modelyard.gateway.core import Call, Gateway, Receive, Scope, Send, clean_request_id, send_json
from modelyard.gateway.openapi import gateway_openapi
from modelyard.gateway.protocols import openai
from modelyard.gateway.rate_limits import RateLimited
from modelyard.gateway.resolve import resolve, visible_routes

__all__ = ["Gateway", "GatewayApp", "build_gateway_app"]

Renderer = Callable[[ModelyardError], dict[str, Any]]
_OPENAI = {"/v1/embeddings", "/v1/completions", "/v1/chat/completions"}
_LLM = {"/v1/completions", "/v1/chat/completions"}


def _by_path(path: str) -> tuple[str, str, tuple[str, ...]] | None:
    """``(route name, model name, methods)`` of an OIP v2 / KServe v1 path."""
    if path.startswith("/v2/models/"):
        rest = path[len("/v2/models/"):]
        name, _, tail = rest.partition("/")
        if not name:
            return None
        if tail == "":
            return "oip_metadata", name, ("GET", "HEAD")
        if tail == "ready":
            return "oip_ready", name, ("GET", "HEAD")
        if tail == "infer":
            return "oip_infer", name, ("POST",)
        return None
    if path.startswith("/v1/models/") and path.endswith(":predict"):
        name = path[len("/v1/models/"):-len(":predict")]
        if name and "/" not in name:
            return "kserve_predict", name, ("POST",)
    return None


class GatewayApp:
    """The ASGI callable."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self._openapi = orjson.dumps(gateway_openapi())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request."""
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        if path in ("/v2/health/live", "/v2/health/ready"):
            await send_json(send, 200, {"status": "ok"})
            return
        if path == "/openapi.json":
            await send_json(send, 200, orjson.loads(self._openapi))
            return
        render: Renderer = openai.error_body if path.startswith("/v1/") and not path.endswith(
            ":predict") else error_body
        methods: tuple[str, ...]
        if path in _OPENAI:
            route_name, name, methods = path[4:].replace("/", "_"), None, ("POST",)
        elif path == "/v1/models":
            route_name, name, methods = "models", None, ("GET", "HEAD")
        else:
            found = _by_path(path)
            if found is None:
                await send_json(send, 404, error_body(ModelyardError(ErrorCode.ROUTE_NOT_FOUND)))
                return
            route_name, name, methods = found
        if method not in methods:
            await send_json(send, 405, error_body(ModelyardError(ErrorCode.METHOD_NOT_ALLOWED)))
            return
        await self._serve(scope, receive, send, route_name, name, render)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, route_name: str,
                     name: str | None, render: Renderer) -> None:
        gw = self.gw
        started = time.perf_counter()
        raw = scope["headers"]
        hdrs = dict(raw)
        call = Call(route_name, clean_request_id(hdrs.get(b"x-request-id")))
        try:
            self._check_headers(raw)
            principal = gw.principal(hdrs.get(b"authorization"))
            if route_name == "models":
                body_out = openai.model_list(visible_routes(principal, gw.source.current()))
                call.status = 200
                await send_json(send, 200, body_out, [(b"x-request-id", call.request_id)])
                return
            body = (await gw.read_body(receive, hdrs.get(b"content-length"))
                    if scope["method"] == "POST" else b"")
            llm: dict[str, Any] | None = None
            if name is None:
                parsed = _parse_openai(body)
                name = parsed["model"]
                if scope["path"] in _LLM:
                    llm = parsed
            route = resolve(name, principal, gw.source.current())
            await gw.forward(call, scope, receive, send, route=route, principal=principal,
                             body=body, hdrs=hdrs, llm=llm)
        except ModelyardError as err:
            call.status, call.code = err.status, str(err.code)
            headers = [(k.lower().encode(), v.encode()) for k, v in error_headers(err).items()]
            if isinstance(err, RateLimited):
                headers += err.headers
            headers.append((b"x-request-id", call.request_id))
            await send_json(send, err.status, render(err), headers)
        finally:
            gw.finish(call, time.perf_counter() - started)

    def _check_headers(self, raw: list[tuple[bytes, bytes]]) -> None:
        s = self.gw.settings
        if len(raw) > s.max_header_count:
            raise ModelyardError(ErrorCode.HEADERS_TOO_LARGE,
                                 f"more than {s.max_header_count} request headers")
        if sum(len(k) + len(v) for k, v in raw) > s.max_header_bytes:
            raise ModelyardError(ErrorCode.HEADERS_TOO_LARGE,
                                 f"request headers over {s.max_header_bytes} bytes")


def _parse_openai(body: bytes) -> dict[str, Any]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ModelyardError(ErrorCode.INVALID_JSON, "body is not valid JSON") from None
    name = parsed.get("model") if isinstance(parsed, dict) else None
    if not isinstance(name, str) or not name:
        raise ModelyardError(ErrorCode.INVALID_REQUEST, "the body needs a 'model' string")
    assert isinstance(parsed, dict)
    return parsed


def build_gateway_app(gw: Gateway) -> GatewayApp:
    """The ASGI app serving the gateway routes, with JSON 404/405 envelopes."""
    return GatewayApp(gw)
