"""The data plane's HTTP/1.1 server on real sockets: framing, keep-alive, limits, lifespan, stop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from modelyard.gateway.http_server import MAX_HEADER_BYTES, MAX_URL_BYTES, LeanServer


class App:
    """A small ASGI app exercising what the gateway uses."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.disconnected = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        path = scope["path"]
        if path == "/echo":
            body = b""
            while True:
                msg = await receive()
                body += msg.get("body", b"")
                if not msg.get("more_body"):
                    break
            out = b"%s %s %s %s" % (scope["method"].encode(), scope["raw_path"],
                                    scope["query_string"], body)
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", str(len(out)).encode()),
                                    (b"x-state", scope["state"]["greeting"].encode())]})
            await send({"type": "http.response.body", "body": out})
        elif path in ("/stream", "/watch", "/slow"):
            await getattr(self, path[1:])(receive, send)
        elif path == "/boom":
            raise RuntimeError("the app failed")
        else:
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})

    async def lifespan(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        while True:
            msg = await receive()
            self.events.append(msg["type"])
            if msg["type"] == "lifespan.startup":
                scope["state"]["greeting"] = "hi"
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def stream(self, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": b"first\n", "more_body": True})
        await self.release.wait()
        await send({"type": "http.response.body", "body": b"second\n", "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def watch(self, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x", "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass
        self.disconnected.set()

    async def slow(self, receive: Any, send: Any) -> None:
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"4")]})
        await send({"type": "http.response.body", "body": b"done"})


@pytest.fixture
async def served() -> AsyncIterator[tuple[LeanServer, App, int]]:
    app = App()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = LeanServer(app, keep_alive_s=2.0, grace_s=2.0)
    await server.start(sock)
    yield server, app, sock.getsockname()[1]
    app.release.set()
    await server.stop()


async def exchange(port: int, raw: bytes, *, until: bytes | None = None) -> bytes:
    """Send raw bytes; read until ``until`` is in the answer or the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    data = b""
    try:
        while until is None or until not in data:
            chunk = await asyncio.wait_for(reader.read(65536), 5)
            if not chunk:
                break
            data += chunk
    finally:
        writer.close()
    return data


async def test_keep_alive_serves_many_requests_on_one_connection(served: Any) -> None:
    _, _, port = served
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
        for i in range(5):
            r = await client.post(f"/echo?n={i}", content=b"body")
            assert r.status_code == 200 and r.text == f"POST /echo n={i} body"
            assert r.headers["x-state"] == "hi"  # the lifespan state reaches every request


async def test_pipelined_requests_are_answered_in_order(served: Any) -> None:
    _, _, port = served
    raw = (b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\n\r\na"
           b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\n\r\nb"
           b"GET /echo HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    data = await exchange(port, raw)
    assert data.count(b"HTTP/1.1 200 OK") == 3
    assert data.index(b"POST /echo  a") < data.index(b"POST /echo  b") < data.index(b"GET /echo  ")


async def test_chunked_request_body_and_expect_continue(served: Any) -> None:
    _, _, port = served
    raw = (b"POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n"
           b"expect: 100-continue\r\nconnection: close\r\n\r\n"
           b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    data = await exchange(port, raw)
    assert data.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert data.endswith(b"POST /echo  abcde")


async def test_a_stream_is_chunked_and_not_buffered(served: Any) -> None:
    _, app, port = served
    async with (httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client,
                client.stream("GET", "/stream") as r):
        assert r.headers["transfer-encoding"] == "chunked"
        chunks = r.aiter_raw()
        assert await asyncio.wait_for(chunks.__anext__(), 5) == b"first\n"  # before the rest exists
        app.release.set()
        rest = b"".join([c async for c in chunks])
    assert rest == b"second\n"


async def test_client_going_away_reaches_the_app_as_disconnect(served: Any) -> None:
    _, app, port = served
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /watch HTTP/1.1\r\nhost: x\r\n\r\n")
    await reader.readuntil(b"\r\n\r\n")
    writer.close()
    await asyncio.wait_for(app.disconnected.wait(), 5)


async def test_head_gets_no_body_and_http10_closes(served: Any) -> None:
    _, _, port = served
    data = await exchange(port, b"HEAD /echo HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"\r\n\r\n")
    data = await exchange(port, b"GET /echo HTTP/1.0\r\n\r\n")
    assert b"connection: close" in data and data.endswith(b"GET /echo  ")


@pytest.mark.parametrize(("raw", "status"), [
    (b"NOT HTTP AT ALL\r\n\r\n", b"400"),
    (b"GET /" + b"a" * (MAX_URL_BYTES + 1) + b" HTTP/1.1\r\nhost: x\r\n\r\n", b"414"),
    (b"GET / HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * (MAX_HEADER_BYTES + 1) + b"\r\n\r\n", b"431"),
    (b"GET /boom HTTP/1.1\r\nhost: x\r\n\r\n", b"500"),
    (b"GET / HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n", b"400"),
])
async def test_bad_requests_get_a_status_and_a_closed_connection(served: Any, raw: bytes,
                                                                 status: bytes) -> None:
    _, _, port = served
    data = await exchange(port, raw)
    assert data.startswith(b"HTTP/1.1 " + status) and b"connection: close" in data


async def test_stop_lets_the_request_in_flight_finish(served: Any) -> None:
    server, app, port = served
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
        pending = asyncio.ensure_future(client.get("/slow"))
        await asyncio.sleep(0.2)
        stopping = asyncio.ensure_future(server.stop())
        await asyncio.sleep(0.2)
        app.release.set()
        r = await asyncio.wait_for(pending, 5)
        await asyncio.wait_for(stopping, 5)
    assert r.status_code == 200 and r.text == "done"
    assert app.events == ["lifespan.startup", "lifespan.shutdown"]
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(trust_env=False) as client:
            await client.get(f"http://127.0.0.1:{port}/echo")
