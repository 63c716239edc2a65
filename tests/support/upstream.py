"""A small OpenAI-compatible upstream for gateway tests (a Starlette app under uvicorn).

Run: ``python -m tests.support.upstream PORT CLOSER_PORT``. Every path may carry a prefix (``/a/...``,
``/b/...``) so one process can stand for several endpoints. The body's fields steer it:
``delay_ms`` (wait before answering), ``tokens`` (completion tokens reported in usage),
``stream`` (20 SSE chunks ``chunk_ms`` apart), ``fail`` (answer 500), ``fail_on`` (answer
500 on that prefix only). A second port (``CLOSER_PORT``) answers health probes but drops
every other request without a byte (a replica that dies mid-request). Answers echo
``Authorization`` and ``X-Request-Id`` and say when the request started. ``GET /stats``
reports started and cancelled streams.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

STATS = {"streams_started": 0, "streams_cancelled": 0, "streams_finished": 0, "requests": 0}


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def stats(request: Request) -> Response:
    return JSONResponse(STATS)


async def completions(request: Request) -> Response:
    body: dict[str, Any] = orjson.loads(await request.body() or b"{}")
    STATS["requests"] += 1
    started = time.time()
    await asyncio.sleep(body.get("delay_ms", 0) / 1000)
    echo = {"authorization": request.headers.get("authorization", ""),
            "request_id": request.headers.get("x-request-id", ""), "started": started,
            "prefix": request.url.path.split("/v1/")[0]}
    if body.get("fail") or (body.get("fail_on") and body["fail_on"] == echo["prefix"]):
        return JSONResponse({"error": "boom", **echo}, status_code=500)
    usage = {"prompt_tokens": 5, "completion_tokens": int(body.get("tokens", 7))}
    if body.get("stream"):
        return StreamingResponse(_chunks(float(body.get("chunk_ms", 50)), usage),
                                 media_type="text/event-stream")
    return JSONResponse({"id": "c1", "object": "chat.completion", "echo": echo, "usage": usage,
                         "choices": [{"index": 0, "message": {"role": "assistant",
                                                             "content": "hi"}}]})


async def _chunks(chunk_ms: float, usage: dict[str, int]) -> AsyncIterator[bytes]:
    STATS["streams_started"] += 1
    try:
        for i in range(20):
            yield b'data: {"choices":[{"delta":{"content":"%d"}}]}\n\n' % i
            await asyncio.sleep(chunk_ms / 1000)
        yield b"data: " + orjson.dumps({"choices": [], "usage": usage}) + b"\n\ndata: [DONE]\n\n"
        STATS["streams_finished"] += 1
    except BaseException:
        STATS["streams_cancelled"] += 1
        raise


def build() -> Starlette:
    routes = [Route("/stats", stats)]
    for prefix in ("", "/a", "/b"):
        routes += [Route(f"{prefix}/health", health),
                   Route(f"{prefix}/v1/chat/completions", completions, methods=["POST"]),
                   Route(f"{prefix}/v1/completions", completions, methods=["POST"])]
    return Starlette(routes=routes)


class Closer(asyncio.Protocol):
    """Answers ``GET .../health``; closes the connection on anything else."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if data.startswith(b"GET ") and b"/health" in data.split(b"\r\n", 1)[0]:
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n"  # type: ignore[attr-defined]
                                 b"content-type: application/json\r\n\r\n{}")
        else:
            self.transport.close()


async def main(port: int, closer_port: int) -> None:
    server = uvicorn.Server(uvicorn.Config(build(), host="127.0.0.1", port=port, log_level="warning"))
    closer = await asyncio.get_running_loop().create_server(Closer, "127.0.0.1", closer_port)
    async with closer:
        await server.serve()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
