"""A lean HTTP/1.1 client for replicas: keep-alive pools on asyncio protocols + httptools.

The gateway sits on every request, so its upstream client does the least work that is
correct: one ``write`` per request (head and body together), ``TCP_NODELAY`` on every
socket, responses parsed by httptools (llhttp), and idle connections kept per
``host:port`` (LIFO, bounded). A failure before the first response byte raises
``ConnectFailed`` (safe to send elsewhere); later failures raise ``UpstreamBroken``.

Streamed answers (server-sent events) are handed over chunk by chunk through a small
buffer: when the consumer falls behind, reading from the replica pauses (back-pressure);
closing the stream early closes the connection, which cancels the replica's work.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools

_HIGH_WATER_CHUNKS = 16
_LOW_WATER_CHUNKS = 4


class ConnectFailed(Exception):
    """No response byte arrived: the request may go to another replica."""


class UpstreamBroken(Exception):
    """The replica failed after it started answering, or sent bad HTTP."""


class UpstreamTimeout(Exception):
    """The replica did not answer in time."""


@dataclass
class Response:
    """A replica's answer: status, headers, and a body or a chunk stream."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    content_type: bytes = b""
    extra: dict[str, object] = field(default_factory=dict)


class _Connection(asyncio.Protocol):
    """One kept-alive connection; serves one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.got_bytes = False
        self.streaming = False
        self.headers: list[tuple[bytes, bytes]] = []
        self.content_type = b""
        self.body: list[bytes] = []
        self.chunks: deque[bytes] = deque()
        self.head_done: asyncio.Future[None] | None = None
        self.done: asyncio.Future[None] | None = None
        self.chunk_ready: asyncio.Future[None] | None = None
        self.complete = False
        self.paused = False
        self.keep_alive = False
        self.head_request = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._settle(ConnectFailed() if not self.got_bytes else UpstreamBroken("connection lost"))
        self._wake()

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamBroken(f"bad HTTP from replica: {exc}"))
        except httptools.HttpParserUpgrade:
            self._fail(UpstreamBroken("replica asked for an upgrade"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        if name.lower() == b"content-type":
            self.content_type = value

    def on_headers_complete(self) -> None:
        # llhttp resets its flags once the message completes: read keep-alive now
        self.keep_alive = self.parser.should_keep_alive()
        self.streaming = self.content_type.startswith(b"text/event-stream")
        if self.head_done is not None and not self.head_done.done():
            self.head_done.set_result(None)
        if self.head_request:  # no body follows; the parser cannot know: never reuse
            self.keep_alive = self.streaming = False
            self.on_message_complete()

    def on_body(self, body: bytes) -> None:
        if self.streaming:
            self.chunks.append(body)
            if len(self.chunks) >= _HIGH_WATER_CHUNKS and self.transport and not self.paused:
                self.paused = True
                self.transport.pause_reading()
            self._wake()
        else:
            self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True
        if self.done is not None and not self.done.done():
            self.done.set_result(None)
        self._wake()

    def expire(self) -> None:
        """The read timeout passed: fail whatever waits."""
        if self.chunk_ready is not None and not self.chunk_ready.done():
            self.chunk_ready.set_exception(UpstreamTimeout())
        else:
            self._settle(UpstreamTimeout())

    def _wake(self) -> None:
        if self.chunk_ready is not None and not self.chunk_ready.done():
            self.chunk_ready.set_result(None)

    def _settle(self, err: Exception) -> None:
        # only futures someone awaits: the head, then the body of a whole (not streamed) answer
        waiting = [self.head_done] if self.streaming else [self.head_done, self.done]
        for fut in waiting:
            if fut is not None and not fut.done():
                fut.set_exception(err)
                return

    def _fail(self, err: Exception) -> None:
        self._settle(err)
        self.close()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def reset(self) -> None:
        """Prepare for the next request on this connection."""
        self.parser = httptools.HttpResponseParser(self)
        self.got_bytes = False
        self.streaming = False
        self.headers = []
        self.content_type = b""
        self.body = []
        self.chunks.clear()
        self.complete = False
        self.keep_alive = False
        self.head_done = self.loop.create_future()
        self.done = self.loop.create_future()

    def reusable(self) -> bool:
        """True when the answer was read whole and the replica keeps the connection."""
        return self.complete and not self.closed and self.keep_alive

    def resume(self) -> None:
        """Resume reading once the consumer drained the buffer."""
        if self.paused and len(self.chunks) <= _LOW_WATER_CHUNKS and self.transport:
            self.paused = False
            self.transport.resume_reading()


class Pool:
    """Keep-alive connections per ``host:port``."""

    def __init__(self, *, connect_timeout_s: float, read_timeout_s: float,
                 max_idle_per_host: int = 256) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.max_idle_per_host = max_idle_per_host
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._targets: dict[str, tuple[str, int, bytes, bytes]] = {}

    def target(self, url: str) -> tuple[str, int, bytes, bytes]:
        """``(host, port, Host header, path prefix)`` of a base URL (cached)."""
        found = self._targets.get(url)
        if found is None:
            parts = urlsplit(url)
            host = parts.hostname or "127.0.0.1"
            port = parts.port or (443 if parts.scheme == "https" else 80)
            found = (host, port, parts.netloc.encode(), parts.path.rstrip("/").encode())
            self._targets[url] = found
        return found

    async def _acquire(self, host: str, port: int, connect_timeout_s: float) -> _Connection:
        idle = self._idle.get((host, port))
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn
        loop = asyncio.get_running_loop()
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(loop), host, port),
                connect_timeout_s)
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(str(exc)) from None
        return proto

    def _release(self, key: tuple[str, int], conn: _Connection) -> None:
        if not conn.reusable():
            conn.close()
            return
        idle = self._idle.setdefault(key, [])
        if len(idle) < self.max_idle_per_host:
            idle.append(conn)
        else:
            conn.close()

    async def request(self, base_url: str, method: bytes, path: bytes,
                      headers: list[tuple[bytes, bytes]], body: bytes,
                      read_timeout_s: float | None = None,
                      connect_timeout_s: float | None = None) -> Response:
        """Send one request; read a whole answer, or hand over a stream for SSE."""
        host, port, host_header, prefix = self.target(base_url)
        conn = await self._acquire(host, port, connect_timeout_s or self.connect_timeout_s)
        conn.reset()
        conn.head_request = method == b"HEAD"
        head = [method, b" ", prefix + path if prefix else path, b" HTTP/1.1\r\nhost: ", host_header,
                b"\r\ncontent-length: ", str(len(body)).encode(), b"\r\n"]
        for name, value in headers:
            head += [name, b": ", value, b"\r\n"]
        head += [b"\r\n", body]
        assert conn.transport is not None and conn.head_done is not None and conn.done is not None
        conn.transport.write(b"".join(head))
        timeout = read_timeout_s or self.read_timeout_s
        timer = asyncio.get_running_loop().call_later(timeout, conn.expire)
        try:
            await conn.head_done
            status = conn.parser.get_status_code()
            if conn.streaming:
                return Response(status, conn.headers, b"", self._stream(conn, (host, port), timeout),
                                conn.content_type)
            await conn.done
        except BaseException:
            conn.close()
            raise
        finally:
            timer.cancel()
        body_out = b"".join(conn.body) if len(conn.body) != 1 else conn.body[0]
        response = Response(status, conn.headers, body_out, None, conn.content_type)
        self._release((host, port), conn)
        return response

    async def _stream(self, conn: _Connection, key: tuple[str, int],
                      timeout: float) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        try:
            while True:
                if conn.chunks:
                    chunk = conn.chunks.popleft()
                    conn.resume()
                    yield chunk
                    continue
                if conn.complete:
                    break
                if conn.closed:
                    raise UpstreamBroken("replica closed the stream")
                conn.chunk_ready = loop.create_future()
                timer = loop.call_later(timeout, conn.expire)
                try:
                    await conn.chunk_ready
                finally:
                    timer.cancel()
        finally:
            if conn.complete and not conn.chunks:
                self._release(key, conn)
            else:  # abandoned (client gone) or failed: closing cancels the replica's work
                conn.close()

    def close(self) -> None:
        """Close every idle connection."""
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
