"""A small OpenAI-compatible upstream for gateway tests (a Starlette app under uvicorn).

Run: ``python -m tests.support.upstream PORT``. Every path may carry a prefix (``/a/...``,
``/b/...``) so one process can stand for several endpoints. The body's fields steer it:
``delay_ms`` (wait before answering), ``tokens`` (completion tokens reported in usage),
``stream`` (20 SSE chunks ``chunk_ms`` apart), ``fail`` (answer 500), ``close`` (drop the
connection without answering). Answers echo ``Authorization`` and ``X-Request-Id`` and
say when the request started. ``GET /stats`` reports started and cancelled streams.
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
    if body.get("close"):
        transport = request.scope.get("transport")
        if transport is not None:
            transport.close()
        raise asyncio.CancelledError
    await asyncio.sleep(body.get("delay_ms", 0) / 1000)
    echo = {"authorization": request.headers.get("authorization", ""),
            "request_id": request.headers.get("x-request-id", ""), "started": started,
            "prefix": request.url.path.split("/v1/")[0]}
    if body.get("fail"):
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


if __name__ == "__main__":
    uvicorn.run(build(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
