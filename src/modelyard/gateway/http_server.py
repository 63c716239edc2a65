"""The data plane's HTTP/1.1 server: any ASGI app on asyncio + httptools, lean per request.

Why not uvicorn for ``modelyard gateway``: per request uvicorn matches every response
header against two regular expressions, lowercases it again and writes the head and the
body in two writes; with the gateway's ten-odd headers that was a quarter of a worker's
CPU (``benchmarks/gateway.py``). This server trusts the app's headers (the gateway's
own: lowercase byte strings), joins the head and a whole body into one write, and keeps
the ASGI contract, so the same app runs under uvicorn (``modelyard up``) and in tests.

It covers keep-alive (HTTP/1.1 by default, HTTP/1.0 on request), ``Connection: close``,
pipelined requests (answered in order), request bodies (length or chunked) streamed to
``receive`` with back-pressure on the socket, ``Expect: 100-continue``, chunked responses
when the app sets no ``Content-Length``, ``HEAD``, ``http.disconnect`` when the client goes
away, write back-pressure, an idle keep-alive timeout, limits on the request line and
headers (414 / 431), 400 on malformed requests, 500 when the app fails before answering,
TLS, the lifespan protocol and a graceful stop (stop accepting, let requests in flight
finish within a grace period, close idle connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

import httptools

logger = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
ASGIApp = Callable[[Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                   Awaitable[None]]

MAX_URL_BYTES = 8192
MAX_HEADER_BYTES = 65536
MAX_HEADERS = 200
BODY_HIGH_WATER = 65536  # buffered request body that pauses reading from the socket
_REASONS = {100: b"Continue", 200: b"OK", 201: b"Created", 202: b"Accepted", 204: b"No Content",
            304: b"Not Modified", 400: b"Bad Request", 401: b"Unauthorized", 403: b"Forbidden",
            404: b"Not Found", 405: b"Method Not Allowed", 408: b"Request Timeout",
            409: b"Conflict", 413: b"Payload Too Large", 414: b"URI Too Long",
            422: b"Unprocessable Entity", 429: b"Too Many Requests", 431: b"Request Header Fields Too Large",
            499: b"Client Closed Request", 500: b"Internal Server Error", 502: b"Bad Gateway",
            503: b"Service Unavailable", 504: b"Gateway Timeout"}
_STATUS_LINES: dict[int, bytes] = {}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def status_line(status: int) -> bytes:
    """The status line of ``status``, CRLF included (cached per status)."""
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b""))
    return line


def simple_response(status: int, body: bytes) -> bytes:
    """A whole plain-text response that closes the connection (errors before the app runs)."""
    return (status_line(status) + b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body)


class _Refused(Exception):
    """A request refused before it reaches the app (status and text for the client)."""

    def __init__(self, status: int, text: bytes) -> None:
        super().__init__(text.decode())
        self.status = status
        self.text = text


class _Cycle:
    """One request and its response on a connection."""

    __slots__ = ("proto", "scope", "keep_alive", "expect_continue", "body", "more_body",
                 "event", "started", "complete", "chunked", "head", "disconnected",
                 "head_request", "buffered", "delivered")

    def __init__(self, proto: _Connection, scope: Message, keep_alive: bool,
                 expect_continue: bool) -> None:
        self.proto = proto
        self.scope = scope
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.body: deque[bytes] = deque()
        self.buffered = 0
        self.more_body = True
        self.delivered = False  # the last body chunk went to the app
        self.event = asyncio.Event()
        self.started = False
        self.complete = False
        self.chunked = False
        self.head: bytes | None = None
        self.disconnected = False
        self.head_request = scope["method"] == "HEAD"

    async def receive(self) -> Message:
        """The next ASGI message: body chunks, then ``http.disconnect`` once gone or answered."""
        if self.expect_continue and not self.started:
            self.expect_continue = False
            self.proto.write(_CONTINUE)
        while not self.body and self.more_body and not self.disconnected and not self.complete:
            self.proto.resume_reading()
            self.event.clear()
            await self.event.wait()
        if not self.delivered and not self.disconnected and not self.complete:
            chunk = b"".join(self.body) if len(self.body) != 1 else self.body[0]
            self.body.clear()
            self.buffered = 0
            self.delivered = not self.more_body
            return {"type": "http.request", "body": chunk, "more_body": self.more_body}
        while not self.disconnected and not self.complete:
            self.event.clear()
            await self.event.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        """Write the response: the head is held until the first body so that both go in one write."""
        if self.disconnected:
            return
        kind = message["type"]
        if kind == "http.response.start":
            self._start(message)
        elif kind == "http.response.body":
            await self._body(message.get("body", b""), bool(message.get("more_body", False)))
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")

    def _start(self, message: Message) -> None:
        if self.started:
            raise RuntimeError("http.response.start sent twice")
        self.started = True
        status = int(message["status"])
        parts = [status_line(status)]
        has_length = False
        for name, value in message.get("headers", ()):
            if name == b"content-length":
                has_length = True
            elif name == b"connection" and value.lower() == b"close":
                self.keep_alive = False
                continue
            elif name == b"transfer-encoding":
                continue  # the server frames the body itself
            parts += [name, b": ", value, b"\r\n"]
        if not has_length and not self.head_request and status not in (204, 304):
            self.chunked = True
            parts.append(b"transfer-encoding: chunked\r\n")
        if not self.keep_alive:
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        self.head = b"".join(parts)

    async def _body(self, body: bytes, more: bool) -> None:
        if not self.started or self.complete:
            raise RuntimeError("http.response.body before start or after the end")
        out = self.head or b""
        self.head = None
        if self.chunked:
            if body:
                out += b"%x\r\n" % len(body) + body + b"\r\n"
            if not more:
                out += b"0\r\n\r\n"
        elif not self.head_request:
            out += body
        if out:
            self.proto.write(out)
        await self.proto.drain()
        if not more:
            self.complete = True
            self.event.set()


class _Connection(asyncio.Protocol):
    """One client connection: parse requests, run the app per request, in order."""

    def __init__(self, server: LeanServer) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.cycles: deque[_Cycle] = deque()  # [0] is being answered, [-1] is being parsed
        self.parsing: _Cycle | None = None
        self.task: asyncio.Task[None] | None = None
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.header_bytes = 0
        self.reading_paused = False
        self.writing_paused = False
        self.drain_waiter: asyncio.Future[None] | None = None
        self.idle_timer: asyncio.TimerHandle | None = None
        self.closing = False
        self.client: tuple[str, int] | None = None
        self.server_addr: tuple[str, int] | None = None
        self.scheme = "http"

    # ---- transport events ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # noqa: D102
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self.client = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None
        self.server_addr = (str(local[0]), int(local[1])) if isinstance(local, tuple) else None
        self.scheme = "https" if transport.get_extra_info("sslcontext") is not None else "http"
        self.server.connections.add(self)
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self.server.connections.discard(self)
        self.closing = True
        for cycle in self.cycles:
            cycle.disconnected = True
            cycle.event.set()
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        if self.drain_waiter is not None and not self.drain_waiter.done():
            self.drain_waiter.set_result(None)

    def data_received(self, data: bytes) -> None:  # noqa: D102
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, b"protocol upgrades are not supported")
        except httptools.HttpParserError as exc:  # a callback's _Refused arrives wrapped
            refused = exc.__cause__ or exc.__context__
            if isinstance(refused, _Refused):
                self._refuse(refused.status, refused.text)
            else:
                self._refuse(400, b"malformed HTTP request")

    def pause_writing(self) -> None:  # noqa: D102
        self.writing_paused = True

    def resume_writing(self) -> None:  # noqa: D102
        self.writing_paused = False
        if self.drain_waiter is not None and not self.drain_waiter.done():
            self.drain_waiter.set_result(None)

    # ---- httptools callbacks -------------------------------------------------------------
    def on_message_begin(self) -> None:  # noqa: D102
        self.url = b""
        self.headers = []
        self.header_bytes = 0

    def on_url(self, url: bytes) -> None:  # noqa: D102
        self.url += url
        if len(self.url) > MAX_URL_BYTES:
            raise _Refused(414, b"request line too long")

    def on_header(self, name: bytes, value: bytes) -> None:  # noqa: D102
        self.header_bytes += len(name) + len(value)
        if self.header_bytes > MAX_HEADER_BYTES or len(self.headers) >= MAX_HEADERS:
            raise _Refused(431, b"request headers too large")
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:  # noqa: D102
        parser = self.parser
        if parser.should_upgrade() and any(n == b"upgrade" for n, _ in self.headers):
            raise _Refused(400, b"protocol upgrades are not supported")
        parsed = httptools.parse_url(self.url)
        raw_path = parsed.path
        version = parser.get_http_version()
        keep_alive = parser.should_keep_alive() and not self.server.stopping
        expect = False
        for name, value in self.headers:
            if name == b"expect" and value.lower() == b"100-continue":
                expect = True
        scope: Message = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": version, "server": self.server_addr, "client": self.client,
            "scheme": self.scheme, "method": parser.get_method().decode("ascii"),
            "root_path": "", "path": raw_path.decode("latin-1") if b"%" not in raw_path
            else _unquote(raw_path), "raw_path": raw_path, "query_string": parsed.query or b"",
            "headers": self.headers, "state": self.server.state.copy()}
        cycle = _Cycle(self, scope, keep_alive, expect and version != "1.0")
        self.parsing = cycle
        self.cycles.append(cycle)
        if len(self.cycles) == 1:
            self._start(cycle)
        else:
            self.pause_reading()  # pipelined: parse the next one once this one is answered

    def on_body(self, body: bytes) -> None:  # noqa: D102
        cycle = self.parsing
        if cycle is None or cycle.complete or cycle.disconnected:
            return
        cycle.body.append(body)
        cycle.buffered += len(body)
        if cycle.buffered > BODY_HIGH_WATER:
            self.pause_reading()
        cycle.event.set()

    def on_message_complete(self) -> None:  # noqa: D102
        cycle = self.parsing
        if cycle is None:
            return
        cycle.more_body = False
        cycle.event.set()
        self.parsing = None

    # ---- running requests ----------------------------------------------------------------
    def _start(self, cycle: _Cycle) -> None:
        self.task = self.loop.create_task(self._run(cycle))

    async def _run(self, cycle: _Cycle) -> None:
        try:
            await self.server.app(cycle.scope, cycle.receive, cycle.send)
        except Exception:
            logger.exception("the app failed on %s %s", cycle.scope["method"], cycle.scope["path"])
            if not cycle.started and not cycle.disconnected:
                self.write(simple_response(500, b"internal server error"))
            self.close()
            return
        except BaseException:  # cancelled (the server stops): drop the connection
            self.close()
            raise
        if not cycle.complete:  # the app returned without finishing its answer
            if not cycle.started and not cycle.disconnected:
                self.write(simple_response(500, b"the app sent no response"))
            self.close()
            return
        self._next(cycle)

    def _next(self, done: _Cycle) -> None:
        self.cycles.popleft()
        self.task = None
        if not done.keep_alive or self.closing:
            self.close()
            return
        if self.cycles:
            self._start(self.cycles[0])
        else:
            self._arm_idle()
        self.resume_reading()

    def _refuse(self, status: int, text: bytes) -> None:
        if self.cycles and self.cycles[0].started:
            self.close()
        else:
            self.write(simple_response(status, text))
            self.close()

    # ---- I/O helpers -----------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Write to the client (dropped when the connection is gone)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the socket's write buffer is over its high-water mark."""
        if self.writing_paused and not self.closing:
            self.drain_waiter = self.loop.create_future()
            await self.drain_waiter
            self.drain_waiter = None

    def pause_reading(self) -> None:
        """Stop reading from the socket (body buffer full, or a pipelined request waits)."""
        if not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        """Read from the socket again."""
        if self.reading_paused and self.transport is not None and not self.closing:
            self.reading_paused = False
            self.transport.resume_reading()

    def _arm_idle(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self.idle_timer = self.loop.call_later(self.server.keep_alive_s, self._idle_timeout)

    def _idle_timeout(self) -> None:
        if not self.cycles:
            self.close()

    def shutdown(self) -> None:
        """Close now when idle; otherwise close after the answer in flight."""
        if not self.cycles:
            self.close()
        else:
            for cycle in self.cycles:
                cycle.keep_alive = False

    def close(self) -> None:
        """Close the connection."""
        self.closing = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


def _unquote(raw: bytes) -> str:
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(raw).decode("latin-1")


class LeanServer:
    """Serves an ASGI app on one listening socket until ``stop``."""

    def __init__(self, app: ASGIApp, *, keep_alive_s: float = 5.0, grace_s: float = 10.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.app = app
        self.keep_alive_s = keep_alive_s
        self.grace_s = grace_s
        self.ssl_context = ssl_context
        self.connections: set[_Connection] = set()
        self.state: dict[str, Any] = {}
        self.stopping = False
        self._server: asyncio.AbstractServer | None = None
        self._lifespan: _Lifespan | None = None

    async def start(self, sock: socket.socket) -> None:
        """Run the app's start-up, then accept connections on ``sock``."""
        self._lifespan = _Lifespan(self.app, self.state)
        await self._lifespan.startup()
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Connection(self), sock=sock, ssl=self.ssl_context, backlog=2048)

    async def stop(self) -> None:
        """Stop accepting, let requests in flight end (``grace_s``), then run the shutdown."""
        self.stopping = True
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.shutdown()
        deadline = asyncio.get_running_loop().time() + self.grace_s
        while self.connections and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            if conn.task is not None:
                conn.task.cancel()
            conn.close()
        if self._lifespan is not None:
            await self._lifespan.shutdown()


class _Lifespan:
    """The ASGI lifespan protocol: start-up before serving, shutdown after."""

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        scope: Message = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                          "state": self.state}
        try:
            await self.app(scope, self.inbox.get, self.outbox.put)
        except Exception as exc:
            logger.exception("lifespan failed")
            await self.outbox.put({"type": "lifespan.startup.failed", "message": str(exc)})

    async def startup(self) -> None:
        """Send ``lifespan.startup``; raise when the app reports a failure."""
        self.task = asyncio.get_running_loop().create_task(self._run())
        await self.inbox.put({"type": "lifespan.startup"})
        reply = await self.outbox.get()
        if reply["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"start-up failed: {reply.get('message', '')}")

    async def shutdown(self) -> None:
        """Send ``lifespan.shutdown`` and wait for the app to finish it."""
        if self.task is None or self.task.done():
            return
        await self.inbox.put({"type": "lifespan.shutdown"})
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.outbox.get(), 30)
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def serve(app: ASGIApp, sock: socket.socket, *, ssl_context: ssl.SSLContext | None = None,
          grace_s: float = 10.0) -> None:
    """Run ``app`` on ``sock`` (uvloop when present) until SIGTERM or SIGINT."""
    import signal

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio still works
        uvloop = None  # type: ignore[assignment]

    async def main() -> None:
        server = LeanServer(app, ssl_context=ssl_context, grace_s=grace_s)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await server.start(sock)
        gc.collect()
        gc.freeze()  # what start-up built lives on: keep it out of every later collection
        await stop.wait()
        await server.stop()

    if uvloop is not None:
        uvloop.run(main())
    else:
        asyncio.run(main())
