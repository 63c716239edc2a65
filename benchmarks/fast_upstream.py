"""A minimal, fast OpenAI-compatible upstream for the gateway benchmark (asyncio + uvloop + httptools).

``POST /v1/chat/completions`` answers a fixed JSON body with ``usage``; with
``"stream": true`` in the body it sends 20 server-sent-event chunks ``chunk_delay_ms``
apart (the last one with usage), then ``data: [DONE]``. ``GET /health`` answers 200.
``X-Echo-Authorization`` reports the Authorization header it received (tests).

Run: ``python -m benchmarks.fast_upstream PORT [CHUNK_DELAY_MS]``.
"""

from __future__ import annotations

import asyncio
import sys

import httptools
import uvloop

ANSWER = (b'{"id":"chatcmpl-1","object":"chat.completion","created":0,"model":"m","choices":'
          b'[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],'
          b'"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}')
CHUNK = (b'data: {"id":"c","object":"chat.completion.chunk",'
         b'"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n')
LAST = (b'data: {"id":"c","object":"chat.completion.chunk","choices":[],'
        b'"usage":{"prompt_tokens":5,"completion_tokens":20,"total_tokens":25}}\n\ndata: [DONE]\n\n')


def _head(status: bytes, ctype: bytes, length: int | None, extra: bytes = b"") -> bytes:
    size = b"content-length: %d\r\n" % length if length is not None else b"transfer-encoding: chunked\r\n"
    return b"HTTP/1.1 " + status + b"\r\ncontent-type: " + ctype + b"\r\n" + size + extra + b"\r\n"


class Upstream(asyncio.Protocol):
    """One client connection."""

    def __init__(self, chunk_delay_s: float) -> None:
        self.chunk_delay_s = chunk_delay_s
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.body: list[bytes] = []
        self.url = b""
        self.auth = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"authorization":
            self.auth = value

    def on_message_begin(self) -> None:
        self.body, self.url, self.auth = [], b"", b""

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        echo = b"x-echo-authorization: " + self.auth + b"\r\n" if self.auth else b""
        if self.url.startswith(b"/health") or self.url.startswith(b"/v1/models"):
            self.transport.write(_head(b"200 OK", b"application/json", 2, echo) + b"{}")
            return
        if b'"stream":true' in b"".join(self.body).replace(b" ", b""):
            asyncio.ensure_future(self._stream(echo))
            return
        self.transport.write(_head(b"200 OK", b"application/json", len(ANSWER), echo) + ANSWER)

    async def _stream(self, echo: bytes) -> None:
        assert self.transport is not None
        t = self.transport
        t.write(_head(b"200 OK", b"text/event-stream", None, echo))
        for i in range(20):
            if t.is_closing():
                return
            data = LAST if i == 19 else CHUNK
            t.write(b"%x\r\n%s\r\n" % (len(data), data))
            if i < 19:
                await asyncio.sleep(self.chunk_delay_s)
        t.write(b"0\r\n\r\n")


async def serve(port: int, chunk_delay_s: float) -> None:
    """Serve until cancelled."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Upstream(chunk_delay_s), "127.0.0.1", port,
                                      reuse_port=True, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(serve(int(sys.argv[1]), float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.01))
