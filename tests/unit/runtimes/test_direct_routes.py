"""DirectRoutes: the replica's routes served without Starlette's layers, the rest by the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from modelyard.domain.errors import ErrorCode, ModelyardError
from modelyard.runtimes.direct_routes import DirectRoutes
from modelyard.runtimes.http import error_response, json_response, read_json


async def echo(request: Request) -> Response:
    return json_response({"got": await read_json(request, 1024)})


async def named(request: Request) -> Response:
    return json_response({"name": request.path_params["name"], "method": request.method})


async def broken(request: Request) -> Response:
    raise RuntimeError("a bug in a handler")


async def not_found(request: Request, exc: Exception) -> Response:
    return error_response(ModelyardError(ErrorCode.ROUTE_NOT_FOUND))


async def not_allowed(request: Request, exc: Exception) -> Response:
    return error_response(ModelyardError(ErrorCode.METHOD_NOT_ALLOWED))


def build(events: list[str]) -> DirectRoutes:
    routes: list[BaseRoute] = [
        Route("/v1/echo", echo, methods=["POST"]),
        Route("/v2/models/{name}", named),
        Route("/broken", broken),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={404: not_found, 405: not_allowed})
    return DirectRoutes(app, routes)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build([]))
    async with httpx.AsyncClient(transport=transport, base_url="http://replica") as c:
        yield c


async def test_a_route_is_served_with_its_body_and_path_parameters(
        client: httpx.AsyncClient) -> None:
    got = await client.post("/v1/echo", json={"input": "hello"})
    assert got.status_code == 200
    assert got.json() == {"got": {"input": "hello"}}
    named_got = await client.get("/v2/models/iris")
    assert named_got.json() == {"name": "iris", "method": "GET"}
    head = await client.head("/v2/models/iris")  # a GET route answers HEAD, as in Starlette
    assert head.status_code == 200


async def test_unknown_paths_and_wrong_methods_get_the_apps_envelopes(
        client: httpx.AsyncClient) -> None:
    missing = await client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "route_not_found"
    wrong = await client.get("/v1/echo")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


async def test_an_unhandled_error_is_a_500_envelope_and_a_log_line(
        client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="modelyard.runtimes.direct_routes"):
        got = await client.get("/broken")
    assert got.status_code == 500
    assert got.json()["error"]["code"] == "internal"
    assert "a bug in a handler" not in got.text  # no internals to the client
    record = next(r for r in caplog.records if r.getMessage() == "unhandled error")
    assert record.exc_info is not None and "a bug in a handler" in str(record.exc_info[1])
    assert (await client.post("/v1/echo", json=1)).status_code == 200  # still serving


async def test_lifespan_events_reach_the_app() -> None:
    events: list[str] = []
    app = build(events)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        outbox.append(dict(message))

    await inbox.put({"type": "lifespan.startup"})
    await inbox.put({"type": "lifespan.shutdown"})
    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send)
    assert events == ["startup", "shutdown"]
    assert [m["type"] for m in outbox] == ["lifespan.startup.complete",
                                           "lifespan.shutdown.complete"]
